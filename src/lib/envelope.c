/* envelope: see envelope.h */
#include "envelope.h"
#include <errno.h>
#include <string.h>
#include "num.h"

int envelope_get(buf_t *b, sa_t *rec, size_t max)
{
  int r;
  rec->len = 0;
  /* max + 1 so the NUL itself always fits; getln keeps it in rec */
  r = buf_getln(b, rec, 0, max + 1);
  if (r == 1) {
    rec->len--; /* drop the NUL */
    return 1;
  }
  if (r == 0) return rec->len ? ENV_TRUNC : 0;
  if (errno == E2BIG) {
    if (rec->len > max) rec->len = max;
    return ENV_LONG;
  }
  return ENV_ERR;
}

int envelope_put(buf_t *b, char letter, const char *addr, size_t len)
{
  if (buf_put(b, &letter, 1) == -1) return -1;
  if (buf_put(b, addr, len) == -1) return -1;
  return buf_put(b, "", 1);
}

void envelope_walk_init(envelope_walk_t *w, const char *s, size_t len)
{
  w->s = s;
  w->len = len;
  w->pos = 0;
}

int envelope_walk(envelope_walk_t *w, const char **rec, size_t *reclen)
{
  const char *p, *e;
  size_t left;
  if (w->pos >= w->len) return 0;
  p = w->s + w->pos;
  left = w->len - w->pos;
  e = memchr(p, 0, left);
  if (!e) {
    w->pos = w->len;
    return ENV_TRUNC;
  }
  *rec = p;
  *reclen = (size_t)(e - p);
  w->pos += *reclen + 1;
  return 1;
}

int envelope_qq_next(envelope_qq_t *q, const char *rec, size_t reclen)
{
  switch (q->state) {
  case 0:
    if (reclen && rec[0] == 'F') { q->state = 1; return ENV_QQ_FROM; }
    break;
  case 1:
    if (!reclen) { q->state = 2; return ENV_QQ_END; }
    if (rec[0] == 'T') return ENV_QQ_TO;
    break;
  }
  q->state = 3; /* stays bad */
  return ENV_QQ_BAD;
}

bool envelope_num(const char *rec, size_t reclen, unsigned long *u)
{
  char d[FMT_ULONG];
  /* digits only, and few enough that the copy below is bounded */
  if (reclen < 2 || reclen - 1 >= sizeof d) return false;
  memcpy(d, rec + 1, reclen - 1);
  d[reclen - 1] = 0;
  return scan_ulong_all(d, u);
}

bool envelope_printable(sa_t *out, const char *s, size_t len)
{
  size_t start = out->len;
  if (!sa_catb(out, s, len)) return false; /* checked growth, terminator */
  for (size_t i = start; i < out->len; i++) {
    unsigned char c = (unsigned char)out->s[i];
    if (c < 32 || c > 126) out->s[i] = '_';
  }
  return true;
}
