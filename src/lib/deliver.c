/* deliver: see deliver.h.
 * Durability: a delivery is only reported done after the data (fsync of
 * the file) and, for Maildir, the directory entry in new/ (fsync of new/)
 * are on disk; qmail-send then marks the recipient done.  A crash before
 * that means a repeated delivery, never a lost one. */
#include "deliver.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename(2) only; no stdio streams */
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "fdio.h"
#include "num.h"
#include "quote.h"

unsigned deliver_lock_wait = 30;
unsigned deliver_lock_stale = 300;

/* ---- header lines ---- */

static bool cat_clean(sa_t *out, const char *s, char bad_to)
{
  size_t start = out->len, i;
  if (!sa_cats(out, s)) return false;
  for (i = start; i < out->len; ++i)
    if (out->s[i] == '\n') out->s[i] = bad_to;
  return true;
}

bool deliver_rpline(sa_t *out, const char *sender)
{
  size_t start, i;
  if (!sa_copys(out, "Return-Path: <")) return false;
  start = out->len;
  if (!quote_addr(out, sender)) return false;
  /* a LF (escaped by the quoting or not) must not end the header line */
  for (i = start; i < out->len; ++i)
    if (out->s[i] == '\n') out->s[i] = '_';
  return sa_cats(out, ">\n");
}

bool deliver_dtline(sa_t *out, const char *recipient)
{
  return sa_copys(out, "Delivered-To: ") && cat_clean(out, recipient, '_') &&
         sa_append(out, '\n');
}

static bool cat2(sa_t *out, unsigned v)
{
  char b[2] = {(char)('0' + v / 10 % 10), (char)('0' + v % 10)};
  return sa_catb(out, b, 2);
}

bool deliver_ufline(sa_t *out, const char *sender, time_t t)
{
  static const char wd[] = "SunMonTueWedThuFriSat";
  static const char mo[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct tm tm;
  size_t start, i;
  if (!gmtime_r(&t, &tm)) { errno = EINVAL; return false; }
  if (!sa_copys(out, "From ")) return false;
  start = out->len;
  if (!sa_cats(out, *sender ? sender : "MAILER-DAEMON")) return false;
  /* the From_ line is split at blanks by mbox readers */
  for (i = start; i < out->len; ++i)
    if ((unsigned char)out->s[i] <= ' ' || out->s[i] == 127) out->s[i] = '-';
  if (!sa_append(out, ' ') || !sa_catb(out, wd + 3 * (tm.tm_wday % 7), 3) ||
      !sa_append(out, ' ') || !sa_catb(out, mo + 3 * (tm.tm_mon % 12), 3) ||
      !sa_append(out, ' '))
    return false;
  /* qmail's date here pads the day with a zero, not a blank as ctime */
  return cat2(out, (unsigned)tm.tm_mday) && sa_append(out, ' ') && cat2(out, (unsigned)tm.tm_hour) && sa_append(out, ':') &&
         cat2(out, (unsigned)tm.tm_min) && sa_append(out, ':') &&
         cat2(out, (unsigned)tm.tm_sec) && sa_append(out, ' ') &&
         sa_catulong(out, (unsigned long)tm.tm_year + 1900) && sa_append(out, '\n');
}

/* ---- helpers ---- */

int deliver_exec_code(int err)
{
  static const int temp[] = {
    EINTR, ENOMEM, ETXTBSY, EIO, ETIMEDOUT, EWOULDBLOCK, EAGAIN, EDEADLK, EBUSY,
    ENFILE, EMFILE, EFBIG, ENOSPC, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED,
    ECONNRESET, ENOBUFS, ETOOMANYREFS, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH,
    EUSERS, EDQUOT, ESTALE, ENOLCK,
  };
  for (size_t i = 0; i < sizeof temp / sizeof temp[0]; ++i)
    if (err == temp[i]) return 111;
  return 100;
}

/* ---- loop detection ---- */

int deliver_looping(int fd, const char *dt, size_t dtlen)
{
  char space[4096];
  buf_t b;
  size_t pos = 0;      /* bytes of the current line seen */
  bool same = true;    /* current line equals dt so far */
  if (lseek(fd, 0, SEEK_SET) == -1) return -1;
  buf_init(&b, buf_read_op, fd, space, sizeof space);
  for (;;) {
    ssize_t r = buf_feed(&b);
    const char *p;
    size_t i;
    if (r < 0) return -1;
    if (r == 0) return 0;
    p = buf_peek(&b);
    for (i = 0; i < (size_t)r; ++i) {
      char c = p[i];
      if (same) same = pos < dtlen && dt[pos] == c;
      if (pos <= dtlen) ++pos; /* saturates: only compared with dtlen and 1 */
      if (c == '\n') {
        if (same && pos == dtlen) return 1;
        if (pos == 1) return 0; /* empty line: end of header */
        pos = 0;
        same = true;
      }
    }
    buf_skip(&b, (size_t)r);
  }
}

/* ---- ">From " quoting ---- */

void deliver_quote_init(deliver_quote_t *q)
{
  q->state = 1;
  q->gt = 0;
  q->from = 0;
  q->last = '\n';
}

static int put_gt(size_t n, deliver_put_fn put, void *ctx)
{
  static const char gts[] = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
  while (n) {
    size_t k = n < sizeof gts - 1 ? n : sizeof gts - 1;
    if (put(ctx, gts, k) == -1) return -1;
    n -= k;
  }
  return 0;
}

/* writes what a line start held back when it turned out not to be From_ */
static int flush_pending(deliver_quote_t *q, deliver_put_fn put, void *ctx)
{
  if (put_gt(q->gt, put, ctx) == -1) return -1;
  if (q->from && put(ctx, "From ", q->from) == -1) return -1;
  q->gt = q->from = 0;
  q->state = 0;
  return 0;
}

int deliver_quote(deliver_quote_t *q, const char *s, size_t n, deliver_put_fn put, void *ctx)
{
  static const char from[] = "From ";
  size_t i = 0;
  if (n) q->last = s[n - 1];
  while (i < n) {
    if (q->state == 0) {
      const char *nl = memchr(s + i, '\n', n - i);
      size_t k = nl ? (size_t)(nl - (s + i)) + 1 : n - i;
      if (put(ctx, s + i, k) == -1) return -1;
      i += k;
      if (nl) q->state = 1;
      continue;
    }
    if (q->state == 1 && s[i] == '>') {
      ++q->gt;
      ++i;
      continue;
    }
    if (s[i] == from[q->from]) {
      q->state = 2;
      ++i;
      if (++q->from == sizeof from - 1) {
        if (put_gt(q->gt + 1, put, ctx) == -1 || put(ctx, from, q->from) == -1) return -1;
        q->gt = q->from = 0;
        q->state = 0;
      }
      continue;
    }
    /* not a From_ line: release what was held back, then treat this byte
     * as ordinary (it may be the LF that starts the next line) */
    if (flush_pending(q, put, ctx) == -1) return -1;
    if (s[i] == '\n') {
      if (put(ctx, "\n", 1) == -1) return -1;
      ++i;
      q->state = 1;
    }
  }
  return 0;
}

int deliver_quote_end(deliver_quote_t *q, deliver_put_fn put, void *ctx)
{
  if (q->state != 0 && (q->gt || q->from)) return flush_pending(q, put, ctx);
  return 0;
}

/* ---- shared helpers ---- */

static void reason(sa_t *why, const char *a, const char *b, int err, const char *code)
{
  if (!why) return;
  why->len = 0;
  if (!sa_cats(why, a) || (b && !sa_cats(why, b))) return;
  if (err && (!sa_cats(why, ": ") || !sa_cats(why, strerror(err)))) return;
  if (!sa_cats(why, ". ") || !sa_cats(why, code)) return;
}

/* the status code a write error deserves: a full disk or quota is the
 * "mailbox full" 4.2.2, anything else a plain temporary failure */
static const char *write_code(int e)
{
  return e == ENOSPC || e == EDQUOT || e == EFBIG ? "(#4.2.2)" : "(#4.3.0)";
}

static int put_buf(void *ctx, const char *s, size_t n) { return buf_put(ctx, s, n); }

/* copies header lines and the message (quoted if q) from fdmess to out.
 * -2 read error, -3 write error */
static int copy_message(buf_t *out, int fdmess, const deliver_hdr_t *h, deliver_quote_t *q)
{
  char space[BUF_SIZE];
  buf_t in;
  if ((h->uflen && buf_put(out, h->uf, h->uflen) == -1) ||
      (h->rplen && buf_put(out, h->rp, h->rplen) == -1) ||
      (h->dtlen && buf_put(out, h->dt, h->dtlen) == -1))
    return -3;
  if (lseek(fdmess, 0, SEEK_SET) == -1) return -2;
  buf_init(&in, buf_read_op, fdmess, space, sizeof space);
  if (!q) return buf_copy(out, &in);
  for (;;) {
    ssize_t r = buf_feed(&in);
    if (r < 0) return -2;
    if (r == 0) break;
    if (deliver_quote(q, buf_peek(&in), (size_t)r, put_buf, out) == -1) return -3;
    buf_skip(&in, (size_t)r);
  }
  if (deliver_quote_end(q, put_buf, out) == -1) return -3;
  /* the message must end in LF, then one empty line separates it from the
   * next From_ line */
  if (q->last != '\n' && buf_put(out, "\n", 1) == -1) return -3;
  if (buf_put(out, "\n", 1) == -1) return -3;
  return 0;
}

/* ---- Maildir ---- */

bool deliver_uniq(sa_t *out, time_t sec, long usec, pid_t pid, unsigned long n,
                  const char *host)
{
  const char *p;
  out->len = 0;
  if (!sa_catulong(out, (unsigned long)sec) || !sa_cats(out, ".M") ||
      !sa_catulong(out, (unsigned long)usec) || !sa_append(out, 'P') ||
      !sa_catulong(out, (unsigned long)pid) || !sa_append(out, 'Q') ||
      !sa_catulong(out, n) || !sa_append(out, '.'))
    return false;
  for (p = host; *p; ++p) {
    bool ok = *p == '/' ? sa_cats(out, "\\057")
            : *p == ':' ? sa_cats(out, "\\072")
            : sa_append(out, *p);
    if (!ok) return false;
  }
  return sa_0(out);
}

int deliver_maildir(const char *dir, int fdmess, const deliver_hdr_t *h, sa_t *why)
{
  static unsigned long counter;
  sa_t base = SA_INIT, uniq = SA_INIT, tmp = SA_INIT, new = SA_INIT;
  char host[256];
  char space[BUF_SIZE];
  struct timeval tv;
  buf_t out;
  int fd = -1, r, e, ret = -1;
  bool made = false;

  if (gethostname(host, sizeof host) == -1) memcpy(host, "localhost", 10);
  host[sizeof host - 1] = 0;
  gettimeofday(&tv, 0);
  if (!sa_copys(&base, dir) || (base.len && base.s[base.len - 1] != '/' && !sa_append(&base, '/')) ||
      !deliver_uniq(&uniq, tv.tv_sec, (long)tv.tv_usec, getpid(), ++counter, host) ||
      !sa_copy(&tmp, &base) || !sa_cats(&tmp, "tmp/") || !sa_cats(&tmp, uniq.s) ||
      !sa_copy(&new, &base) || !sa_cats(&new, "new/") || !sa_cats(&new, uniq.s)) {
    reason(why, "Out of memory", 0, 0, "(#4.3.0)");
    goto out;
  }
  /* O_EXCL: the name is unique by construction; if it exists anyway
   * something is wrong and we must not write into someone else's file */
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd == -1) {
    reason(why, "Unable to create a file in maildir ", base.s, errno, "(#4.2.1)");
    goto out;
  }
  made = true;
  buf_init(&out, buf_write_op, fd, space, sizeof space);
  r = copy_message(&out, fdmess, h, 0);
  if (r == -2) { reason(why, "Unable to read the message", 0, errno, "(#4.3.0)"); goto out; }
  if (r == -3 || buf_flush(&out) == -1) {
    e = errno;
    reason(why, "Unable to write to maildir ", base.s, e, write_code(e));
    goto out;
  }
  if (fsync(fd) == -1 || close(fd) == -1) {
    e = errno;
    fd = -1;
    reason(why, "Unable to write to maildir ", base.s, e, write_code(e));
    goto out;
  }
  fd = -1;
  if (link(tmp.s, new.s) == -1) {
    e = errno;
    /* some file systems have no hard links; rename never overwrites
     * anything here because the name is unique */
    if ((e == EPERM || e == ENOTSUP || e == EXDEV || e == EMLINK) && rename(tmp.s, new.s) == 0) {
      made = false;
    } else {
      reason(why, "Unable to link the message into maildir ", base.s, e, "(#4.2.1)");
      goto out;
    }
  }
  new.len = base.len + 3; /* "<dir>/new" */
  if (!sa_0(&new) || fsync_dir(new.s) == -1) {
    e = errno;
    /* the message may be visible already, but is not durable: report a
     * temporary failure (a duplicate is better than a loss) */
    reason(why, "Unable to sync maildir ", base.s, e, "(#4.3.0)");
    goto out;
  }
  ret = 0;
out:
  if (fd != -1) close(fd);
  if (made) unlink(tmp.s);
  sa_free(&base);
  sa_free(&uniq);
  sa_free(&tmp);
  sa_free(&new);
  return ret;
}

/* ---- mbox ---- */

static void nap(void)
{
  struct timespec ts = {0, 200 * 1000 * 1000};
  nanosleep(&ts, 0);
}

/* 1 dotlock made, 0 the directory does not let us make one (flock alone
 * must do), -1 error or timeout */
static int dotlock(const char *lock, time_t deadline)
{
  char pid[FMT_ULONG + 1];
  size_t n = fmt_ulong(pid, (unsigned long)getpid());
  pid[n++] = '\n';
  for (;;) {
    struct stat st;
    int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd != -1) {
      (void)!write(fd, pid, n); /* informational only */
      close(fd);
      return 1;
    }
    if (errno == EACCES || errno == EPERM || errno == EROFS) return 0;
    if (errno != EEXIST) return -1;
    if (lstat(lock, &st) == -1) {
      if (errno == ENOENT) continue; /* gone in between: try again at once */
      return -1;
    }
    /* a lock older than deliver_lock_stale belongs to a process that died
     * (or hangs): break it */
    if (time(0) - st.st_mtime > (time_t)deliver_lock_stale) {
      if (unlink(lock) == -1 && errno != ENOENT) {
        if (errno == EACCES || errno == EPERM) return 0;
        return -1;
      }
      continue;
    }
    if (time(0) >= deadline) { errno = ETIMEDOUT; return -1; }
    nap();
  }
}

static int flock_wait(int fd, time_t deadline)
{
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return -1;
    if (time(0) >= deadline) { errno = ETIMEDOUT; return -1; }
    nap();
  }
}

int deliver_mbox_open(deliver_mbox_t *m, const char *path, sa_t *why)
{
  time_t deadline = time(0) + (time_t)deliver_lock_wait;
  struct stat st;
  int e;
  m->fd = -1;
  m->locked = 0;
  m->old = -1;
  m->path = path;
  { sa_t z = SA_INIT; m->lock = z; }
  if (!sa_copys(&m->lock, path) || !sa_cats(&m->lock, ".lock") || !sa_0(&m->lock)) {
    reason(why, "Out of memory", 0, 0, "(#4.3.0)");
    goto fail;
  }
  m->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (m->fd == -1) {
    reason(why, "Unable to open mailbox ", path, errno, "(#4.2.1)");
    goto fail;
  }
  if (fstat(m->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
    reason(why, "Mailbox is not a regular file: ", path, 0, "(#4.2.1)");
    goto fail;
  }
  /* dotlock first, then flock: the order procmail and mutt use, so that
   * nobody holds one lock while waiting for the other in the opposite
   * order */
  m->locked = dotlock(m->lock.s, deadline);
  if (m->locked == -1) {
    e = errno;
    m->locked = 0;
    reason(why, e == ETIMEDOUT ? "Timed out waiting for the dotlock of " : "Unable to make the dotlock of ",
           path, e == ETIMEDOUT ? 0 : e, "(#4.2.1)");
    goto fail;
  }
  if (flock_wait(m->fd, deadline) == -1) {
    e = errno;
    reason(why, e == ETIMEDOUT ? "Timed out waiting for the lock on " : "Unable to lock ",
           path, e == ETIMEDOUT ? 0 : e, "(#4.2.1)");
    goto fail;
  }
  m->old = lseek(m->fd, 0, SEEK_END);
  if (m->old == -1) {
    reason(why, "Unable to seek in mailbox ", path, errno, "(#4.2.1)");
    goto fail;
  }
  buf_init(&m->out, buf_write_op, m->fd, m->space, sizeof m->space);
  return 0;
fail:
  deliver_mbox_close(m, false, 0);
  return -1;
}

int deliver_mbox_put(deliver_mbox_t *m, int fdmess, const deliver_hdr_t *h, sa_t *why)
{
  deliver_quote_t q;
  int r, e;
  deliver_quote_init(&q);
  r = copy_message(&m->out, fdmess, h, &q);
  if (r == -2) { reason(why, "Unable to read the message", 0, errno, "(#4.3.0)"); return -1; }
  if (r == -3) {
    e = errno;
    reason(why, "Unable to write to mailbox ", m->path, e, write_code(e));
    return -1;
  }
  return 0;
}

int deliver_mbox_close(deliver_mbox_t *m, bool commit, sa_t *why)
{
  int ret = 0, e;
  if (m->fd != -1) {
    if (commit && (buf_flush(&m->out) == -1 || fsync(m->fd) == -1)) {
      e = errno;
      reason(why, "Unable to write to mailbox ", m->path, e, write_code(e));
      ret = -1;
    }
    if ((!commit || ret == -1) && m->old != -1) {
      /* leave the mailbox exactly as it was */
      if (ftruncate(m->fd, m->old) == 0) (void)fsync(m->fd);
    }
    close(m->fd); /* drops the flock */
    m->fd = -1;
  }
  if (m->locked == 1) unlink(m->lock.s);
  m->locked = 0;
  sa_free(&m->lock);
  return ret;
}

int deliver_mbox(const char *path, int fdmess, const deliver_hdr_t *h, sa_t *why)
{
  deliver_mbox_t m;
  if (deliver_mbox_open(&m, path, why) == -1) return -1;
  if (deliver_mbox_put(&m, fdmess, h, why) == -1) {
    deliver_mbox_close(&m, false, 0);
    return -1;
  }
  return deliver_mbox_close(&m, true, why);
}
