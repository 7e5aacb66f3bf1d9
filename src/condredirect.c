/* condredirect: a .qmail helper.  Runs prog on the message; if it exits 0
 * the message is forwarded to newaddr (envelope sender $SENDER, $DTLINE
 * prepended) and condredirect exits 99 so that qmail-local stops there;
 * 111 from prog defers; anything else lets delivery go on (exit 0). */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include "buf.h"
#include "deliver.h"
#include "die.h"
#include "num.h"
#include "proc.h"
#include "queue.h"

const char *PROG = "condredirect";

static int run(char **args)
{
  int wstat;
  pid_t pid = fork();
  if (pid == -1) die_sys(111, "unable to fork");
  if (pid == 0) {
    sig_default(SIGPIPE);
    execvp(args[0], args);
    /* as qmail: 100 (the program's failure, not ours) unless the error
     * may pass */
    _exit(deliver_exec_code(errno));
  }
  if (wait_pid(pid, &wstat) == -1) die_sys(111, "waitpid failed");
  return wait_code(wstat);
}

int main(int argc, char **argv)
{
  const char *sender = env_get("SENDER"), *dtline = env_get("DTLINE"), *r;
  char num[FMT_ULONG];
  qq_t q;
  int code;
  if (argc < 3) die_usage("condredirect newaddress program [arg ...]");
  if (!sender) die_perm("SENDER not set");
  if (!dtline) die_perm("DTLINE not set");
  code = run(argv + 2);
  if (code == -1) die_temp("program crashed: ", argv[2]);
  if (code == 111) die_temp("temporary failure of ", argv[2]);
  if (code != 0) return 0;

  sig_ignore(SIGPIPE);
  /* the program may have read any part of the message */
  if (lseek(0, 0, SEEK_SET) == -1) die_sys(111, "unable to rewind message");
  if (qq_open(&q, true) == -1) die_sys(111, "unable to fork for qmail-queue");
  qq_puts(&q, dtline);
  if (qq_copyfd(&q, 0) == -1) die_sys(111, "unable to read message");
  qq_from(&q, sender);
  qq_to(&q, argv[1]);
  r = qq_close(&q);
  /* the pid of qmail-queue is known only now when qmail-queued ran it */
  num[fmt_ulong(num, (unsigned long)q.pid)] = 0;
  if (*r) die_(*r == 'D' ? 100 : 111, 0, r + 1, (const char *)0);
  say_(0, "qp ", num, (const char *)0);
  return 99;
}
