/* die: see die.h.  Builds the whole line first and writes it with one
 * write(2), so concurrent programs sharing a log never interleave lines;
 * control characters in it become '?'. */
#include "die.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "num.h"

static void out(const char *kind, int syserr, const char *s, va_list ap)
{
  char line[1024];
  size_t n = 0;
  const char *err = syserr ? strerror(errno) : 0;
#define ADD(str) do { const char *t_ = (str); size_t l_ = strlen(t_); \
    if (l_ > sizeof line - 2 - n) l_ = sizeof line - 2 - n; \
    memcpy(line + n, t_, l_); n += l_; } while (0)
  ADD(PROG);
  ADD(": ");
  if (kind) ADD(kind);
  for (; s; s = va_arg(ap, const char *)) ADD(s);
  if (err) { ADD(": "); ADD(err); }
#undef ADD
  /* one line, whatever the parts hold (a file name, a host's reply):
   * nobody may forge another log line through them */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)line[i] < 32 || line[i] == 127) line[i] = '?';
  line[n++] = '\n';
  (void)!write(2, line, n);
}

_Noreturn void die_(int code, int syserr, const char *s, ...)
{
  va_list ap;
  va_start(ap, s);
  out("fatal: ", syserr, s, ap);
  va_end(ap);
  _exit(code);
}

void warn_(int syserr, const char *s, ...)
{
  va_list ap;
  int e = errno;
  va_start(ap, s);
  out("warning: ", syserr, s, ap);
  va_end(ap);
  errno = e;
}

void say_(int syserr, const char *s, ...)
{
  va_list ap;
  int e = errno;
  va_start(ap, s);
  out(0, syserr, s, ap);
  va_end(ap);
  errno = e;
}

const char *die_line(int l)
{
  static char b[FMT_ULONG];
  b[fmt_ulong(b, l < 0 ? 0 : (unsigned long)l)] = 0;
  return b;
}
