/* qqwrite: see qqwrite.h */
#include "qqwrite.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "date.h"
#include "envelope.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "qsum.h"
#include "queue.h"
#include "sa.h"

/* A run that hangs (a stalled injector) gives up after a day, well before
 * the 36 hours after which qmail-send and qmail-clean treat its leftovers
 * as dead and remove them. */
#define DEADLINE 86400
/* big reads and writes: the message is copied in 64 KiB blocks */
#define IOSIZE 65536

/* "mess/" + N + "/" + id: two unsigned longs and a short directory name */
#define NAMESIZE (8 + 2 * FMT_ULONG)

static char pidfn[NAMESIZE + FMT_ULONG], messfn[NAMESIZE], intdfn[NAMESIZE],
    todofn[NAMESIZE];
/* what exists and must go if we fail before the commit point */
static bool madepid, mademess, madeintd;
/* qmail-queued's client, or -1 */
static int replyfd = -1;
/* our pid or thread id: the Received line's, the envelope's and the log's qp */
static unsigned long qp;

static char iospace[IOSIZE];  /* message copy; later the intd writer */
static char envspace[IOSIZE]; /* envelope reader */
/* this system's boot id ("" if /proc gives none), read at the first run */
static char bootid[QSUM_BOOTID + 1];
static bool bootid_read;

/* the one-byte answer to qmail-queued's client (async-signal-safe) */
static void reply_code(int code)
{
  unsigned char c = (unsigned char)code;
  if (replyfd != -1) (void)!write(replyfd, &c, 1);
}

static _Noreturn void fail(int code)
{
  /* intd first: a todo link can never be made from a missing intd, and the
   * mess file goes last, so no state ever has an envelope without its
   * message */
  if (madeintd) unlink(intdfn);
  if (mademess) unlink(messfn);
  if (madepid) unlink(pidfn);
  reply_code(code);
  _exit(code);
}

static void timeout(int sig)
{
  (void)sig;
  /* no cleanup: the alarm may fire anywhere, even between the link to
   * todo and the end; leftovers are removed by the 36 h sweeps */
  reply_code(QQ_TIMEOUT);
  _exit(QQ_TIMEOUT);
}

/* read(2) that also copes with a caller who left the fd non-blocking */
static ssize_t read_op(int fd, void *p, size_t n)
{
  for (;;) {
    ssize_t r = read(fd, p, n);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      struct pollfd pfd = {.fd = fd, .events = POLLIN};
      if (poll(&pfd, 1, -1) == -1 && errno != EINTR) return -1;
      continue;
    }
    return -1;
  }
}

/* dir/N/id, with the size checked although NAMESIZE always suffices */
static void mkname(char *out, size_t size, const char *dir, unsigned long id)
{
  size_t dl = strlen(dir), n = 0;
  if (dl + 2 * FMT_ULONG + 3 > size) fail(QQ_BUG);
  memcpy(out, dir, dl);
  n = dl;
  out[n++] = '/';
  n += fmt_ulong(out + n, id % auto_split);
  out[n++] = '/';
  n += fmt_ulong(out + n, id);
  out[n] = 0;
}

static size_t received(char *out, size_t size, unsigned long pid, uid_t uid,
                       const char *how, time_t now)
{
  char date[DATE_LEN];
  char num[FMT_ULONG];
  size_t n = 0;
  date_rfc5322(date, now);
#define ADD(s, l) do { size_t l_ = (l); if (l_ > size - n) fail(QQ_BUG); \
    memcpy(out + n, (s), l_); n += l_; } while (0)
#define ADDS(s) ADD((s), strlen(s))
  ADDS("Received: (qmail ");
  ADD(num, fmt_ulong(num, pid));
  ADDS(" invoked ");
  if (how) ADDS(how);
  else {
    ADDS("by uid ");
    ADD(num, fmt_ulong(num, (unsigned long)uid));
  }
  ADDS("); ");
  ADDS(date);
  ADDS("\n");
#undef ADDS
#undef ADD
  return n;
}

/* Four syncs must be done before the answer, and none depends on another:
 * the message's data, the envelope's data and the directory entries of
 * both (mess/N, todo/N).  They run at once, in threads of their own, so
 * that the disk does them in one round rather than one after another.
 * The todo link comes before them: see qsum.h for why a system crash
 * cannot then deliver a message that was not all written.  (Without a
 * boot id the old order is kept: message, envelope and mess/N synced,
 * then the link, then todo/N.)
 *
 * The threads are kept for the life of the process (a qmail-queued
 * worker queues up to 1000 messages), one per kind of sync, so that no
 * sync costs a thread's creation: each waits for an fd, syncs it and says
 * how that went.  Only one qqwrite runs at a time in a process.  If no
 * thread can be had, the sync is done in line.  fail() and the alarm end
 * every thread with the process. */
enum { SYNC_MESS, SYNC_MESSDIR, SYNC_INTD, SYNCERS };
static struct syncer {
  pthread_mutex_t m;
  pthread_cond_t c;
  int fd, ok;
  enum { S_IDLE, S_POSTED, S_DONE } state;
  bool running;
} syncers[SYNCERS] = {
#define SYNCER_INIT {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER}
    SYNCER_INIT, SYNCER_INIT, SYNCER_INIT,
#undef SYNCER_INIT
};

static void *syncer_run(void *arg)
{
  struct syncer *s = arg;
  pthread_mutex_lock(&s->m);
  for (;;) {
    int fd, ok;
    while (s->state != S_POSTED) pthread_cond_wait(&s->c, &s->m);
    fd = s->fd;
    pthread_mutex_unlock(&s->m);
    ok = fsync(fd) == 0;
    pthread_mutex_lock(&s->m);
    s->ok = ok;
    s->state = S_DONE;
    pthread_cond_broadcast(&s->c);
  }
  return 0;
}

struct bgsync {
  struct syncer *s; /* the thread doing it, or null: done already */
  int fd;
  int ok; /* the fsync succeeded */
};

/* slot: the syncer to hand fd to, or -1 to sync in line (also if the
 * syncer's thread cannot be had) */
static void bgsync_start(struct bgsync *b, int fd, int slot)
{
  struct syncer *s = slot >= 0 ? &syncers[slot] : 0;
  b->fd = fd;
  b->s = 0;
  if (s && !s->running) {
    pthread_t t;
    s->running = thread_start(&t, 64 * 1024, syncer_run, s) == 0 && pthread_detach(t) == 0;
  }
  if (s && s->running) {
    pthread_mutex_lock(&s->m);
    s->fd = fd;
    s->state = S_POSTED;
    pthread_cond_broadcast(&s->c);
    pthread_mutex_unlock(&s->m);
    b->s = s;
    return;
  }
  b->ok = fsync(fd) == 0;
}

/* waits for the sync, then closes its fd; trouble with either is a write
 * error */
static void bgsync_end(struct bgsync *b)
{
  struct syncer *s = b->s;
  if (s) {
    pthread_mutex_lock(&s->m);
    while (s->state != S_DONE) pthread_cond_wait(&s->c, &s->m);
    b->ok = s->ok;
    s->state = S_IDLE;
    pthread_mutex_unlock(&s->m);
  }
  if (!b->ok || close(b->fd) == -1) fail(QQ_WRITE);
}

/* the message: Received line, then fd 0 byte for byte, summed into sum;
 * synced later */
static void write_message(int fd, const char *rcvd, size_t rlen, qsum_t *sum)
{
  size_t len = rlen;
  memcpy(iospace, rcvd, rlen);
  for (;;) {
    ssize_t r;
    if (len == sizeof iospace) {
      if (write_all(fd, iospace, len) == -1) fail(QQ_WRITE);
      qsum_add(sum, iospace, len);
      len = 0;
    }
    r = read_op(0, iospace + len, sizeof iospace - len);
    if (r == -1) fail(QQ_READ);
    if (r == 0) break;
    len += (size_t)r;
  }
  if (len && write_all(fd, iospace, len) == -1) fail(QQ_WRITE);
  qsum_add(sum, iospace, len);
}

static ssize_t write_op(int fd, void *p, size_t n) { return buf_write_op(fd, p, n); }

/* one envelope record, summed into env */
static void put(buf_t *out, qsum_t *env, char letter, const char *s, size_t len)
{
  if (envelope_put(out, letter, s, len) == -1) fail(QQ_WRITE);
  qsum_add(env, &letter, 1);
  qsum_add(env, s, len);
  qsum_add(env, "", 1);
}

/* the envelope: copied record by record from fd 1 into intd, so memory
 * stays the same whatever the number of recipients.  With a boot id
 * (mess: the message's sum) it starts with 'b' and ends with the 'c'
 * trailer of qsum.h.  Written, not synced. */
static void write_envelope(int fd, unsigned long uid, unsigned long pid, const qsum_t *mess)
{
  buf_t in = BUF_INIT(read_op, 1, envspace, sizeof envspace);
  buf_t out = BUF_INIT(write_op, fd, iospace, sizeof iospace);
  envelope_qq_t g = ENV_QQ_INIT;
  qsum_t env = QSUM_INIT;
  sa_t rec = SA_INIT;
  char num[QSUM_TRAILER > FMT_ULONG ? QSUM_TRAILER : FMT_ULONG];
  size_t total = 0;

  if (mess && envelope_put(&out, 'b', bootid, QSUM_BOOTID) == -1) fail(QQ_WRITE);
  put(&out, &env, 'u', num, fmt_ulong(num, uid));
  put(&out, &env, 'p', num, fmt_ulong(num, pid));
  for (;;) {
    int r = envelope_get(&in, &rec, ENV_REC_MAX);
    if (r == ENV_LONG) {
      /* a record that is both overlong and malformed is a format error */
      if (envelope_qq_next(&g, rec.s, 1) == ENV_QQ_BAD) fail(QQ_FORMAT);
      fail(QQ_ADDR);
    }
    if (r == ENV_ERR) fail(errno == ENOMEM ? QQ_NOMEM : QQ_READ);
    /* EOF before the final empty record: the injector died or lied */
    if (r == 0 || r == ENV_TRUNC) fail(QQ_READ);
    /* rec.len <= ENV_REC_MAX: no overflow */
    total += rec.len + 1;
    if (total > QUEUE_ENV_MAX) fail(QQ_ENVBIG);
    switch (envelope_qq_next(&g, rec.s, rec.len)) {
    case ENV_QQ_FROM:
    case ENV_QQ_TO:
      put(&out, &env, rec.s[0], rec.s + 1, rec.len - 1);
      break;
    case ENV_QQ_END:
      sa_free(&rec);
      if (mess && envelope_put(&out, 'c', num,
                               qsum_trailer(num, mess->len, qsum_end(mess), qsum_end(&env))) == -1)
        fail(QQ_WRITE);
      if (buf_flush(&out) == -1) fail(QQ_WRITE);
      return;
    default:
      fail(QQ_FORMAT);
    }
  }
}

/* the directory of fn, open for an fsync: trouble is the directory's
 * code */
static int open_dir(const char *fn, int code)
{
  char dir[NAMESIZE];
  const char *slash = strrchr(fn, '/');
  int fd;
  size_t n;
  if (!slash || (size_t)(slash - fn) >= sizeof dir) fail(QQ_BUG);
  n = (size_t)(slash - fn);
  memcpy(dir, fn, n);
  dir[n] = 0;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1) fail(code);
  return fd;
}

/* The injector learns the id only if it asked: fd 7 open as a pipe (the qq
 * client in src/lib/queue.c sets one up), or qmail-queued's client socket.
 * A pipe some unrelated program left on fd 7 gets a few bytes at worst;
 * poll first so a full pipe cannot hold us up.  Every error is ignored:
 * the message is queued already. */
static void report_id(unsigned long id)
{
  struct stat st;
  struct pollfd p = {.fd = 7, .events = POLLOUT};
  char b[1 + 2 * (FMT_ULONG + 1)];
  size_t n = 0;
  if (replyfd != -1) {
    b[n++] = 0; /* the exit code */
    n += fmt_ulong(b + n, id);
    b[n++] = 0;
    n += fmt_ulong(b + n, qp);
    b[n++] = 0;
    (void)!write(replyfd, b, n);
    return;
  }
  if (fstat(7, &st) == -1 || !S_ISFIFO(st.st_mode)) return;
  if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) return;
  n = fmt_ulong(b, id);
  b[n++] = 0;
  (void)!write(7, b, n);
}

void qqwrite(uid_t uid, const char *how, int reply)
{
  char rcvd[256];
  size_t rlen, n;
  unsigned long pid;
  time_t now;
  struct stat st;
  struct bgsync messsync, dirsync, intdsync, todosync;
  qsum_t mess = QSUM_INIT;
  sigset_t none;
  int fd = -1;
  bool early;

  replyfd = reply;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, 0);
  sig_catch(SIGALRM, timeout);
  /* errors come back as EPIPE / EFBIG (exit 53) rather than killing us */
  sig_ignore(SIGPIPE);
  sig_ignore(SIGXFSZ);
  umask(033);
  alarm(DEADLINE);

  /* qmail-queue's pid; in qmail-queued the id of the thread that runs
   * this message, from the same number space, so that no two messages
   * queued at the same time have the same "qp" */
  pid = qp = (unsigned long)gettid();
  if (!bootid_read) {
    bootid_read = true;
    qsum_bootid(bootid);
  }
  early = bootid[0] != 0;
  now = time(0);
  rlen = received(rcvd, sizeof rcvd, pid, uid, how, now);

  if (chdir(auto_qmail) == -1) fail(QQ_HOME);
  if (chdir("queue") == -1) fail(QQ_QUEUE);
  /* a fresh inode gives the message its id */
  memcpy(pidfn, "pid/", 4);
  n = 4 + fmt_ulong(pidfn + 4, pid);
  pidfn[n++] = '.';
  n += fmt_ulong(pidfn + n, (unsigned long)now);
  pidfn[n++] = '.';
  for (char seq = '1'; seq <= '9'; seq++) {
    pidfn[n] = seq;
    pidfn[n + 1] = 0;
    fd = open(pidfn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd != -1 || errno != EEXIST) break;
  }
  if (fd == -1) fail(QQ_PID);
  madepid = true;
  if (fstat(fd, &st) == -1) fail(QQ_PID);

  mkname(messfn, sizeof messfn, "mess", (unsigned long)st.st_ino);
  mkname(intdfn, sizeof intdfn, "intd", (unsigned long)st.st_ino);
  mkname(todofn, sizeof todofn, "todo", (unsigned long)st.st_ino);

  if (link(pidfn, messfn) == -1) fail(QQ_MESS);
  mademess = true;
  if (unlink(pidfn) == -1) fail(QQ_PID);
  madepid = false;

  write_message(fd, rcvd, rlen, &mess);
  bgsync_start(&messsync, fd, SYNC_MESS);
  bgsync_start(&dirsync, open_dir(messfn, QQ_MESS), SYNC_MESSDIR);

  fd = open(intdfn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd == -1) fail(QQ_INTD);
  madeintd = true;
  write_envelope(fd, (unsigned long)uid, pid, early ? &mess : 0);
  if (!early) {
    /* the old order: everything the todo entry names is durable first */
    bgsync_start(&intdsync, fd, -1);
    bgsync_end(&intdsync);
    bgsync_end(&messsync);
    bgsync_end(&dirsync);
  }

  /* the commit point */
  if (link(intdfn, todofn) == -1) fail(QQ_TODO);
  madeintd = mademess = false;

  /* Queued now, whatever follows, but not yet acknowledged.  If a sync
   * fails, say so: the injector will retry, and a possible duplicate is
   * better than a message lost in a crash. */
  if (early) bgsync_start(&intdsync, fd, SYNC_INTD);
  bgsync_start(&todosync, open_dir(todofn, QQ_WRITE), -1);
  bgsync_end(&todosync);
  if (early) {
    bgsync_end(&intdsync);
    bgsync_end(&messsync);
    bgsync_end(&dirsync);
  }
  trigger_hint("lock/trigger", (unsigned long)st.st_ino);
  report_id((unsigned long)st.st_ino);
  alarm(0);
  replyfd = -1;
}
