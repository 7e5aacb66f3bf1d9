/* netstr: see netstr.h */
#include "netstr.h"
#include <errno.h>
#include "num.h"

/* one byte from b: 1, 0 at end of input, -1 read error */
static int getc_(buf_t *b, char *c)
{
  ssize_t r = buf_feed(b);
  if (r <= 0) return (int)r;
  *c = *buf_peek(b);
  buf_skip(b, 1);
  return 1;
}

/* adds digit d to *n unless the result would pass max */
static bool digit(size_t *n, char d, size_t max)
{
  size_t v = (size_t)(d - '0');
  if (*n > max / 10) return false;
  *n *= 10;
  if (v > max - *n) return false;
  *n += v;
  return true;
}

int netstr_getlen(buf_t *b, size_t *len, size_t max)
{
  size_t n = 0, ndig = 0;
  char c = 0;
  for (;;) {
    int r = getc_(b, &c);
    if (r == -1) return -1;
    if (r == 0) {
      if (ndig == 0) return 0;
      errno = ENODATA;
      return -1;
    }
    if (c == ':' && ndig) break;
    /* "0" may only stand alone: a leading zero would let a peer send
     * digits forever without the length ever growing */
    if (c < '0' || c > '9' || (ndig == 1 && n == 0)) {
      errno = EPROTO;
      return -1;
    }
    if (!digit(&n, c, max)) {
      errno = E2BIG;
      return -1;
    }
    ++ndig;
  }
  *len = n;
  return 1;
}

int netstr_getend(buf_t *b)
{
  char c = 0;
  int r = getc_(b, &c);
  if (r == -1) return -1;
  if (r == 0) {
    errno = ENODATA;
    return -1;
  }
  if (c != ',') {
    errno = EPROTO;
    return -1;
  }
  return 0;
}

int netstr_skip(buf_t *b, size_t n)
{
  while (n) {
    ssize_t r = buf_feed(b);
    size_t k;
    if (r == -1) return -1;
    if (r == 0) {
      errno = ENODATA;
      return -1;
    }
    k = (size_t)r < n ? (size_t)r : n;
    buf_skip(b, k);
    n -= k;
  }
  return 0;
}

int netstr_get(buf_t *b, sa_t *out, size_t max)
{
  size_t n;
  int r = netstr_getlen(b, &n, max);
  if (r != 1) return r;
  out->len = 0;
  if (!sa_ready(out, n)) return -1;
  while (out->len < n) {
    ssize_t g = buf_get(b, out->s + out->len, n - out->len);
    if (g == -1) return -1;
    if (g == 0) {
      errno = ENODATA;
      return -1;
    }
    out->len += (size_t)g;
  }
  return netstr_getend(b) == 0 ? 1 : -1;
}

int netstr_parse(const char *s, size_t len, size_t *pos, const char **body, size_t *blen)
{
  size_t i = *pos, n = 0, ndig = 0;
  if (i >= len) return 0;
  for (; i < len && s[i] != ':'; ++i, ++ndig) {
    if (s[i] < '0' || s[i] > '9' || (ndig == 1 && n == 0)) goto bad;
    /* nothing longer than the rest of s can be complete */
    if (!digit(&n, s[i], len)) goto bad;
  }
  if (i == len || !ndig) goto bad;
  ++i;
  if (n > len - i || len - i - n < 1 || s[i + n] != ',') goto bad;
  *body = s + i;
  *blen = n;
  *pos = i + n + 1;
  return 1;
bad:
  errno = EPROTO;
  return -1;
}

bool netstr_size(size_t n, size_t *total)
{
  char num[FMT_ULONG];
  size_t d = fmt_ulong(num, (unsigned long)n);
  return !__builtin_add_overflow(n, d + 2, total);
}

int netstr_putlen(buf_t *b, size_t n)
{
  char num[FMT_ULONG + 1];
  size_t d = fmt_ulong(num, (unsigned long)n);
  num[d++] = ':';
  return buf_put(b, num, d);
}

int netstr_put(buf_t *b, const char *s, size_t n)
{
  if (netstr_putlen(b, n) == -1 || buf_put(b, s, n) == -1) return -1;
  return buf_put(b, ",", 1);
}

bool netstr_cat(sa_t *out, const char *s, size_t n)
{
  return sa_catulong(out, (unsigned long)n) && sa_append(out, ':') && sa_catb(out, s, n) &&
         sa_append(out, ',');
}
