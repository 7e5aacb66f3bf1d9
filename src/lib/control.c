/* control: see control.h */
#include "control.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fdio.h"
#include "num.h"

static sa_t me = SA_INIT;
static int have_me;

static void strip(sa_t *x)
{
  while (x->len && (x->s[x->len - 1] == ' ' || x->s[x->len - 1] == '\t' ||
                    x->s[x->len - 1] == '\r'))
    --x->len;
}

static int path(sa_t *p, const char *fn)
{
  if (!sa_copys(p, "control/") || !sa_cats(p, fn) || !sa_0(p)) return -1;
  return 0;
}

/* reads the file and cuts it at the first LF; 1/0/-1 */
int control_readline(sa_t *out, const char *fn)
{
  sa_t p = SA_INIT;
  int r;
  char *nl;
  if (path(&p, fn) == -1) return -1;
  r = read_file(p.s, out, CONTROL_MAX);
  sa_free(&p);
  if (r <= 0) { out->len = 0; return r; }
  nl = memchr(out->s, '\n', out->len);
  if (nl) out->len = (size_t)(nl - out->s);
  strip(out);
  /* the convenience NUL every sa_t has after len: callers use out->s as
   * a C string (helohost, outgoingip) */
  if (!sa_readyplus(out, 1)) return -1;
  out->s[out->len] = 0;
  return 1;
}

int control_init(void)
{
  int r = control_readline(&me, "me");
  if (r == -1) return -1;
  have_me = r == 1 && me.len > 0;
  if (!sa_0(&me)) return -1;
  return 0;
}

const char *control_me(void) { return have_me ? me.s : ""; }

int control_rldef(sa_t *out, const char *fn, int flagme, const char *def)
{
  int r = control_readline(out, fn);
  if (r != 0) return r;
  if (flagme && have_me) return sa_copys(out, me.s) ? 1 : -1;
  if (def) return sa_copys(out, def) ? 1 : -1;
  return 0;
}

int control_readint(unsigned long *u, const char *fn)
{
  sa_t x = SA_INIT;
  unsigned long v;
  int r = control_readline(&x, fn);
  if (r == 1) {
    if (!sa_0(&x)) r = -1;
    else if (scan_ulong(x.s, &v)) *u = v;
    else r = 0;
  }
  sa_free(&x);
  return r;
}

int control_readfile(sa_t *out, const char *fn, int flagme)
{
  sa_t p = SA_INIT, raw = SA_INIT;
  int r;
  size_t i = 0;
  out->len = 0;
  if (path(&p, fn) == -1) return -1;
  r = read_file(p.s, &raw, CONTROL_MAX);
  sa_free(&p);
  if (r == 0) {
    sa_free(&raw);
    if (flagme && have_me) return sa_catb(out, me.s, strlen(me.s) + 1) ? 0 : -1;
    return 0;
  }
  if (r == -1) { sa_free(&raw); return -1; }
  while (i < raw.len) {
    char *nl = memchr(raw.s + i, '\n', raw.len - i);
    size_t end = nl ? (size_t)(nl - raw.s) : raw.len;
    size_t start = out->len;
    if (end > i && raw.s[i] != '#') {
      if (!sa_catb(out, raw.s + i, end - i)) goto fail;
      {
        sa_t tail = {out->s + start, out->len - start, 0};
        strip(&tail);
        out->len = start + tail.len;
      }
      if (out->len == start) { /* blank after stripping */ }
      else if (!sa_append(out, 0)) goto fail;
    }
    i = end + 1;
  }
  sa_free(&raw);
  return 1;
fail:
  sa_free(&raw);
  return -1;
}

static size_t hash(const char *s, size_t n)
{
  size_t h = 5381;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z') c += 32;
    h = (h * 33) ^ c;
  }
  return h;
}

static int ieq(const char *a, const char *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return 0;
  }
  return 1;
}

int cmap_init(cmap_t *m, const sa_t *list, int colon)
{
  size_t count = 0, size = 16, i;
  memset(m, 0, sizeof *m);
  for (i = 0; i < list->len; i++) if (!list->s[i]) ++count;
  while (size < count * 2 + 1) {
    if (size > SIZE_MAX / 4 / sizeof *m->key) { errno = ENOMEM; return -1; }
    size <<= 1;
  }
  m->key = calloc(size, sizeof *m->key);
  m->val = calloc(size, sizeof *m->val);
  m->klen = calloc(size, sizeof *m->klen);
  if (!m->key || !m->val || !m->klen) { cmap_free(m); errno = ENOMEM; return -1; }
  m->mask = size - 1;
  for (i = 0; i < list->len;) {
    const char *k = list->s + i;
    const char *z = memchr(k, 0, list->len - i);
    size_t l, kl;
    if (!z) break; /* a final entry without its NUL: never read past len */
    l = kl = (size_t)(z - k);
    const char *v = "";
    if (colon) {
      const char *c = memchr(k, ':', l);
      if (c) { kl = (size_t)(c - k); v = c + 1; }
    }
    if (!cmap_get(m, k, kl)) {
      size_t h = hash(k, kl) & m->mask;
      while (m->key[h]) h = (h + 1) & m->mask;
      m->key[h] = k;
      m->klen[h] = kl;
      m->val[h] = v;
      ++m->n;
    }
    i += l + 1;
  }
  return 0;
}

const char *cmap_get(const cmap_t *m, const char *k, size_t len)
{
  size_t h;
  if (!m->key) return 0;
  for (h = hash(k, len) & m->mask; m->key[h]; h = (h + 1) & m->mask)
    if (m->klen[h] == len && ieq(m->key[h], k, len)) return m->val[h];
  return 0;
}

void cmap_free(cmap_t *m)
{
  free(m->key);
  free(m->val);
  free(m->klen);
  memset(m, 0, sizeof *m);
}
