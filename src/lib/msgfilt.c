/* msgfilt: see msgfilt.h */
#include "msgfilt.h"
#include <stdbool.h>
#include <stddef.h>

void msgfilt_start(msgfilt_t *m, qq_t *qq, bool crmode, unsigned long databytes)
{
  m->databytes = databytes;
  m->qq = qq;
  m->crmode = crmode;
  m->cr = false;
  m->inhdr = true;
  m->discard = qq == 0;
  m->toobig = 0;
  m->stored = m->hops = m->linelen = m->hdrbytes = 0;
  m->qlen = 0;
}

static void qflush(msgfilt_t *m)
{
  if (m->qlen && !m->discard) qq_put(m->qq, m->qbuf, m->qlen);
  m->qlen = 0;
}

static void over(msgfilt_t *m, const char *why)
{
  if (!m->toobig) m->toobig = why;
  m->discard = true;
  m->qlen = 0;
}

static bool caseq(const char *s, const char *w, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != w[i]) return false;
  }
  return true;
}

/* one byte of the stored message (line ends already LF); the counting
 * goes on after a refusal only as far as needed to know the reason */
void msgfilt_byte(msgfilt_t *m, char c)
{
  if (m->toobig) return;
  if (m->databytes && ++m->stored > m->databytes) { over(m, "databytes"); return; }
  if (m->inhdr && ++m->hdrbytes > MSGFILT_HDR_MAX) { over(m, "header"); return; }
  if (c == '\n') {
    if (m->inhdr) {
      if (m->linelen == 0) m->inhdr = false;
      else if ((m->linelen >= 8 && caseq(m->lstart, "received", 8)) ||
               (m->linelen >= 9 && caseq(m->lstart, "delivered", 9)))
        ++m->hops;
    }
    m->linelen = 0;
  } else {
    if (m->linelen < sizeof m->lstart) m->lstart[m->linelen] = c;
    if (++m->linelen > (m->inhdr ? MSGFILT_HDRLINE_MAX : MSGFILT_LINE_MAX)) { over(m, "line"); return; }
  }
  if (m->discard) return;
  m->qbuf[m->qlen++] = c;
  if (m->qlen == sizeof m->qbuf) qflush(m);
}

void msgfilt_put(msgfilt_t *m, const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (!m->crmode) {
      msgfilt_byte(m, c);
      continue;
    }
    /* CR LF becomes LF; any other CR is data */
    if (m->cr) {
      m->cr = false;
      if (c == '\n') {
        msgfilt_byte(m, '\n');
        continue;
      }
      msgfilt_byte(m, '\r');
    }
    if (c == '\r') m->cr = true;
    else msgfilt_byte(m, c);
  }
}

void msgfilt_end(msgfilt_t *m)
{
  if (m->cr) msgfilt_byte(m, '\r');
  m->cr = false;
  qflush(m);
  if (!m->toobig && m->hops >= MSGFILT_MAXHOPS) over(m, "hops");
}

