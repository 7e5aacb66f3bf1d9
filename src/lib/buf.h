/* buf: buffered I/O on file descriptors (no stdio in daemons).
 * A buf_t is either for reading or for writing.  The op function does the
 * actual read(2)/write(2), so a program can plug in a timeout.
 * Reads: buf_get/buf_getln.  Writes: buf_put/buf_puts + buf_flush.
 * Return conventions: -1 with errno on error. */
#ifndef BUF_H
#define BUF_H
#include <stddef.h>
#include <sys/types.h>
#include "sa.h"

typedef ssize_t (*buf_op)(int fd, void *buf, size_t len);

typedef struct {
  char *x;      /* space */
  size_t size;  /* of space */
  size_t pos;   /* read: start of unread data */
  size_t len;   /* read: unread bytes; write: pending bytes */
  int fd;
  buf_op op;
} buf_t;

#define BUF_SIZE 8192
#define BUF_INIT(op, fd, space, size) {(space), (size), 0, 0, (fd), (op)}

void buf_init(buf_t *, buf_op, int fd, char *space, size_t size);
ssize_t buf_read_op(int fd, void *, size_t);  /* read(2), retried on EINTR */
ssize_t buf_write_op(int fd, void *, size_t); /* write(2), retried on EINTR */

/* reading */
ssize_t buf_feed(buf_t *);     /* >0 bytes available, 0 EOF, -1 error */
char *buf_peek(buf_t *);       /* pointer to the available bytes */
void buf_skip(buf_t *, size_t);
ssize_t buf_get(buf_t *, char *, size_t);
/* Appends to line bytes up to and including sep.  Returns 1 if sep was
 * found, 0 at EOF (line holds whatever came before it), -1 on error.
 * max bounds line->len, separator included: if line would grow past max
 * bytes, stops with -1 and errno E2BIG; line then holds max bytes (or its
 * old content, if that was longer) and the rest is still unread. */
int buf_getln(buf_t *, sa_t *line, char sep, size_t max);

/* writing */
int buf_put(buf_t *, const char *, size_t);
int buf_puts(buf_t *, const char *);
int buf_putsa(buf_t *, const sa_t *);
int buf_putulong(buf_t *, unsigned long);
int buf_flush(buf_t *);
/* writes the NUL-terminated string s, then flushes */
int buf_putflush(buf_t *, const char *);

/* copies in to out until EOF: 0 ok, -2 read error, -3 write error */
int buf_copy(buf_t *out, buf_t *in);

extern buf_t *buf0, *buf1, *buf2; /* fd 0 read, fd 1 and fd 2 write */

#endif
