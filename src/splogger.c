/* splogger: copies log lines from stdin to syslog (see splogger(8)).
 *
 *   splogger [tag [facility]]
 *
 * Each line gets a numeric timestamp in front.  Lines starting with
 * "alert:" go out at LOG_ALERT, "warning:" at LOG_WARNING, the rest at
 * LOG_INFO.  Unprintable bytes become '?'; empty lines are dropped.  As
 * in qmail, a line longer than PIECE bytes is sent in pieces of PIECE,
 * so no syslog implementation has to cut it for us; the further pieces
 * carry the first one's timestamp and priority, joined by '+' instead of
 * the space ("STAMP+text"), so a reader can put the line together again.
 * Runs as qmaill/nofiles under qmail-start. */
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include "buf.h"
#include "die.h"
#include "num.h"

const char *PROG = "splogger";

#define PIECE 799

static int facility = LOG_MAIL;
static char line[PIECE + 1];
static size_t len;
static bool cont;      /* the piece in line continues a longer line */
static int prio;       /* of the line, once its first piece is sent */
static char stamp[2 * FMT_ULONG + 2]; /* of the line, likewise */

static void stamp_now(void)
{
  struct timeval tv;
  size_t n;
  gettimeofday(&tv, 0);
  n = fmt_ulong(stamp, (unsigned long)tv.tv_sec);
  stamp[n++] = '.';
  n += fmt_ulong0(stamp + n, (unsigned long)tv.tv_usec, 6);
  stamp[n] = 0;
}

static void send_piece(void)
{
  if (!len) return;
  line[len] = 0;
  len = 0;
  if (cont) {
    syslog(prio | facility, "%s+%s", stamp, line);
    return;
  }
  stamp_now();
  prio = LOG_INFO;
  if (!strncmp(line, "warning:", 8)) prio = LOG_WARNING;
  if (!strncmp(line, "alert:", 6)) prio = LOG_ALERT;
  syslog(prio | facility, "%s %s", stamp, line);
  cont = true;
}

static void byte(char c)
{
  if (c == '\n') {
    send_piece();
    cont = false;
    return;
  }
  if (len == PIECE) send_piece();
  line[len++] = (c >= 32 && c < 127) ? c : '?';
}

int main(int argc, char **argv)
{
  const char *tag = argc > 1 ? argv[1] : "splogger";
  unsigned long f;
  if (argc > 2) {
    if (!scan_ulong_all(argv[2], &f) || f > 23) die_usage("splogger [tag [facility]]");
    facility = (int)(f << 3);
  }
  openlog(tag, 0, facility);
  for (;;) {
    ssize_t r = buf_feed(buf0);
    size_t i;
    const char *p;
    if (r < 0) die_sys(111, "unable to read input");
    if (r == 0) break;
    p = buf_peek(buf0);
    for (i = 0; i < (size_t)r; ++i) byte(p[i]);
    buf_skip(buf0, (size_t)r);
  }
  if (len) send_piece();
  return 0;
}
