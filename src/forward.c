/* forward: a .qmail helper.  Requeues the message on stdin to the
 * addresses given, with $DTLINE prepended and $NEWSENDER as envelope
 * sender (forward(1)).  Exit codes per qmail-command(8). */
#include <signal.h>
#include "buf.h"
#include "die.h"
#include "num.h"
#include "proc.h"
#include "queue.h"

const char *PROG = "forward";

int main(int argc, char **argv)
{
  const char *sender = env_get("NEWSENDER"), *dtline = env_get("DTLINE"), *r;
  char num[FMT_ULONG];
  qq_t q;
  if (argc < 2) die_usage("forward address ...");
  if (!sender) die_perm("NEWSENDER not set");
  if (!dtline) die_perm("DTLINE not set");
  /* a qmail-queue that dies early must show up as its exit code, not as
   * this process killed by SIGPIPE */
  sig_ignore(SIGPIPE);
  if (qq_open(&q, true) == -1) die_sys(111, "unable to fork for qmail-queue");
  qq_puts(&q, dtline);
  if (qq_copyfd(&q, 0) == -1) die_sys(111, "unable to read message");
  qq_from(&q, sender);
  for (int i = 1; i < argc; i++) qq_to(&q, argv[i]);
  r = qq_close(&q);
  /* the pid of qmail-queue is known only now when qmail-queued ran it */
  num[fmt_ulong(num, (unsigned long)q.pid)] = 0;
  if (*r) die_(*r == 'D' ? 100 : 111, 0, r + 1, (const char *)0);
  say_(0, "qp ", num, (const char *)0);
  return 0;
}
