/* qmail-lspawn: runs local deliveries for qmail-send (see qmail-lspawn(8)
 * and the spawn protocol in INTERNALS.md).
 *
 *   qmail-lspawn defaultdelivery
 *
 * Runs as root with gid qmail, because it must become each recipient.
 * Per delivery it forks a child, still root, that finds the account
 * (users/cdb first, else qmail-getpw run as qmailp/nofiles), becomes that
 * user (never uid 0), enters the home directory and runs qmail-local's
 * code (lib/local.c, no exec) with the message on stdin.  The child's exit code and output become the
 * report.  Doing the lookup in the child keeps a slow password database
 * from holding up the other deliveries.
 *
 * To save an exec per delivery, one "qmail-getpw -s" co-process (also
 * qmailp/nofiles) answers the children's lookups over a pipe pair shared
 * by all of them.  A child holds a POSIX lock on a private memfd around
 * its request and answer (POSIX locks belong to processes, so forked
 * children exclude each other), and the first byte of that memfd is a
 * dirty flag: set before the request, cleared after a complete answer.  A
 * child that finds it set (an exchange died half way, so an answer may
 * be stale) or that times out kills the co-process, so no child can ever
 * read another's answer.  Any trouble with the co-process means the child
 * runs qmail-getpw once itself, as before; the parent starts a new
 * co-process (at most once a second) after reaping the old one. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "fdio.h"
#include "local.h"
#include "num.h"
#include "proc.h"
#include "prot.h"
#include "sa.h"
#include "spawn.h"
#include "users.h"

const char *PROG = "qmail-lspawn";

/* output of qmail-local kept for the report */
#define OUT_MAX 3000
/* six fields from qmail-getpw; a home path is at most PATH_MAX */
#define GETPW_MAX 8192
/* its error message, if any */
#define ERR_MAX 512

/* how long a child waits for the co-process (the lock included) before
 * running qmail-getpw itself: lookups queue behind a slow one */
#define CO_WAIT 10

/* exit codes of the child before qmail-local runs; the report text is
 * what the child printed */
#define CHILD_PERM 100
#define CHILD_TEMP 111

static const char *dfl;
static uid_t uidp;
static gid_t gidn;
/* the environment of qmail-local: small and clean, so nothing of root's
 * reaches the user's programs except a PATH (and sanitizer settings, which
 * only test builds read) */
static sa_t envbuf;
static const char *env[4];

/* the co-process: pid (0 none), request pipe write end, answer pipe read
 * end, the lock memfd and a pidfd (kills it without a pid-reuse race);
 * all close-on-exec */
static pid_t copid;
static int coreq = -1, coans = -1, colock = -1, copidfd = -1;
static time_t colast; /* when it was last started */
static bool cooff;    /* the kernel has no pidfds: never start it */

/* ---- the child (root until become()) ---- */

static _Noreturn void child_fail(int code, const char *s)
{
  (void)!write(1, s, strlen(s));
  _exit(code);
}

struct account {
  sa_t buf; /* the six fields, NUL-separated */
  const char *user, *home, *dash, *ext;
  unsigned long uid, gid;
};

/* reads fd to EOF, keeping at most max + 1 bytes (so that "too much" can
 * be seen) and discarding the rest */
static void readall(int fd, sa_t *x, size_t max)
{
  char b[1024];
  for (;;) {
    ssize_t r = read(fd, b, sizeof b);
    size_t k;
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    k = (size_t)r;
    if (x->len > max) continue;
    if (k > max + 1 - x->len) k = max + 1 - x->len;
    if (!sa_catb(x, b, k)) child_fail(CHILD_TEMP, "Out of memory. (#4.3.0)");
  }
  close(fd);
}

static void getpw_path(char *path, size_t size)
{
  if (strlen(auto_qmail) + sizeof "/bin/qmail-getpw" > size)
    child_fail(CHILD_TEMP, "QMAILHOME is too long. (#4.3.0)");
  memcpy(path, auto_qmail, strlen(auto_qmail));
  memcpy(path + strlen(auto_qmail), "/bin/qmail-getpw", sizeof "/bin/qmail-getpw");
}

/* splits the six fields of a found account in a->buf */
static void fields(struct account *a)
{
  const char *f[6];
  size_t i, k;
  for (i = k = 0; k < 6 && i < a->buf.len; ++k) {
    const char *z = memchr(a->buf.s + i, 0, a->buf.len - i);
    if (!z) break;
    f[k] = a->buf.s + i;
    i = (size_t)(z - a->buf.s) + 1;
  }
  if (k != 6 || i != a->buf.len || !scan_ulong_all(f[1], &a->uid) || !scan_ulong_all(f[2], &a->gid))
    child_fail(CHILD_TEMP, "qmail-getpw gave a malformed answer. (#4.3.0)");
  a->user = f[0];
  a->home = f[3];
  a->dash = f[4];
  a->ext = f[5];
}

static void on_alarm(int sig) { (void)sig; }

/* the channel can no longer be trusted: nobody may use this co-process */
static void co_kill(void)
{
  (void)pidfd_send_signal(copidfd, SIGKILL, 0, 0);
}

static void co_unlock(void)
{
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  (void)fcntl(colock, F_SETLK, &fl);
}

/* asks the co-process: true with a->buf filled if it answered '+'; exits
 * for '-' and '!' like the one-shot exit codes 100 and 111; false if the
 * co-process could not answer (then the caller runs qmail-getpw) */
static bool lookup_co(const char *local, struct account *a)
{
  struct sigaction sa;
  struct flock fl;
  size_t len = strlen(local) + 1, need = 0, nuls = 0, i;
  bool ok = false;
  char dirty;

  if (copid <= 0 || coreq == -1) return false;
  /* a request is written in one piece: below PIPE_BUF, writes to a pipe
   * are atomic */
  if (len > 4000) return false;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART: the alarm must interrupt */
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, 0) == -1) return false;
  sig_ignore(SIGPIPE); /* a dead co-process is EPIPE, not death */
  alarm(CO_WAIT);
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(colock, F_SETLKW, &fl) == -1) goto out; /* timeout: nothing sent yet */
  if (pread(colock, &dirty, 1, 0) == 1 && dirty) {
    co_kill();
    goto unlock;
  }
  dirty = 1;
  if (pwrite(colock, &dirty, 1, 0) != 1) goto unlock;
  if (write(coreq, local, len) != (ssize_t)len) {
    co_kill(); /* gone (EPIPE), or half a request in the pipe */
    goto unlock;
  }
  /* the answer: a status byte, then 6 fields ('+'), 1 reason ('!') or
   * nothing ('-'); more than that would be someone else's */
  a->buf.len = 0;
  for (;;) {
    char b[1024];
    ssize_t r = read(coans, b, sizeof b);
    if (r <= 0) { co_kill(); goto unlock; } /* timeout, EOF or error */
    if (!a->buf.len) {
      if (b[0] == '+') need = 6;
      else if (b[0] == '!') need = 1;
      else if (b[0] != '-') { co_kill(); goto unlock; }
    }
    for (i = a->buf.len ? 0 : 1; i < (size_t)r; ++i)
      if (!b[i]) ++nuls;
    if (a->buf.len + (size_t)r > GETPW_MAX || !sa_catb(&a->buf, b, (size_t)r)) {
      co_kill();
      goto unlock;
    }
    if (nuls == need) {
      /* complete only if it ends right there */
      if (need ? a->buf.s[a->buf.len - 1] != 0 : a->buf.len != 1) { co_kill(); goto unlock; }
      break;
    }
    if (nuls > need) { co_kill(); goto unlock; }
  }
  dirty = 0;
  if (pwrite(colock, &dirty, 1, 0) != 1) { co_kill(); goto unlock; }
  ok = true;
unlock:
  co_unlock();
out:
  alarm(0);
  sig_default(SIGALRM);
  sig_default(SIGPIPE);
  if (!ok) return false;
  if (a->buf.s[0] == '-') child_fail(CHILD_PERM, "Sorry, no mailbox here by that name. (#5.1.1)");
  if (a->buf.s[0] == '!') {
    (void)!write(1, "qmail-getpw: fatal: ", 20);
    (void)!write(1, a->buf.s + 1, strlen(a->buf.s + 1));
    (void)!write(1, "\n", 1);
    child_fail(CHILD_TEMP, "Unable to look up the recipient's account. (#4.3.0)");
  }
  memmove(a->buf.s, a->buf.s + 1, a->buf.len - 1);
  a->buf.len -= 1;
  fields(a);
  return true;
}

/* runs qmail-getpw as qmailp/nofiles and parses its six fields */
static void lookup_getpw(const char *local, struct account *a)
{
  char path[4096];
  sa_t err = SA_INIT;
  int p[2], e[2], w;
  pid_t pid;

  getpw_path(path, sizeof path);
  if (pipe2(p, O_CLOEXEC) == -1 || pipe2(e, O_CLOEXEC) == -1)
    child_fail(CHILD_TEMP, "Unable to make a pipe. (#4.3.0)");
  pid = fork();
  if (pid == -1) child_fail(CHILD_TEMP, "Unable to fork. (#4.3.0)");
  if (pid == 0) {
    const char *args[] = {"qmail-getpw", local, 0};
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* the message is none of its business */
    if (nul == -1 || fd_copy(0, nul) == -1 || fd_copy(1, p[1]) == -1 || fd_copy(2, e[1]) == -1)
      _exit(111);
    if (prot_drop(uidp, gidn) == -1) _exit(111);
    execv(path, (char *const *)args);
    _exit(111);
  }
  close(p[1]);
  close(e[1]);
  /* stdout first, then stderr: qmail-getpw writes at most one short line
   * to stderr, which fits in the pipe while we read stdout */
  readall(p[0], &a->buf, GETPW_MAX);
  readall(e[0], &err, ERR_MAX);
  if (wait_pid(pid, &w) == -1) child_fail(CHILD_TEMP, "Unable to wait for qmail-getpw. (#4.3.0)");
  if (WIFEXITED(w) && WEXITSTATUS(w) == 100)
    child_fail(CHILD_PERM, "Sorry, no mailbox here by that name. (#5.1.1)");
  if (!WIFEXITED(w) || WEXITSTATUS(w) != 0 || a->buf.len > GETPW_MAX) {
    /* say why, in qmail-getpw's words if it gave any */
    (void)!write(1, err.s, err.len);
    child_fail(CHILD_TEMP, "Unable to look up the recipient's account. (#4.3.0)");
  }
  fields(a);
}

/* users/cdb first (it may override and extend the password database),
 * then qmail-getpw: the co-process, or once on its own */
static void lookup(const char *local, struct account *a)
{
  struct users_entry e = USERS_ENTRY_INIT;
  switch (users_lookup(local, strlen(local), &e)) {
  case 1:
    a->buf = e.buf; /* the strings live in e.buf */
    a->user = e.user;
    a->home = e.home;
    a->dash = e.dash;
    a->ext = e.ext;
    a->uid = (unsigned long)e.uid;
    a->gid = (unsigned long)e.gid;
    return;
  case 0:
    if (!lookup_co(local, a)) lookup_getpw(local, a);
    return;
  default:
    child_fail(CHILD_TEMP, "Unable to read users/cdb. (#4.3.0)");
  }
}

static _Noreturn void deliver(const char *local, const char *domain, const char *sender)
{
  struct account a = {SA_INIT, 0, 0, 0, 0, 0, 0};
  const char *args[12];
  int n = 0;

  lookup(local, &a);
  if (a.uid == 0) child_fail(CHILD_TEMP, "Refusing to deliver to uid 0. (#4.3.0)");
  if (a.uid > (uid_t)-2 || a.gid > (gid_t)-2)
    child_fail(CHILD_TEMP, "Account has an impossible uid or gid. (#4.3.0)");
  if (prot_drop((uid_t)a.uid, (gid_t)a.gid) == -1 || getuid() == 0 || geteuid() == 0)
    child_fail(CHILD_TEMP, "Unable to switch to the recipient's account. (#4.3.0)");
  if (chdir(a.home) == -1)
    child_fail(CHILD_TEMP, "Unable to switch to the recipient's home directory. (#4.3.0)");

  args[n++] = "qmail-local";
  args[n++] = "--";
  args[n++] = a.user;
  args[n++] = a.home;
  args[n++] = local;
  args[n++] = a.dash;
  args[n++] = a.ext;
  args[n++] = domain;
  args[n++] = sender;
  args[n++] = dfl;
  args[n] = 0;
  /* qmail-local's code, run here: an exec would cost more than the whole
   * delivery (glibc's start-up alone is half a millisecond of CPU on a
   * virtual machine).  What an exec would have reset is reset by hand:
   * nothing of ours stays open (the other children's pipes, the
   * co-process), the environment is the clean one, and signal handlers
   * are back to their defaults (spawn_child_reset).  Having changed uid
   * from root, this process is not dumpable, so the user cannot ptrace
   * it or open its /proc files. */
  if (close_range(3, ~0U, 0) == -1)
    child_fail(CHILD_TEMP, "Unable to close descriptors. (#4.3.0)");
  environ = (char **)env;
  local_main(n, (char **)args);
}

/* ---- the co-process (parent) ---- */

static void co_close(void)
{
  if (coreq != -1) close(coreq);
  if (coans != -1) close(coans);
  if (colock != -1) close(colock);
  if (copidfd != -1) close(copidfd);
  coreq = coans = colock = copidfd = -1;
}

static void co_reaped(pid_t pid, int w)
{
  (void)w;
  if (pid != copid) return;
  copid = 0;
  co_close();
}

/* starts qmail-getpw -s; on any failure there is simply none, and the
 * children run qmail-getpw themselves */
static void co_start(void)
{
  char path[4096];
  int rq[2] = {-1, -1}, an[2] = {-1, -1};
  time_t now = time(0);
  pid_t pid;

  /* at most once a second, in case it dies at once every time */
  if (now == colast) return;
  colast = now;
  if (strlen(auto_qmail) + sizeof "/bin/qmail-getpw" > sizeof path) return;
  memcpy(path, auto_qmail, strlen(auto_qmail));
  memcpy(path + strlen(auto_qmail), "/bin/qmail-getpw", sizeof "/bin/qmail-getpw");
  colock = memfd_create("qmail-lspawn-getpw", MFD_CLOEXEC);
  if (colock == -1 || pipe2(rq, O_CLOEXEC) == -1 || pipe2(an, O_CLOEXEC) == -1) goto fail;
  pid = fork();
  if (pid == -1) goto fail;
  if (pid == 0) {
    const char *args[] = {"qmail-getpw", "-s", 0};
    spawn_child_reset();
    if (fd_copy(0, rq[0]) == -1 || fd_copy(1, an[1]) == -1) _exit(111);
    if (prot_drop(uidp, gidn) == -1) _exit(111);
    execv(path, (char *const *)args);
    _exit(111);
  }
  close(rq[0]);
  close(an[1]);
  coreq = rq[1];
  coans = an[0];
  copid = pid;
  copidfd = pidfd_open(pid, 0);
  if (copidfd == -1) {
    /* without a pidfd a child could not safely kill it: do without */
    if (errno == ENOSYS) cooff = true;
    kill(pid, SIGKILL);
    close(coreq);
    close(coans);
    coreq = coans = -1;
  }
  return;
fail:
  if (rq[0] != -1) { close(rq[0]); close(rq[1]); }
  if (an[0] != -1) { close(an[0]); close(an[1]); }
  co_close();
}

/* ---- hooks ---- */

static pid_t start(int fdmess, const char *sender, const char *rcpt, int fdout, sa_t *report)
{
  const char *at = strrchr(rcpt, '@');
  sa_t local = SA_INIT;
  pid_t pid;
  if (at == rcpt) {
    /* an empty local part is the trash can */
    if (!sa_copys(report, "Kdid 0+0+0: empty local part, message discarded")) return -1;
    return 0;
  }
  if (!copid && !cooff) co_start();
  pid = fork();
  if (pid != 0) return pid;
  spawn_child_reset();
  proc_name("qmail-local");
  if (fd_copy(0, fdmess) == -1 || fd_copy(1, fdout) == -1 || fd_copy(2, fdout) == -1) _exit(111);
  if (!sa_copyb(&local, rcpt, (size_t)(at - rcpt)) || !sa_0(&local))
    child_fail(CHILD_TEMP, "Out of memory. (#4.3.0)");
  deliver(local.s, at + 1, sender);
}

static void finish(int w, const char *out, size_t len, sa_t *r)
{
  int code = WIFEXITED(w) ? WEXITSTATUS(w) : -1;
  const char *dflt;
  char num[FMT_ULONG];
  /* qmail-local: 0 delivered, 100 permanent failure, anything else
   * (111, the sysexits temporaries 71/74/75, a crash) temporary */
  if (code == 0) {
    r->len = 0;
    if (!sa_append(r, 'K')) goto nomem;
    dflt = "delivered";
  } else if (code == 100) {
    if (!sa_copys(r, "D")) goto nomem;
    dflt = "Permanent failure with no reason given. (#5.3.0)";
  } else {
    if (!sa_copys(r, "Z")) goto nomem;
    dflt = "Temporary failure with no reason given. (#4.3.0)";
    if (code == -1) {
      num[fmt_ulong(num, WIFSIGNALED(w) ? (unsigned long)WTERMSIG(w) : 0)] = 0;
      if (!sa_cats(r, "qmail-local crashed (signal ") || !sa_cats(r, num) || !sa_cats(r, "). (#4.3.0)"))
        goto nomem;
      if (len && !sa_append(r, '\n')) goto nomem;
    }
  }
  if (len ? !sa_catb(r, out, len) : (r->len == 1 && !sa_cats(r, dflt))) goto nomem;
  return;
nomem:
  sa_copys(r, "Zout of memory. (#4.3.0)");
}

static bool envset(const char *k, const char *v)
{
  if (!v) return true;
  return sa_cats(&envbuf, k) && sa_append(&envbuf, '=') && sa_cats(&envbuf, v) && sa_0(&envbuf);
}

int main(int argc, char **argv)
{
  spawn_hooks_t h = {start, finish, OUT_MAX, 0};
  const char *path = getenv("PATH");
  size_t i, n;
  if (argc != 2) die_usage("qmail-lspawn defaultdelivery");
  dfl = argv[1];
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  if (ids_user(auto_userp, &uidp, 0) == -1) die_sys(111, "unable to look up user ", auto_userp);
  if (ids_group(auto_groupn, &gidn) == -1) die_sys(111, "unable to look up group ", auto_groupn);
  if (!envset("PATH", path && *path ? path : "/usr/local/bin:/usr/bin:/bin") ||
      !envset("ASAN_OPTIONS", getenv("ASAN_OPTIONS")) || !envset("UBSAN_OPTIONS", getenv("UBSAN_OPTIONS")))
    die_nomem();
  for (n = i = 0; i < envbuf.len; i += strlen(envbuf.s + i) + 1) env[n++] = envbuf.s + i;
  /* glibc loads /etc/localtime on the first gmtime_r of a process; done
   * here once, each child inherits it instead of reading it again */
  tzset();
  spawn_on_other(co_reaped);
  return spawn_main(&h);
}
