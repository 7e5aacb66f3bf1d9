/* smtpc: see smtpc.h */
#include <errno.h>
#include <strings.h>
#include <string.h>
#include "smtpc.h"

static int digit(char c) { return c >= '0' && c <= '9'; }

int smtpc_reply(buf_t *in, sa_t *text)
{
  sa_t line = SA_INIT;
  int code = -1, r;
  text->len = 0;
  for (;;) {
    int c;
    line.len = 0;
    r = buf_getln(in, &line, '\n', SMTPC_LINE_MAX);
    if (r == -1) {
      int e = errno;
      sa_free(&line);
      if (e == E2BIG) return -2;
      errno = e;
      return -1;
    }
    if (r == 0) { /* end of input, even in mid-line */
      sa_free(&line);
      errno = 0;
      return -1;
    }
    --line.len;
    if (line.len && line.s[line.len - 1] == '\r') --line.len;
    if (line.len < 3 || !digit(line.s[0]) || !digit(line.s[1]) || !digit(line.s[2]) ||
        (line.len > 3 && line.s[3] != ' ' && line.s[3] != '-'))
      goto bad;
    c = (line.s[0] - '0') * 100 + (line.s[1] - '0') * 10 + (line.s[2] - '0');
    /* every line of one reply carries the same code */
    if (code != -1 && c != code) goto bad;
    code = c;
    if (text->len + line.len + 1 > SMTPC_REPLY_MAX) goto bad;
    if (text->len && !sa_append(text, '\n')) goto nomem;
    if (!sa_catb(text, line.s, line.len)) goto nomem;
    if (line.len == 3 || line.s[3] == ' ') break;
  }
  sa_free(&line);
  return code;
bad:
  sa_free(&line);
  return -2;
nomem:
  sa_free(&line);
  errno = ENOMEM;
  return -1;
}

void smtpc_ehlo(const sa_t *text, smtpc_ext_t *ext)
{
  size_t i = 0;
  int first = 1;
  memset(ext, 0, sizeof *ext);
  while (i < text->len) {
    const char *l = text->s + i, *e = memchr(l, '\n', text->len - i);
    size_t n = e ? (size_t)(e - l) : text->len - i;
    i += n + 1;
    if (first) { first = 0; continue; } /* the greeting line */
    if (n < 4) continue;
    l += 4;
    n -= 4;
    if (n == 10 && strncasecmp(l, "PIPELINING", 10) == 0) ext->pipelining = 1;
    else if (n == 8 && strncasecmp(l, "8BITMIME", 8) == 0) ext->eightbitmime = 1;
    else if (n >= 4 && strncasecmp(l, "SIZE", 4) == 0 && (n == 4 || l[4] == ' ')) {
      unsigned long long v = 0;
      int ok = 1;
      ext->size = 1;
      for (size_t k = 5; k < n; ++k) {
        if (!digit(l[k])) { ok = 0; break; }
        if (v > (~0ULL - 9) / 10) { ok = 0; break; }
        v = v * 10 + (unsigned)(l[k] - '0');
      }
      ext->maxsize = ok ? v : 0;
    }
  }
}

void smtpc_data_init(smtpc_data_t *d)
{
  d->bol = 1; /* the message starts a line */
  d->cr = 0;
  d->eight = 0;
  d->n = 0;
}

static int put(smtpc_data_t *d, buf_t *out, const char *s, size_t len)
{
  d->n += len;
  if (!out) return 0;
  return buf_put(out, s, len);
}

int smtpc_data(smtpc_data_t *d, buf_t *out, const char *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    size_t j;
    if (d->cr) {
      /* the CR before this byte ends a line, whether or not an LF
       * follows it; either way the next byte starts a new line */
      d->cr = 0;
      if (put(d, out, "\r\n", 2) == -1) return -1;
      d->bol = 1;
      if (s[i] == '\n') { ++i; continue; }
    }
    if (s[i] == '\r') { d->cr = 1; ++i; continue; }
    if (s[i] == '\n') {
      if (put(d, out, "\r\n", 2) == -1) return -1;
      d->bol = 1;
      ++i;
      continue;
    }
    if (d->bol && s[i] == '.' && put(d, out, ".", 1) == -1) return -1;
    d->bol = 0;
    for (j = i; j < len && s[j] != '\r' && s[j] != '\n'; ++j)
      if ((unsigned char)s[j] > 127) d->eight = 1;
    if (put(d, out, s + i, j - i) == -1) return -1;
    i = j;
  }
  return 0;
}

int smtpc_data_end(smtpc_data_t *d, buf_t *out)
{
  if (d->cr) {
    d->cr = 0;
    if (put(d, out, "\r\n", 2) == -1) return -1;
    d->bol = 1;
  }
  if (!d->bol && put(d, out, "\r\n", 2) == -1) return -1;
  d->bol = 1;
  return put(d, out, ".\r\n", 3);
}

int smtpc_clean(sa_t *out, const char *s, size_t len, size_t max)
{
  size_t n = len > max ? max : len;
  if (!sa_readyplus(out, n + 3)) return 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    out->s[out->len++] = c != '\n' && (c < 32 || c > 126) ? '?' : (char)c;
  }
  if (len > max) return sa_cats(out, "...");
  return 1;
}
