/* qmail-queued: qmail-queue without an exec per message.
 *
 * Started by qmail-start as qmailq (gid qmail), it listens on the Unix
 * socket QMAILHOME/sock/qmail-queue.  A client (the qq client of
 * lib/queue.c: qmail-smtpd, qmail-inject, sendmail, qmail-local forwards,
 * qmail-send's bounces) connects and passes, with SCM_RIGHTS, the read
 * ends of the two pipes it would otherwise have put on a qmail-queue's
 * fds 0 and 1.  For each connection a forked child takes the caller's uid
 * from SO_PEERCRED and runs exactly qmail-queue's code (lib/qqwrite.c),
 * then answers on the socket: the exit code, and the queue id after a 0.
 *
 * Why: on the virtual machines we measured, starting a dynamically linked
 * program costs about 0.6 ms of CPU (most of it glibc's CPU probing,
 * which traps to the hypervisor); a fork of this small process costs a
 * tenth of that.  Nothing else changes: the same checks, the same files,
 * the same fsyncs, the same exit codes, one process per message, so one
 * bad message cannot disturb another.  The parent never reads a byte a
 * client sent.
 *
 * The socket is as open as bin/qmail-queue, which anyone may run: mode
 * 0666 in a directory only qmailq (and root) can write, so nobody else
 * can put a socket of their own there.  When this daemon is not running
 * (delivery stopped, too many children, an old socket left behind), the
 * client finds nobody listening and execs bin/qmail-queue as before.
 *
 * It stops with the delivery service: qmail-start is its parent and
 * becomes qmail-send, and when getppid() changes (checked every second)
 * this exits.  A death signal cannot do it: qmail-send's uid may not
 * signal ours.  Children in progress finish. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "fdio.h"
#include "proc.h"
#include "prot.h"
#include "qqwrite.h"
#include "queue.h"

const char *PROG = "qmail-queued";

#define SOCKET "sock/qmail-queue"
/* children at once; beyond this the backlog fills and clients fall back
 * to exec'ing qmail-queue themselves */
#define MAXCHILD 200
/* a client has this long to pass its pipes */
#define PASSTIME 60000

static uid_t uida = (uid_t)-1, uidd = (uid_t)-1, uids = (uid_t)-1;
/* a handler, so that SIGCHLD interrupts ppoll; the reaping is done after */
static void onchld(int sig)
{
  (void)sig;
}

/* the words qmail-queue's Received line uses for our own accounts */
static const char *invoked_how(uid_t uid)
{
  if (uid == uida) return "by alias";
  if (uid == uidd) return "from network";
  if (uid == uids) return "for bounce";
  return 0;
}

static void lookup(const char *name, uid_t *uid)
{
  gid_t g;
  if (ids_user(name, uid, &g) == -1) *uid = (uid_t)-1;
}

/* in the child: the pipes, the caller, then qmail-queue's work */
static _Noreturn void serve(int c)
{
  struct pollfd p = {.fd = c, .events = POLLIN};
  struct ucred cred;
  socklen_t cl = sizeof cred;
  char byte;
  int fds[FD_PASS_MAX], n;

  if (poll(&p, 1, PASSTIME) != 1) _exit(QQ_READ);
  if (fd_recv(c, &byte, 1, fds, FD_PASS_MAX, &n, 0) != 1) _exit(QQ_READ);
  if (n != 2) { /* exactly two, or nothing is done */
    while (n > 0) close(fds[--n]);
    byte = QQ_READ;
    (void)!write(c, &byte, 1);
    _exit(QQ_READ);
  }
  if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == -1) {
    byte = QQ_BUG;
    (void)!write(c, &byte, 1);
    _exit(QQ_BUG);
  }
  if (dup2(fds[0], 0) == -1 || dup2(fds[1], 1) == -1) {
    byte = QQ_NOMEM;
    (void)!write(c, &byte, 1);
    _exit(QQ_NOMEM);
  }
  close(fds[0]);
  close(fds[1]);
  /* the go-ahead: from here on the client waits for our answer, before
   * it any trouble makes it run qmail-queue itself */
  byte = QUEUED_ACK;
  if (write(c, &byte, 1) != 1) _exit(QQ_READ);
  qqwrite(cred.uid, invoked_how(cred.uid), c);
}

int main(int argc, char **argv)
{
  struct sockaddr_un sa;
  struct pollfd p;
  sigset_t chld, none;
  const struct timespec second = {1, 0};
  pid_t parent = getppid();
  unsigned children = 0;
  int s;

  (void)argv;
  if (argc > 1) die_usage("qmail-queued");
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  lookup(auto_usera, &uida);
  lookup(auto_userd, &uidd);
  lookup(auto_users, &uids);

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, SOCKET, sizeof SOCKET);
  s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s == -1) die_sys(111, "unable to create a socket");
  if (unlink(SOCKET) == -1 && errno != ENOENT) die_sys(111, "unable to remove ", SOCKET);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) == -1) die_sys(111, "unable to bind ", SOCKET);
  if (chmod(SOCKET, 0666) == -1) die_sys(111, "unable to chmod ", SOCKET);
  if (listen(s, 64) == -1) die_sys(111, "unable to listen on ", SOCKET);

  /* SIGCHLD is let in only while we wait, so it always interrupts a wait */
  sigemptyset(&none);
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, 0);
  sig_catch(SIGCHLD, onchld);
  sig_ignore(SIGPIPE);

  for (;;) {
    int wstat, c, r;
    pid_t pid;
    while (children && wait_nohang(&wstat) > 0) children--;
    p.fd = s;
    p.events = POLLIN;
    if (getppid() != parent) _exit(0);
    /* at the limit, wait for a child only */
    r = ppoll(&p, children < MAXCHILD ? 1 : 0, &second, &none);
    if (r == -1 && errno != EINTR) die_sys(111, "unable to poll");
    if (r <= 0) continue;
    c = accept4(s, 0, 0, SOCK_CLOEXEC);
    if (c == -1) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        ppoll(0, 0, &(struct timespec){0, 100000000}, &none);
      continue;
    }
    pid = fork();
    if (pid == 0) {
      close(s);
      sig_default(SIGCHLD);
      sig_default(SIGPIPE);
      serve(c);
    }
    if (pid == -1) { /* no go-ahead: the client runs qmail-queue itself */
      char byte = QQ_NOMEM;
      (void)!write(c, &byte, 1);
    } else
      children++;
    close(c);
  }
}
