/* qmail-rspawn: runs remote deliveries for qmail-send (see qmail-rspawn(8)
 * and the spawn protocol in INTERNALS.md).  Runs as qmailr, gid qmail.
 *
 * Per delivery: one of our long-lived workers (below) runs qmail-remote's
 * code (lib/remote.c, no exec), or a forked child execs $QMAILREMOTE, as
 * "qmail-remote host sender recipient", message on stdin, its stdout
 * collected.  qmail-remote answers with NUL-terminated records: one
 * per recipient (r accepted, h permanently rejected, s temporarily
 * rejected) and then one for the message (K, Z or D), each with text.
 * Those become one K/Z/D report. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "remote.h"
#include "sa.h"
#include "spawn.h"
#include "tcpto.h"
#include "workers.h"

const char *PROG = "qmail-rspawn";

/* qmail-remote's records carry the remote server's replies; qmail-send
 * keeps at most 10000 bytes of a report */
#define OUT_MAX SPAWN_REPORT_MAX

/* $QMAILREMOTE: a program to exec instead of running qmail-remote's code
 * here (tests use it for fakes); empty for the built-in one */
static sa_t remote;

/* ---- the connection cache ----
 * A child whose message was accepted hands its SMTP connection back (see
 * remote.h) on the datagram socket hb[1]; we keep it, keyed by the host
 * the child was given (the recipient's domain), for CACHE_IDLE seconds,
 * and give it to the next delivery for that host.  A connection is never
 * shared: it is either here, idle, or with exactly one child. */
#define CACHE_MAX 100
#define CACHE_IDLE 5

struct conn {
  int fd; /* -1: free entry */
  time_t idle;
  remote_conn_t c;
};
static struct conn cache[CACHE_MAX];
static int hb[2] = {-1, -1};

static void conn_drop(struct conn *e)
{
  /* polite and non-blocking; nothing waits for the answer */
  (void)!send(e->fd, "QUIT\r\n", 6, MSG_DONTWAIT | MSG_NOSIGNAL);
  close(e->fd);
  e->fd = -1;
}

static void on_handback(void)
{
  for (;;) {
    remote_conn_t c;
    struct conn *e = 0;
    int fds[FD_PASS_MAX], nfd, i;
    ssize_t r = fd_recv(hb[0], &c, sizeof c, fds, FD_PASS_MAX, &nfd, MSG_DONTWAIT);
    if (r == -1) return; /* EAGAIN: all read */
    /* exactly one socket with a whole record, or nothing is kept */
    if (r != (ssize_t)sizeof c || nfd != 1 || !memchr(c.host, 0, sizeof c.host) ||
        !memchr(c.ip, 0, sizeof c.ip)) {
      for (i = 0; i < nfd; ++i) close(fds[i]);
      continue;
    }
    for (i = 0; i < CACHE_MAX; ++i) {
      if (cache[i].fd == -1) { e = &cache[i]; break; }
      if (!e || cache[i].idle < e->idle) e = &cache[i];
    }
    if (e->fd != -1) conn_drop(e); /* full: the longest idle one goes */
    e->fd = fds[0];
    e->idle = time(0);
    e->c = c;
  }
}

/* closes what has been idle too long; the ms until the next one is due */
static int cache_tick(void)
{
  time_t now = time(0), next = 0;
  int i;
  for (i = 0; i < CACHE_MAX; ++i) {
    struct conn *e = &cache[i];
    time_t due;
    if (e->fd == -1) continue;
    due = e->idle + CACHE_IDLE;
    if (e->c.born + REMOTE_CONN_AGE < due) due = e->c.born + REMOTE_CONN_AGE;
    if (due <= now) { conn_drop(e); continue; }
    if (!next || due < next) next = due;
  }
  return next ? (int)(next - now) * 1000 : -1;
}

/* an idle connection made for host, taken out of the cache; or 0 */
static struct conn *cache_take(const char *host)
{
  struct conn *best = 0;
  int i;
  for (i = 0; i < CACHE_MAX; ++i)
    if (cache[i].fd != -1 && !strcasecmp(cache[i].c.host, host) && (!best || cache[i].idle > best->idle))
      best = &cache[i];
  return best;
}

/* ---- workers ----
 * A fork and exit per delivery cost more CPU than the delivery itself.
 * So the built-in qmail-remote runs in workers: children forked once,
 * each running one delivery at a time, each delivery in exactly the
 * state a fresh qmail-remote has (remote_run).  They are what the
 * per-delivery children were: qmailr, our stderr for the log, nothing
 * else of ours open.  A job is one datagram on the worker's socket: the
 * connection record, then host, sender and recipient, each NUL-terminated,
 * with the message, the output pipe and maybe a cached connection as
 * SCM_RIGHTS.  The worker ends the delivery by closing the output pipe.
 * A worker retires after WORKER_USES deliveries (bounding what one run
 * could leave behind) or WORKER_IDLE seconds without work.  The pool is
 * lib/workers. */
#define WORKER_USES 200
#define WORKER_IDLE 30
#define JOB_MAX (sizeof(remote_conn_t) + 256 + 2 * 4000 + 8)

static worker_t slots[255];
static void worker_child(int js);
static workers_t workers = {slots, sizeof slots / sizeof slots[0], WORKER_USES, WORKER_IDLE,
                            worker_child};
static int useworkers; /* the built-in qmail-remote, with a handback socket */

static _Noreturn void worker_main(int js, int handback)
{
  static char b[JOB_MAX];
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nul == -1) _exit(111);
  for (;;) {
    int fds[FD_PASS_MAX], nfd;
    remote_conn_t c;
    const char *f[3];
    size_t at = sizeof c;
    ssize_t r = fd_recv(js, b, sizeof b, fds, FD_PASS_MAX, &nfd, 0);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) _exit(0);
    /* a job from our parent; a malformed one is a bug: end, reporting
     * nothing, which makes the delivery a temporary failure */
    if (nfd < 2 || nfd > 3 || (size_t)r < at) _exit(111);
    memcpy(&c, b, sizeof c);
    for (int i = 0; i < 3; ++i) {
      const char *z = memchr(b + at, 0, (size_t)r - at);
      if (!z) _exit(111);
      f[i] = b + at;
      at = (size_t)(z - b) + 1;
    }
    if (fd_move(0, fds[0]) == -1 || fd_move(1, fds[1]) == -1) _exit(111);
    {
      static char name[] = "qmail-remote";
      char *args[] = {name, (char *)f[0], (char *)f[1], (char *)f[2], 0};
      remote_reuse(handback, nfd == 3 ? fds[2] : -1, nfd == 3 ? &c : 0);
      remote_run(4, args);
    }
    /* closes the output pipe: qmail-rspawn learns the delivery is over */
    if (fd_copy(0, nul) == -1 || fd_copy(1, nul) == -1) _exit(111);
  }
}

/* a new worker: only stderr, the handback socket (3) and the job socket
 * (4) stay; 0 and 1, qmail-send's pipes, must not stay open here: they
 * become /dev/null until a job brings its own */
static void worker_child(int js)
{
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  int h = hb[1] == -1 ? -1 : fcntl(hb[1], F_DUPFD_CLOEXEC, 10);
  int j = fcntl(js, F_DUPFD_CLOEXEC, 10);
  spawn_child_reset();
  proc_name("qmail-remote");
  if (nul == -1 || j == -1 || fd_copy(0, nul) == -1 || fd_copy(1, nul) == -1 ||
      fd_move(4, j) == -1 || (h != -1 && fd_move(3, h) == -1) ||
      (h == -1 && close(3) == -1 && errno != EBADF) || close_range(5, ~0U, 0) == -1)
    _exit(111);
  worker_main(4, h != -1 ? 3 : -1);
}

/* hands the job to an idle worker (a new one if none waits): its pid, or
 * 0 if no worker could take it (then a child of its own does it) */
static pid_t worker_job(int fdmess, const char *host, const char *sender, const char *rcpt,
                        int fdout, struct conn *e)
{
  static char b[JOB_MAX];
  remote_conn_t c;
  size_t n = sizeof c, hl = strlen(host) + 1, sl = strlen(sender) + 1, rl = strlen(rcpt) + 1;
  int fds[3] = {fdmess, fdout, e ? e->fd : -1};
  if (hl > 256 || sl > 4000 || rl > 4000) return 0; /* spawn.c bounds them lower */
  memset(&c, 0, sizeof c);
  if (e) c = e->c;
  memcpy(b, &c, sizeof c);
  memcpy(b + n, host, hl);
  memcpy(b + n + hl, sender, sl);
  memcpy(b + n + hl + sl, rcpt, rl);
  n += hl + sl + rl;
  {
    worker_t *w = workers_job(&workers, b, n, fds, e ? 3 : 2);
    return w ? w->pid : 0;
  }
}

static void worker_ended(pid_t pid)
{
  worker_t *w = workers_find(&workers, pid);
  if (w) workers_done(&workers, w);
}

static void worker_gone(pid_t pid, int wstat)
{
  worker_t *w = workers_find(&workers, pid);
  (void)wstat;
  if (w) workers_drop(w);
}

static int tick(void)
{
  int a = cache_tick(), b = workers_tick(&workers, time(0));
  return a == -1 ? b : b == -1 ? a : a < b ? a : b;
}

static pid_t start(int fdmess, const char *sender, const char *rcpt, int fdout, sa_t *report)
{
  const char *host = strrchr(rcpt, '@') + 1; /* the driver checked the '@' */
  const char *args[] = {"qmail-remote", host, sender, rcpt, 0};
  static const char fail[] = "ZUnable to run qmail-remote. (#4.3.0)";
  struct conn *e;
  pid_t pid;
  if (remote.len && access(remote.s, X_OK) == -1 && errno == ENOENT) {
    if (!sa_copys(report, "ZSorry, remote delivery is not available: $QMAILREMOTE is not "
                          "installed. (#4.3.0)"))
      return -1;
    return 0;
  }
  e = remote.len ? 0 : cache_take(host);
  if (useworkers) {
    pid = worker_job(fdmess, host, sender, rcpt, fdout, e);
    if (pid > 0) {
      if (e) { close(e->fd); e->fd = -1; } /* the worker's now */
      spawn_by_eof();
      return pid;
    }
  }
  pid = fork();
  if (pid != 0) {
    if (pid > 0 && e) { close(e->fd); e->fd = -1; } /* the child's now */
    return pid;
  }
  spawn_child_reset();
  if (!remote.len) proc_name("qmail-remote");
  /* stderr stays ours (the log): only records go through the pipe */
  if (fd_copy(0, fdmess) == -1 || fd_copy(1, fdout) == -1) _exit(111);
  if (!remote.len) {
    /* qmail-remote's code, run here: an exec costs more CPU than a
     * delivery.  Nothing else of ours stays open, as after an exec: only
     * the handback socket (3) and the offered connection (4). */
    int h = hb[1] == -1 ? -1 : fcntl(hb[1], F_DUPFD_CLOEXEC, 10);
    int k = e ? fcntl(e->fd, F_DUPFD_CLOEXEC, 10) : -1;
    if ((h != -1 && fd_copy(3, h) == -1) || (k != -1 && fd_copy(4, k) == -1) ||
        (h == -1 && close(3) == -1 && errno != EBADF) || (k == -1 && close(4) == -1 && errno != EBADF) ||
        close_range(5, ~0U, 0) == -1) {
      (void)!write(1, fail, sizeof fail);
      _exit(111);
    }
    remote_reuse(h != -1 ? 3 : -1, k != -1 ? 4 : -1, e ? &e->c : 0);
    remote_main(4, (char **)args);
  }
  execv(remote.s, (char *const *)args);
  (void)!write(1, fail, sizeof fail); /* with its NUL: a complete record */
  _exit(111);
}

static void finish(int w, const char *out, size_t len, sa_t *r)
{
  const char *rec = 0, *msg = 0; /* first recipient record, message record */
  size_t reclen = 0, msglen = 0, i = 0;
  char letter;

  while (i < len) {
    const char *z = memchr(out + i, 0, len - i);
    size_t n;
    if (!z) break; /* an unterminated record is not a record */
    n = (size_t)(z - (out + i));
    if (n) {
      char c = out[i];
      if ((c == 'r' || c == 'h' || c == 's') && !rec) { rec = out + i; reclen = n; }
      if (c == 'K' || c == 'Z' || c == 'D') { msg = out + i; msglen = n; }
    }
    i += n + 1;
  }
  r->len = 0;
  if (!msg && !rec) {
    const char *t = WIFEXITED(w) ? "Zqmail-remote gave no result. (#4.3.0)"
                                 : "Zqmail-remote crashed. (#4.3.0)";
    if (!sa_copys(r, t)) goto nomem;
    return;
  }
  if (rec && rec[0] == 'h') letter = 'D';
  else if (rec && rec[0] == 's') letter = 'Z';
  else if (!msg) letter = 'Z';
  else if (msg[0] == 'K' && !rec) letter = 'Z'; /* success, but for whom? */
  else letter = msg[0];
  if (!sa_append(r, letter)) goto nomem;
  /* as qmail's: the recipient's text, then the message's ("Giving up on
   * 1.2.3.4." after a refusal).  Each text is LF-ended lines; one from
   * a $QMAILREMOTE that is not gets an LF, so the two stay apart */
  if (rec && reclen > 1 && !sa_catb(r, rec + 1, reclen - 1)) goto nomem;
  if (msg && msglen > 1) {
    if (r->len > 1 && r->s[r->len - 1] != '\n' && !sa_append(r, '\n')) goto nomem;
    if (!sa_catb(r, msg + 1, msglen - 1)) goto nomem;
  }
  if (r->len == 1) {
    const char *t = letter == 'K' ? "delivered" : letter == 'D'
      ? "Permanent failure with no reason given. (#5.3.0)"
      : "Temporary failure with no reason given. (#4.3.0)";
    if (letter == 'Z' && msg && msg[0] == 'K' && !rec)
      t = "qmail-remote reported success without a recipient result. (#4.3.0)";
    if (!sa_cats(r, t)) goto nomem;
  }
  return;
nomem:
  sa_copys(r, "Zout of memory. (#4.3.0)");
}

int main(int argc, char **argv)
{
  spawn_hooks_t h = {start, finish, OUT_MAX, worker_ended};
  /* rspawn runs as qmailr, so a path from its environment cannot give
   * anybody more than qmailr's rights */
  const char *env = getenv("QMAILREMOTE");
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  /* as qmail's: a restart forgets the hosts that timed out (admins
   * restart qmail-send for that); the file is only a cache, so trouble
   * with it does not stop us */
  (void)tcpto_clear("queue/lock/tcpto");
  if (env && *env && (!sa_copys(&remote, env) || !sa_0(&remote))) die_nomem();
  for (size_t i = 0; i < CACHE_MAX; ++i) cache[i].fd = -1;
  /* no cache for an exec'd $QMAILREMOTE, nor if the socket cannot be had
   * (then every delivery connects afresh, as qmail's always did) */
  if (!remote.len && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, hb) == 0) {
    if (ndelay_on(hb[0]) == 0) {
      spawn_on_extra(hb[0], on_handback, tick);
      spawn_on_other(worker_gone);
      useworkers = 1;
    } else {
      close(hb[0]);
      close(hb[1]);
      hb[0] = hb[1] = -1;
    }
  }
  {
    int r = spawn_main(&h);
    for (size_t i = 0; i < CACHE_MAX; ++i)
      if (cache[i].fd != -1) conn_drop(&cache[i]);
    workers_end(&workers);
    return r;
  }
}
