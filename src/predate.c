/* predate: runs a program with a Date: line (local time, numeric offset)
 * in front of its standard input.  datemail uses it before sendmail. */
#include <signal.h>
#include <unistd.h>
#include <time.h>
#include "buf.h"
#include "date.h"
#include "die.h"
#include "proc.h"

const char *PROG = "predate";

int main(int argc, char **argv)
{
  char d[DATE_LEN], space[BUF_SIZE];
  buf_t out;
  int pi[2], wstat, code, r;
  pid_t pid;

  if (argc < 2) die_usage("predate program [arg ...]");
  if (pipe(pi) == -1) die_sys(111, "unable to create pipe");
  pid = fork();
  if (pid == -1) die_sys(111, "unable to fork");
  if (pid == 0) {
    close(pi[1]);
    if (dup2(pi[0], 0) == -1) die_sys(111, "unable to set up input");
    if (pi[0] != 0) close(pi[0]);
    execvp(argv[1], argv + 1);
    die_sys(111, "unable to run ", argv[1]);
  }
  close(pi[0]);
  sig_ignore(SIGPIPE); /* a child that stops reading is reported below */
  buf_init(&out, buf_write_op, pi[1], space, sizeof space);
  r = buf_puts(&out, "Date: ");
  if (r == 0) r = buf_put(&out, d, date_rfc5322_local(d, time(0)));
  if (r == 0) r = buf_puts(&out, "\n");
  if (r == 0) {
    r = buf_copy(&out, buf0);
    if (r == -2) die_sys(111, "unable to read input");
  }
  if (r == 0) r = buf_flush(&out);
  close(pi[1]);
  if (wait_pid(pid, &wstat) == -1) die_sys(111, "unable to wait for ", argv[1]);
  code = wait_code(wstat);
  if (code == -1) die_temp(argv[1], " crashed");
  if (r != 0 && code == 0) die_temp(argv[1], " did not read all of its input");
  return code;
}
