/* preline: a .qmail helper.  Feeds cmd the message with the $UFLINE
 * (From_), $RPLINE (Return-Path) and $DTLINE (Delivered-To) lines that
 * qmail-local sets put in front, for programs that expect an mbox-style
 * message (procmail and friends).  -f, -r, -d leave out UFLINE, RPLINE,
 * DTLINE; -F, -R, -D put them back.  Exits with cmd's exit code; 100 if
 * cmd cannot be run (111 if the reason may pass), 111 if it crashes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "deliver.h"
#include "die.h"
#include "fdio.h"
#include "proc.h"

const char *PROG = "preline";

#define USAGE "preline [-dfrDFR] command [arg ...]"

static const char *need(int want, const char *name)
{
  const char *v;
  if (!want) return "";
  v = env_get(name);
  if (!v) die_perm(name, " not set");
  return v;
}

int main(int argc, char **argv)
{
  int fl = 1, rp = 1, dt = 1, opt, pi[2], wstat, code, broken = 0;
  const char *uf, *rpl, *dtl;
  char space[BUF_SIZE];
  buf_t in, out;
  pid_t pid;
  /* "+": options stop at the command, whose own options are its own */
  while ((opt = getopt(argc, argv, "+dfrDFR")) != -1)
    switch (opt) {
    case 'd': dt = 0; break;
    case 'f': fl = 0; break;
    case 'r': rp = 0; break;
    /* the capitals undo them, as in qmail's preline */
    case 'D': dt = 1; break;
    case 'F': fl = 1; break;
    case 'R': rp = 1; break;
    default: die_usage(USAGE);
    }
  argv += optind;
  if (!*argv) die_usage(USAGE);
  uf = need(fl, "UFLINE");
  rpl = need(rp, "RPLINE");
  dtl = need(dt, "DTLINE");

  if (pipe2(pi, O_CLOEXEC) == -1) die_sys(111, "unable to create pipe");
  pid = fork();
  if (pid == -1) die_sys(111, "unable to fork");
  if (pid == 0) {
    sig_default(SIGPIPE);
    if (fd_copy(0, pi[0]) == -1) die_sys(111, "unable to set up stdin");
    execvp(argv[0], argv);
    die_sys(deliver_exec_code(errno), "unable to run ", argv[0]);
  }
  close(pi[0]);
  /* a command that stops reading early is its own business: stop
   * writing and report its exit code */
  sig_ignore(SIGPIPE);
  buf_init(&out, buf_write_op, pi[1], space, sizeof space);
  if (buf_puts(&out, uf) == -1 || buf_puts(&out, rpl) == -1 || buf_puts(&out, dtl) == -1)
    broken = 1;
  if (!broken) {
    char ispace[BUF_SIZE];
    buf_init(&in, buf_read_op, 0, ispace, sizeof ispace);
    switch (buf_copy(&out, &in)) {
    case 0: break;
    case -2: kill(pid, SIGTERM); (void)wait_pid(pid, &wstat); die_sys(111, "unable to read message");
    default: broken = 1;
    }
  }
  if (!broken && buf_flush(&out) == -1) broken = 1;
  if (broken && errno != EPIPE) {
    kill(pid, SIGTERM);
    (void)wait_pid(pid, &wstat);
    die_sys(111, "unable to write to ", argv[0]);
  }
  close(pi[1]);
  if (wait_pid(pid, &wstat) == -1) die_sys(111, "waitpid failed");
  code = wait_code(wstat);
  if (code == -1) die_temp(argv[0], " crashed");
  return code;
}
