/* pop3: see pop3.h */
#include "pop3.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "fdio.h"

int pop3_lost = 1;

static char inspace[BUF_SIZE], outspace[BUF_SIZE * 8];
static ssize_t rd(int, void *, size_t);
static ssize_t wr(int, void *, size_t);
static buf_t pop3_in = BUF_INIT(rd, 0, inspace, sizeof inspace);
buf_t pop3_out = BUF_INIT(wr, 1, outspace, sizeof outspace);

void pop3_puts(const char *s) { buf_puts(&pop3_out, s); }

void pop3_err(const char *s)
{
  pop3_puts("-ERR ");
  pop3_puts(s);
  pop3_puts("\r\n");
}

void pop3_leave(int code)
{
  buf_flush(&pop3_out);
  _exit(code);
}

static ssize_t rd(int fd, void *b, size_t n)
{
  ssize_t r;
  if (buf_flush(&pop3_out) == -1) _exit(pop3_lost);
  r = read_timeout(fd, b, n, POP3_TIMEOUT);
  if (r == -1 && errno == ETIMEDOUT) {
    pop3_err("timeout");
    pop3_leave(pop3_lost);
  }
  if (r <= 0) _exit(pop3_lost);
  return r;
}

static ssize_t wr(int fd, void *b, size_t n)
{
  ssize_t r = write_timeout(fd, b, n, POP3_TIMEOUT);
  if (r <= 0) _exit(pop3_lost);
  return r;
}

int pop3_getcmd(sa_t *line)
{
  line->len = 0;
  switch (buf_getln(&pop3_in, line, '\n', POP3_CMD_MAX)) {
  case 1: break;
  case 0: _exit(pop3_lost); /* the client went away mid-line */
  default:
    pop3_err("line too long");
    pop3_leave(pop3_lost);
  }
  line->len--;
  if (line->len && line->s[line->len - 1] == '\r') line->len--;
  line->s[line->len] = 0;
  if (memchr(line->s, 0, line->len)) {
    pop3_err("NUL in command");
    return -1;
  }
  return 0;
}
