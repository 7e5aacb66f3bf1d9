/* splogger: copies log lines from stdin to syslog (see splogger(8)).
 *
 *   splogger [tag [facility]]
 *
 * Each line gets a numeric timestamp in front.  Lines starting with
 * "alert:" go out at LOG_ALERT, "warning:" at LOG_WARNING, the rest at
 * LOG_INFO.  Unprintable bytes become '?'; empty lines are dropped; a
 * line longer than LINE_MAX_SPLIT bytes is sent in pieces, each further
 * piece marked with a leading '+', so no syslog implementation has to cut
 * it for us.  Runs as qmaill/nofiles under qmail-start. */
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include "buf.h"
#include "die.h"
#include "num.h"

const char *PROG = "splogger";

#define LINE_MAX_SPLIT 800

static int facility = LOG_MAIL;
static char line[LINE_MAX_SPLIT + 1];
static size_t len;
static bool cont;      /* this piece continues a longer line */
static int prio;

static void send_piece(void)
{
  char stamp[2 * FMT_ULONG + 4];
  struct timeval tv;
  size_t n;
  if (!len && !cont) return;
  gettimeofday(&tv, 0);
  n = fmt_ulong(stamp, (unsigned long)tv.tv_sec);
  stamp[n++] = '.';
  n += fmt_ulong0(stamp + n, (unsigned long)tv.tv_usec, 6);
  stamp[n] = 0;
  line[len] = 0;
  syslog(prio | facility, "%s %s%s", stamp, cont ? "+" : "", line);
  len = 0;
}

static void byte(char c)
{
  if (c == '\n') {
    if (len) send_piece();
    len = 0;
    cont = false;
    return;
  }
  if (!len && !cont) {
    /* priority from the start of the line; judged when its first byte
     * arrives, carried to its continuation pieces */
    prio = LOG_INFO;
  }
  if (len == LINE_MAX_SPLIT) {
    send_piece();
    cont = true;
  }
  line[len++] = (c >= 32 && c < 127) ? c : '?';
  if (!cont && len == 8 && !memcmp(line, "warning:", 8)) prio = LOG_WARNING;
  if (!cont && len == 6 && !memcmp(line, "alert:", 6)) prio = LOG_ALERT;
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
