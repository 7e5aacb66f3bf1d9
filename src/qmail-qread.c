/* qmail-qread: lists the messages in the queue and their recipients.
 *
 * An admin tool (qmail-qread(8)), run by root, qmails or a member of the
 * qmail group; it only reads.  Output, per message, sorted by id:
 *   <date> GMT  #<id>  <bytes>  <<sender>> [ bouncing]
 *   [  done]\t{local|remote}\t<recipient>
 * where date is when the message was queued and bytes the size of the
 * message file; the space after the sender is always there, as in qmail,
 * so a bouncing message has two before "bouncing".  A message qmail-send
 * has not preprocessed yet (still in todo/) has " not preprocessed" there
 * instead (also two spaces) and its recipients as "\ttodo\t<recipient>".  Bytes outside 32..126 print as '_'.
 * Written with buf, not stdio, like the rest of the suite; a listing can be
 * long, so records are streamed and memory is one id per message. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "envelope.h"
#include "num.h"
#include "queue.h"
#include "sa.h"

const char *PROG = "qmail-qread";

/* records in local/remote may be longer than what qmail-queue accepts
 * (virtualdomains adds a prefix), but never this long */
#define REC_MAX 65536

static bool trouble; /* something could not be read: exit 111 at the end */
static sa_t line = SA_INIT;

static _Noreturn void nomem(void)
{
  buf_flush(buf1);
  die_nomem();
}

static void out(const char *s, size_t n)
{
  if (buf_put(buf1, s, n) == -1) die_sys(111, "unable to write output");
}

static void outs(const char *s) { out(s, strlen(s)); }

static void outulong(unsigned long u)
{
  char num[FMT_ULONG];
  out(num, fmt_ulong(num, u));
}

static void outaddr(const char *s, size_t n)
{
  line.len = 0;
  if (!envelope_printable(&line, s, n)) nomem();
  out(line.s, line.len);
}

/* sys: errno explains it */
static void complain_(bool sys, const char *what, const char *fn)
{
  /* keep stdout and stderr in order when both go to a terminal */
  if (buf_flush(buf1) == -1) die_sys(111, "unable to write output");
  if (sys) warn_sys(what, fn);
  else warn(what, fn);
  trouble = true;
}
#define complain(what, fn) complain_(true, (what), (fn))
#define corrupt(what, fn) complain_(false, (what), (fn))

static int cmp_ulong(const void *a, const void *b)
{
  unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
  return x < y ? -1 : x > y;
}

/* every id in mess/N/, sorted */
static unsigned long *scan_ids(size_t *count)
{
  unsigned long *ids = 0;
  size_t n = 0, a = 0;
  sa_t dir = SA_INIT;
  for (unsigned long i = 0; i < auto_split; i++) {
    DIR *d;
    struct dirent *de;
    dir.len = 0;
    if (!sa_cats(&dir, "mess/") || !sa_catulong(&dir, i) || !sa_0(&dir)) nomem();
    d = opendir(dir.s);
    if (!d) {
      complain("unable to open ", dir.s);
      continue;
    }
    while ((errno = 0, de = readdir(d))) {
      unsigned long id;
      if (!scan_ulong_all(de->d_name, &id)) continue;
      if (n == a) {
        unsigned long *p;
        size_t na;
        if (__builtin_mul_overflow(a ? a : 32, (size_t)2, &na)) nomem();
        p = reallocarray(ids, na, sizeof *ids);
        if (!p) nomem();
        ids = p;
        a = na;
      }
      ids[n++] = id;
    }
    if (errno) complain("unable to read ", dir.s);
    closedir(d);
  }
  sa_free(&dir);
  if (n) qsort(ids, n, sizeof *ids, cmp_ulong);
  *count = n;
  return ids;
}

static void outdate(time_t t)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct tm tm;
  char two[2];
  if (!gmtime_r(&t, &tm)) {
    outs("?");
    return;
  }
  outulong((unsigned long)tm.tm_mday);
  outs(" ");
  out(months + 3 * (tm.tm_mon % 12), 3);
  outs(" ");
  outulong((unsigned long)tm.tm_year + 1900);
  outs(" ");
#define TWO(v) do { two[0] = (char)('0' + (v) / 10 % 10); two[1] = (char)('0' + (v) % 10); \
    out(two, 2); } while (0)
  TWO(tm.tm_hour);
  outs(":");
  TWO(tm.tm_min);
  outs(":");
  TWO(tm.tm_sec);
#undef TWO
  outs(" GMT");
}

/* opens fn; 1 open, 0 absent, -1 trouble (reported) */
static int open_rec(const char *fn, int *fd)
{
  *fd = open(fn, O_RDONLY | O_CLOEXEC);
  if (*fd != -1) return 1;
  if (errno == ENOENT) return 0;
  complain("unable to open ", fn);
  return -1;
}

/* prints the recipients in fd; kind is "local", "remote" or "todo" */
static void recipients(int fd, const char *fn, const char *kind)
{
  char space[BUF_SIZE];
  buf_t b = BUF_INIT(buf_read_op, fd, space, sizeof space);
  sa_t rec = SA_INIT;
  for (;;) {
    int r = envelope_get(&b, &rec, REC_MAX);
    if (r == 0) break;
    if (r != 1) {
      if (r == ENV_ERR) complain("unable to read ", fn);
      else if (r == ENV_TRUNC) corrupt("truncated record in ", fn);
      else corrupt("overlong record in ", fn);
      break;
    }
    if (!rec.len) continue;
    if (rec.s[0] == 'D') outs("  done");
    else if (rec.s[0] != 'T') continue; /* u, p, F in todo files */
    outs("\t");
    outs(kind);
    outs("\t");
    outaddr(rec.s + 1, rec.len - 1);
    outs("\n");
  }
  sa_free(&rec);
  close(fd);
}

/* the first F record of fd into sender; 1 found, 0 not */
static int find_sender(int fd, const char *fn, sa_t *sender)
{
  char space[BUF_SIZE];
  buf_t b = BUF_INIT(buf_read_op, fd, space, sizeof space);
  for (;;) {
    int r = envelope_get(&b, sender, REC_MAX);
    if (r == 1 && sender->len && sender->s[0] == 'F') return 1;
    if (r == 1) continue;
    if (r == ENV_ERR) complain("unable to read ", fn);
    else if (r != 0) corrupt("bad sender record in ", fn);
    return 0;
  }
}

static void message(unsigned long id, sa_t *fn, sa_t *sender)
{
  struct stat st, mst;
  int fd, r;
  bool todo = false;

  if (!queue_name(fn, "mess", id, true)) nomem();
  if (stat(fn->s, &mst) == -1) {
    if (errno != ENOENT) complain("unable to stat ", fn->s);
    return; /* gone meanwhile */
  }
  if (!queue_name(fn, "info", id, true)) nomem();
  fd = open(fn->s, O_RDONLY | O_CLOEXEC);
  if (fd == -1 && errno == EACCES) {
    /* a qmail group member: info/ is qmails's alone; say so once and show
     * what todo/ holds */
    static bool said;
    if (!said) complain("showing only messages not yet preprocessed: unable to read ", fn->s);
    said = true;
  } else if (fd == -1 && errno != ENOENT) {
    complain("unable to open ", fn->s);
    return;
  }
  if (fd == -1) {
    /* not preprocessed yet?  Otherwise being queued, or a leftover of a
     * crash: neither is a message in the queue. */
    if (!queue_name(fn, "todo", id, true)) nomem();
    if (open_rec(fn->s, &fd) != 1) return;
    todo = true;
  }
  if (fstat(fd, &st) == -1) {
    complain("unable to stat ", fn->s);
    close(fd);
    return;
  }
  sender->len = 0;
  r = find_sender(fd, fn->s, sender);
  if (todo) {
    if (lseek(fd, 0, SEEK_SET) == -1) complain("unable to rewind ", fn->s);
  } else close(fd);

  outdate(st.st_mtime); /* info: when queued; todo: when committed */
  outs("  #");
  outulong(id);
  outs("  ");
  outulong((unsigned long)mst.st_size);
  outs("  <");
  if (r == 1) outaddr(sender->s + 1, sender->len - 1);
  else outs("?");
  outs("> "); /* qmail's trailing space, kept before " bouncing" too */
  if (todo) {
    outs(" not preprocessed\n");
    recipients(fd, fn->s, "todo");
    return;
  }
  if (!queue_name(fn, "bounce", id, false)) nomem();
  if (stat(fn->s, &st) == 0) outs(" bouncing");
  else if (errno != ENOENT) complain("unable to stat ", fn->s);
  outs("\n");
  if (!queue_name(fn, "local", id, true)) nomem();
  if (open_rec(fn->s, &fd) == 1) recipients(fd, fn->s, "local");
  if (!queue_name(fn, "remote", id, true)) nomem();
  if (open_rec(fn->s, &fd) == 1) recipients(fd, fn->s, "remote");
}

int main(int argc, char **argv)
{
  unsigned long *ids;
  size_t n;
  sa_t fn = SA_INIT, sender = SA_INIT;
  (void)argv;
  if (argc > 1) die_usage("qmail-qread");
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);
  if (chdir("queue") == -1) die_sys(111, "unable to chdir to ", auto_qmail, "/queue");
  ids = scan_ids(&n);
  for (size_t i = 0; i < n; i++) message(ids[i], &fn, &sender);
  if (buf_flush(buf1) == -1) die_sys(111, "unable to write output");
  free(ids);
  sa_free(&fn);
  sa_free(&sender);
  sa_free(&line);
  return trouble ? 111 : 0;
}
