/* sa: growable strings; see sa.h.  All growth goes through sa_grow_size,
 * which checks every addition before it happens. */
#include "sa.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "num.h"

bool sa_grow_size(size_t have, size_t more, size_t *newcap)
{
  size_t need, cap;
  if (__builtin_add_overflow(have, more, &need) || need > SA_MAX) return false;
  /* grow by one eighth plus a little, but never past SA_MAX */
  cap = need + need / 8 + 32;
  if (cap > SA_MAX || cap < need) cap = SA_MAX;
  *newcap = cap;
  return true;
}

bool sa_ready(sa_t *x, size_t n)
{
  size_t cap;
  char *p;
  if (x->s && n <= x->a) return true;
  if (!sa_grow_size(0, n, &cap)) { errno = ENOMEM; return false; }
  p = realloc(x->s, cap);
  if (!p) { errno = ENOMEM; return false; }
  x->s = p;
  x->a = cap;
  if (x->len > cap) x->len = 0;
  return true;
}

bool sa_readyplus(sa_t *x, size_t n)
{
  size_t need;
  if (__builtin_add_overflow(x->len, n, &need) || need > SA_MAX) {
    errno = ENOMEM;
    return false;
  }
  return sa_ready(x, need);
}

bool sa_catb(sa_t *x, const char *s, size_t n)
{
  /* s may point into x itself (sa_cat(x, x)); growing moves x->s, so
   * remember the offset and copy with memmove */
  uintptr_t off = (uintptr_t)s - (uintptr_t)x->s;
  bool inside = x->s && off < x->a;
  if (!sa_readyplus(x, n + 1 > n ? n + 1 : n)) return false;
  if (inside) s = x->s + off;
  if (n) memmove(x->s + x->len, s, n);
  x->len += n;
  x->s[x->len] = 0; /* convenience terminator, not counted */
  return true;
}

bool sa_copyb(sa_t *x, const char *s, size_t n)
{
  x->len = 0;
  return sa_catb(x, s, n);
}

bool sa_copys(sa_t *x, const char *s) { return sa_copyb(x, s, strlen(s)); }
bool sa_copy(sa_t *x, const sa_t *y) { return sa_copyb(x, y->s, y->len); }
bool sa_cats(sa_t *x, const char *s) { return sa_catb(x, s, strlen(s)); }
bool sa_cat(sa_t *x, const sa_t *y) { return sa_catb(x, y->s, y->len); }
bool sa_append(sa_t *x, char c) { return sa_catb(x, &c, 1); }
bool sa_0(sa_t *x) { return sa_append(x, 0); }

bool sa_catulong(sa_t *x, unsigned long u)
{
  char buf[FMT_ULONG];
  return sa_catb(x, buf, fmt_ulong(buf, u));
}

bool sa_catlong(sa_t *x, long l)
{
  if (l < 0) {
    if (!sa_append(x, '-')) return false;
    return sa_catulong(x, 0UL - (unsigned long)l);
  }
  return sa_catulong(x, (unsigned long)l);
}

bool sa_starts(const sa_t *x, const char *s)
{
  size_t n = strlen(s);
  return x->len >= n && (n == 0 || memcmp(x->s, s, n) == 0);
}

bool sa_equals(const sa_t *x, const char *s)
{
  size_t n = strlen(s);
  return x->len == n && (n == 0 || memcmp(x->s, s, n) == 0);
}

void sa_lower(sa_t *x)
{
  for (size_t i = 0; i < x->len; i++)
    if (x->s[i] >= 'A' && x->s[i] <= 'Z') x->s[i] += 32;
}

void sa_free(sa_t *x)
{
  free(x->s);
  x->s = 0;
  x->len = x->a = 0;
}
