/* qmail-start: sets up the delivery daemons (see qmail-start(8) and
 * "Accounts and processes" in INTERNALS.md).
 *
 *   qmail-start [defaultdelivery [logger args...]]
 *
 * Run as root from the service's run script.  Makes the six pipes between
 * qmail-send and qmail-lspawn, qmail-rspawn, qmail-clean (and a seventh to
 * the logger, if one is named), starts each child under its own account
 * with gid qmail (the logger: qmaill/nofiles), starts qmail-queued as
 * qmailq (it has no pipe to qmail-send; it logs to the logger), then
 * becomes qmail-send as qmails.  Privileges are dropped in each child
 * before its exec, so no daemon ever runs code with more rights than it
 * needs. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "prot.h"

const char *PROG = "qmail-start";

#define USAGE "qmail-start [defaultdelivery [logger args...]]"

/* moves the descriptors from[i] onto i (0 <= i < n) for exec; everything
 * else stays close-on-exec.  Copies go through high numbers first, so a
 * source that sits on some target number is not overwritten early. */
static void arrange(const int *from, int n)
{
  int tmp[8], i;
  for (i = 0; i < n; ++i) {
    tmp[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 20);
    if (tmp[i] == -1) die_sys(111, "unable to duplicate a descriptor");
  }
  for (i = 0; i < n; ++i)
    if (fd_copy(i, tmp[i]) == -1) die_sys(111, "unable to set up descriptors");
}

static _Noreturn void run(const char *prog, char *const *args, uid_t uid, gid_t gid, bool path)
{
  if (prot_drop(uid, gid) == -1) die_sys(111, "unable to drop privileges for ", prog);
  if (path) execvp(prog, args);
  else execv(prog, args);
  die_sys(111, "unable to run ", prog);
}

static pid_t xfork(void)
{
  pid_t pid = fork();
  if (pid == -1) die_sys(111, "unable to fork");
  return pid;
}

int main(int argc, char **argv)
{
  const char *dfl = argc > 1 ? argv[1] : "./Mailbox";
  char **logger = argc > 2 ? argv + 2 : 0;
  uid_t uids, uidr, uidq, uidl;
  gid_t gidq, gidn, g;
  int pl[2] = {-1, -1}, p[6][2], i;
  char self[FMT_ULONG];

  if (argc > 1 && !argv[1][0]) die_usage(USAGE);
  /* the pid qmail-send will have: qmail-queued serves only it */
  self[fmt_ulong(self, (unsigned long)getpid())] = 0;
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  if (ids_user(auto_users, &uids, &g) == -1) die_sys(111, "unable to look up user ", auto_users);
  if (ids_user(auto_userr, &uidr, &g) == -1) die_sys(111, "unable to look up user ", auto_userr);
  if (ids_user(auto_userq, &uidq, &g) == -1) die_sys(111, "unable to look up user ", auto_userq);
  if (ids_user(auto_userl, &uidl, &g) == -1) die_sys(111, "unable to look up user ", auto_userl);
  if (ids_group(auto_groupq, &gidq) == -1) die_sys(111, "unable to look up group ", auto_groupq);
  if (ids_group(auto_groupn, &gidn) == -1) die_sys(111, "unable to look up group ", auto_groupn);
  if (setgroups(1, &gidq) == -1 || setgid(gidq) == -1) die_sys(111, "unable to set group ", auto_groupq);
  umask(077);
  /* every child starts with ordinary signal handling */
  sig_default(SIGPIPE);
  sig_default(SIGCHLD);

  if (logger && pipe2(pl, O_CLOEXEC) == -1) die_sys(111, "unable to make a pipe");
  for (i = 0; i < 6; ++i)
    if (pipe2(p[i], O_CLOEXEC) == -1) die_sys(111, "unable to make a pipe");

  /* p[0]: send -> lspawn, p[1]: lspawn -> send, p[2]/p[3] rspawn,
   * p[4]/p[5] clean */
  if (logger && xfork() == 0) {
    /* the logger's stdout and stderr stay ours (the run script's) */
    int fds[3] = {pl[0], 1, 2};
    arrange(fds, 3);
    run(logger[0], logger, uidl, gidn, true);
  }
  if (xfork() == 0) {
    char *args[] = {"qmail-lspawn", (char *)dfl, 0};
    int fds[3] = {p[0][0], p[1][1], 2};
    arrange(fds, 3);
    /* lspawn stays root (it must become the recipients), gid qmail */
    run("bin/qmail-lspawn", args, 0, gidq, false);
  }
  if (xfork() == 0) {
    char *args[] = {"qmail-rspawn", 0};
    int fds[3] = {p[2][0], p[3][1], 2};
    arrange(fds, 3);
    run("bin/qmail-rspawn", args, uidr, gidq, false);
  }
  if (xfork() == 0) {
    /* qmail-queued stops when its parent (us, qmail-send by then)
     * exits: it watches getppid() */
    char *args[] = {"qmail-queued", self, 0};
    int fds[3] = {open_read("/dev/null"), logger ? pl[1] : 1, 2};
    if (fds[0] == -1) die_sys(111, "unable to open /dev/null");
    arrange(fds, 3);
    run("bin/qmail-queued", args, uidq, gidq, false);
  }
  if (xfork() == 0) {
    char *args[] = {"qmail-clean", 0};
    int fds[3] = {p[4][0], p[5][1], 2};
    arrange(fds, 3);
    run("bin/qmail-clean", args, uidq, gidq, false);
  }
  {
    char *args[] = {"qmail-send", 0};
    int fds[7] = {logger ? pl[1] : 1, p[0][1], p[1][0], p[2][1], p[3][0], p[4][1], p[5][0]};
    arrange(fds, 7);
    run("bin/qmail-send", args, uids, gidq, false);
  }
}
