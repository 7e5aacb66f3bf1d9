/* buf: see buf.h.  Buffer sizes are fixed at init; nothing here allocates
 * except buf_getln, whose growth is bounded by the caller's max. */
#include "buf.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "num.h"

ssize_t buf_read_op(int fd, void *p, size_t n)
{
  ssize_t r;
  do r = read(fd, p, n); while (r == -1 && errno == EINTR);
  return r;
}

ssize_t buf_write_op(int fd, void *p, size_t n)
{
  ssize_t r;
  do r = write(fd, p, n); while (r == -1 && errno == EINTR);
  return r;
}

void buf_init(buf_t *b, buf_op op, int fd, char *space, size_t size)
{
  b->x = space;
  b->size = size;
  b->pos = b->len = 0;
  b->fd = fd;
  b->op = op;
}

ssize_t buf_feed(buf_t *b)
{
  ssize_t r;
  if (b->len) return (ssize_t)b->len;
  r = b->op(b->fd, b->x, b->size);
  if (r <= 0) return r;
  b->pos = 0;
  b->len = (size_t)r;
  return r;
}

char *buf_peek(buf_t *b) { return b->x + b->pos; }

void buf_skip(buf_t *b, size_t n)
{
  if (n > b->len) n = b->len;
  b->pos += n;
  b->len -= n;
}

ssize_t buf_get(buf_t *b, char *s, size_t n)
{
  ssize_t r;
  if (!n) return 0;
  if (!b->len && n >= b->size) return b->op(b->fd, s, n);
  r = buf_feed(b);
  if (r <= 0) return r;
  if (n > b->len) n = b->len;
  memcpy(s, b->x + b->pos, n);
  buf_skip(b, n);
  return (ssize_t)n;
}

int buf_getln(buf_t *b, sa_t *line, char sep, size_t max)
{
  for (;;) {
    ssize_t r = buf_feed(b);
    char *p, *e;
    size_t n;
    if (r < 0) return -1;
    if (r == 0) return 0;
    p = buf_peek(b);
    e = memchr(p, sep, b->len);
    n = e ? (size_t)(e - p) + 1 : b->len;
    if (line->len > max || n > max - line->len) {
      /* take only what fits, so the caller sees a bounded prefix */
      size_t room = line->len < max ? max - line->len : 0;
      if (room && !sa_catb(line, p, room)) return -1;
      buf_skip(b, room);
      errno = E2BIG;
      return -1;
    }
    if (!sa_catb(line, p, n)) return -1;
    buf_skip(b, n);
    if (e) return 1;
  }
}

int buf_flush(buf_t *b)
{
  size_t done = 0;
  while (done < b->len) {
    ssize_t w = b->op(b->fd, b->x + done, b->len - done);
    if (w <= 0) {
      if (w == 0) errno = EIO;
      /* keep what was not written so a caller may retry */
      memmove(b->x, b->x + done, b->len - done);
      b->len -= done;
      return -1;
    }
    done += (size_t)w;
  }
  b->len = 0;
  return 0;
}

int buf_put(buf_t *b, const char *s, size_t n)
{
  if (n > b->size - b->len) {
    if (buf_flush(b) == -1) return -1;
    if (n >= b->size) {
      while (n) {
        ssize_t w = b->op(b->fd, (char *)s, n);
        if (w <= 0) { if (w == 0) errno = EIO; return -1; }
        s += w;
        n -= (size_t)w;
      }
      return 0;
    }
  }
  memcpy(b->x + b->len, s, n);
  b->len += n;
  return 0;
}

int buf_puts(buf_t *b, const char *s) { return buf_put(b, s, strlen(s)); }
int buf_putsa(buf_t *b, const sa_t *x) { return buf_put(b, x->s, x->len); }

int buf_putulong(buf_t *b, unsigned long u)
{
  char s[FMT_ULONG];
  return buf_put(b, s, fmt_ulong(s, u));
}

int buf_putflush(buf_t *b, const char *s)
{
  if (buf_puts(b, s) == -1) return -1;
  return buf_flush(b);
}

int buf_copy(buf_t *out, buf_t *in)
{
  for (;;) {
    ssize_t r = buf_feed(in);
    if (r < 0) return -2;
    if (r == 0) return 0;
    if (buf_put(out, buf_peek(in), (size_t)r) == -1) return -3;
    buf_skip(in, (size_t)r);
  }
}

static char space0[BUF_SIZE], space1[BUF_SIZE], space2[256];
static buf_t b0 = BUF_INIT(buf_read_op, 0, space0, sizeof space0);
static buf_t b1 = BUF_INIT(buf_write_op, 1, space1, sizeof space1);
static buf_t b2 = BUF_INIT(buf_write_op, 2, space2, sizeof space2);
buf_t *buf0 = &b0, *buf1 = &b1, *buf2 = &b2;
