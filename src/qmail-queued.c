/* qmail-queued: qmail-queue without an exec per message.
 *
 * Started by qmail-start as qmailq (gid qmail), it listens on the Unix
 * socket QMAILHOME/sock/qmail-queue.  A client (the qq client of
 * lib/queue.c: qmail-smtpd, qmail-inject, sendmail, qmail-local forwards,
 * qmail-send's bounces) connects and passes, with SCM_RIGHTS, the read
 * ends of the two pipes it would otherwise have put on a qmail-queue's
 * fds 0 and 1.  A worker takes the caller's uid from SO_PEERCRED and runs
 * exactly qmail-queue's code (lib/qqwrite.c), then answers on the socket:
 * the exit code, and the queue id after a 0.
 *
 * Why: on the virtual machines we measured, starting a dynamically linked
 * program costs about 0.6 ms of CPU (most of it glibc's CPU probing,
 * which traps to the hypervisor); even a fork and exit per message cost
 * more CPU than the message's own work, fsyncs aside.  Nothing else
 * changes: the same checks, the same files, the same fsyncs, the same
 * exit codes.  The parent never reads a byte a client sent.
 *
 * Workers: children forked as needed (at most MAXCHILD), each queueing
 * one message at a time.  The parent accepts a connection and passes it
 * to an idle worker in one datagram on the worker's job socket; the worker
 * answers with one byte there when that connection is done.  A worker
 * goes on to another message only after a success, from which qqwrite
 * returns with nothing of the message left open or pending; any failure
 * ends the worker (qqwrite exits with qmail-queue's code), so each message
 * starts as a fresh process would, in a fresh thread.  A worker retires
 * after WORKER_USES messages or WORKER_IDLE seconds without one.  One
 * ordinary uid may keep at most PERUID workers busy (SO_PEERCRED, read by
 * the parent at accept): beyond that its connections get no go-ahead.
 *
 * The socket is as open as bin/qmail-queue, which anyone may run: mode
 * 0666 in a directory only qmailq (and root) can write, so nobody else
 * can put a socket of their own there.  When this daemon is not running
 * (delivery stopped, too many workers, an old socket left behind), the
 * client finds nobody listening and execs bin/qmail-queue as before.
 *
 * It stops with the delivery service: qmail-start is its parent and
 * becomes qmail-send, and when getppid() changes (checked every second)
 * this exits.  A death signal cannot do it: qmail-send's uid may not
 * signal ours.  Workers finish the message in hand, then see their job
 * socket's end of file and exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "prot.h"
#include "qqwrite.h"
#include "queue.h"
#include "workers.h"

const char *PROG = "qmail-queued";

#define SOCKET "sock/qmail-queue"
/* workers at once; beyond this the backlog fills and clients fall back
 * to exec'ing qmail-queue themselves */
#define MAXCHILD 200
/* busy workers one uid may hold, but for root and our own accounts
 * (qmail-smtpd's is bounded by tcpserver's -c): a user who opens more
 * connections than that cannot starve the others; the excess is refused
 * at once and those clients run qmail-queue themselves */
#define PERUID 20
#define WORKER_USES 1000
#define WORKER_IDLE 30
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

/* in a worker: the pipes, the caller, then qmail-queue's work; returns
 * only when the message is queued */
static void serve(int c)
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

static void *serve_thread(void *arg)
{
  serve(*(int *)arg);
  return 0;
}

/* fd 3 is the job socket; 0 and 1 are /dev/null between messages.  Each
 * message is queued in a thread of its own: its thread id, drawn from the
 * pids' number space, is the message's "qp", so that two messages queued
 * at the same time never share one, as with a process per message.  A
 * worker that cannot start a thread ends, and the client, with no
 * go-ahead, runs qmail-queue itself. */
static _Noreturn void worker_main(void)
{
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nul == -1) _exit(111);
  for (;;) {
    int fds[FD_PASS_MAX], n;
    char byte;
    ssize_t r = fd_recv(3, &byte, 1, fds, FD_PASS_MAX, &n, 0);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) _exit(0);
    if (n != 1) _exit(111); /* from our parent: a bug */
    {
      pthread_t t;
      if (thread_start(&t, 1024 * 1024, serve_thread, &fds[0]) != 0 || pthread_join(t, 0) != 0)
        _exit(111);
    }
    close(fds[0]);
    if (fd_copy(0, nul) == -1 || fd_copy(1, nul) == -1) _exit(111);
    byte = 0;
    if (write(3, &byte, 1) != 1) _exit(0);
  }
}

/* a new worker: nothing of ours but stderr and the job socket (3) */
static void worker_child(int js)
{
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  sig_default(SIGCHLD);
  sig_default(SIGPIPE);
  if (nul == -1 || fd_copy(0, nul) == -1 || fd_copy(1, nul) == -1 || fd_move(3, js) == -1 ||
      close_range(4, ~0U, 0) == -1)
    _exit(111);
  worker_main();
}

static worker_t slots[MAXCHILD];
static workers_t workers = {slots, MAXCHILD, WORKER_USES, WORKER_IDLE, worker_child};
static uid_t served[MAXCHILD]; /* the caller of each busy worker */

/* may a connection from this peer have a worker? */
static bool may_serve(int c, uid_t *uid)
{
  struct ucred cred;
  socklen_t cl = sizeof cred;
  unsigned n = 0;
  if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == -1) return false;
  *uid = cred.uid;
  if (cred.uid == 0 || invoked_how(cred.uid)) return true;
  for (size_t i = 0; i < MAXCHILD; ++i)
    if (slots[i].pid && slots[i].busy && served[i] == cred.uid) ++n;
  return n < PERUID;
}

/* a busy worker's socket is readable: done, or dead */
static void worker_done(worker_t *w)
{
  char byte;
  if (read(w->js, &byte, 1) != 1) workers_drop(w);
  else workers_done(&workers, w);
}

/* one daemon per queue: the socket's directory is flocked for our life,
 * so that a second qmail-start on this queue (whose qmail-send will fail:
 * one is running) does not take the socket away from the first.  The one
 * of a qmail-send that just exited lets go within a second: wait up to
 * LOCK_WAIT seconds for it, as long as our own parent lives */
#define LOCK_WAIT 5
static void lock_sockdir(pid_t parent)
{
  const struct timespec tenth = {0, 100000000};
  int fd = open("sock", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1) die_sys(111, "unable to open sock");
  for (int i = 0; lock_exnb(fd) == -1; i++) {
    if (errno != EWOULDBLOCK) die_sys(111, "unable to lock sock");
    if (getppid() != parent) _exit(0);
    if (i == LOCK_WAIT * 10) die_temp("another qmail-queued serves this queue");
    nanosleep(&tenth, 0);
  }
  /* fd stays open, and locked, until we exit; workers close it */
}

int main(int argc, char **argv)
{
  struct sockaddr_un sa;
  static struct pollfd p[1 + MAXCHILD];
  static worker_t *polled[1 + MAXCHILD];
  sigset_t chld, none;
  const struct timespec second = {1, 0};
  pid_t parent = getppid();
  unsigned long u;
  int s;

  /* qmail-start names the process we serve (itself, qmail-send by now):
   * if that one failed to start and is gone already, so are we */
  if (argc > 2 || (argc == 2 && !scan_ulong_all(argv[1], &u))) die_usage("qmail-queued [pid]");
  if (argc == 2 && (pid_t)u != parent) _exit(0);
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  lock_sockdir(parent);
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
    nfds_t n = 0;
    /* the dead are known by their sockets; this only reaps them */
    while (wait_nohang(&wstat) > 0) {}
    if (getppid() != parent) _exit(0);
    workers_tick(&workers, time(0));
    for (size_t i = 0; i < MAXCHILD; ++i) {
      if (!slots[i].pid || !slots[i].busy) continue;
      polled[n] = &slots[i];
      p[n].fd = slots[i].js;
      p[n++].events = POLLIN;
    }
    /* with every worker busy, wait for one only */
    if (n < MAXCHILD) {
      polled[n] = 0;
      p[n].fd = s;
      p[n++].events = POLLIN;
    }
    r = ppoll(p, n, &second, &none);
    if (r == -1 && errno != EINTR) die_sys(111, "unable to poll");
    if (r <= 0) continue;
    for (nfds_t i = 0; i < n; ++i) {
      char byte = 0;
      uid_t uid;
      worker_t *w;
      if (!p[i].revents) continue;
      if (polled[i]) {
        worker_done(polled[i]);
        continue;
      }
      c = accept4(s, 0, 0, SOCK_CLOEXEC);
      if (c == -1) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
          ppoll(0, 0, &(struct timespec){0, 100000000}, &none);
        continue;
      }
      w = may_serve(c, &uid) ? workers_job(&workers, &byte, 1, &c, 1) : 0;
      if (w) {
        served[w - slots] = uid;
      } else {
        /* no go-ahead: the client runs qmail-queue itself */
        byte = QQ_NOMEM;
        (void)!write(c, &byte, 1);
      }
      close(c);
    }
  }
}
