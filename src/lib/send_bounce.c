/* send_bounce: see send_bounce.h */
#include "send_bounce.h"
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include "quote.h"
#include "send_rewrite.h"

void text_logsafe(char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') s[i] = '/';
    else if (c < 33 || c > 126 || c == '%') s[i] = '_';
  }
}

int bounce_envelope(const char *sender, const char *dbto, const char *dbhost, sa_t *from, sa_t *to)
{
  size_t sl = strlen(sender);
  if (!strcmp(sender, BOUNCE_DOUBLE_SENDER)) {
    from->len = to->len = 0;
    return sa_copys(from, "") && sa_copys(to, "") ? BOUNCE_TRIPLE : -1;
  }
  if (!*sender) {
    if (!sa_copys(from, BOUNCE_DOUBLE_SENDER) || !sa_copys(to, dbto) || !sa_append(to, '@') ||
        !sa_cats(to, dbhost))
      return -1;
    return BOUNCE_DOUBLE;
  }
  if (!sa_copys(from, "")) return -1;
  return sa_copyb(to, sender, verp_base(sender, sl)) ? BOUNCE_NORMAL : -1;
}

int bounce_paragraph(sa_t *out, const char *addr, const char *text, size_t len)
{
  char prev = '\n';
  if (!sa_append(out, '<')) return -1;
  for (const char *p = addr; *p; p++)
    if (!sa_append(out, *p == '\n' ? '_' : *p)) return -1;
  if (!sa_cats(out, ">:\n")) return -1;
  while (len && text[len - 1] == '\n') --len;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    /* an empty line would end the paragraph early: as qmail does, the LF
     * that would make it becomes '/' ("a\n\nb" -> "a\n/b") */
    if (!sa_append(out, c == '\n' && prev == '\n' ? '/' : c)) return -1;
    prev = c;
  }
  return sa_cats(out, "\n\n") ? 0 : -1;
}

int bounce_head(sa_t *out, int kind, const char *date, const char *bouncefrom,
                const char *bouncehost, const char *to)
{
  /* the first words are the QSBMF marker that bounce parsers look for;
   * the rest is ours */
  sa_t f = SA_INIT;
  bool ok;
  /* the addresses as RFC 5322 wants them: local parts quoted if need be */
  ok = sa_cats(&f, bouncefrom) && sa_append(&f, '@') && sa_cats(&f, bouncehost) && sa_0(&f) &&
       sa_cats(out, "Date: ") && sa_cats(out, date) && sa_cats(out, "\nFrom: ") &&
       quote_addr(out, f.s) && sa_cats(out, "\nTo: ") && quote_addr(out, to);
  sa_free(&f);
  if (!ok ||
      !sa_cats(out, "\nSubject: failure notice\n\n"
                    "Hi. This is the qmail-send program at ") ||
      !sa_cats(out, bouncehost) || !sa_cats(out, ".\n"))
    return -1;
  if (kind == BOUNCE_DOUBLE) {
    if (!sa_cats(out, "A bounce message could not be returned to its sender, so it\n"
                      "comes to you, the postmaster, instead. The addresses it\n"
                      "failed for and the reasons are listed below.\n\n"))
      return -1;
  } else if (!sa_cats(out, "Your message could not be delivered to the addresses listed\n"
                           "below. This is a permanent failure: no further attempts\n"
                           "will be made.\n\n"))
    return -1;
  return 0;
}

int bounce_tail(sa_t *out, int kind, const char *orig_sender)
{
  sa_t s = SA_INIT;
  bool ok = sa_copyb(&s, orig_sender, verp_base(orig_sender, strlen(orig_sender))) && sa_0(&s) &&
            sa_cats(out, kind == BOUNCE_DOUBLE ? "--- Below this line is the original bounce.\n\n"
                                               : "--- Below this line is a copy of the message.\n\n") &&
            sa_cats(out, "Return-Path: <") && quote_addr(out, s.s) && sa_cats(out, ">\n");
  sa_free(&s);
  return ok ? 0 : -1;
}

int bounce_copy(int fd, size_t maxbody, int (*put)(void *, const char *, size_t), void *arg)
{
  char b[8192], hold[8192]; /* hold: the current body line, until its LF */
  size_t pend = 0, body = 0;
  int inbody = 0, bol = 1, cut = 0;
  char last = '\n';
  while (!cut) {
    ssize_t r = read(fd, b, sizeof b);
    size_t i = 0, n;
    if (r == -1) { if (errno == EINTR) continue; return -1; }
    if (r == 0) break;
    n = (size_t)r;
    if (!inbody) {
      /* the header goes whole, through the empty line that ends it */
      size_t j;
      for (j = 0; j < n; j++) {
        if (b[j] != '\n') { bol = 0; continue; }
        if (bol) { inbody = 1; j++; break; }
        bol = 1;
      }
      if (j && put(arg, b, j) == -1) return -2;
      if (j) last = b[j - 1];
      i = j;
    }
    for (; inbody && i < n; i++) {
      if (maxbody && body == maxbody) { cut = 1; break; }
      ++body;
      hold[pend++] = b[i];
      /* lines longer than hold are passed on in pieces */
      if (b[i] == '\n' || pend == sizeof hold) {
        if (put(arg, hold, pend) == -1) return -2;
        last = hold[pend - 1];
        pend = 0;
      }
    }
  }
  /* a line the limit cut is dropped; an unterminated last line is kept */
  if (pend && !cut) {
    if (put(arg, hold, pend) == -1) return -2;
    last = hold[pend - 1];
  }
  if (last != '\n' && put(arg, "\n", 1) == -1) return -2;
  return 0;
}
