/* maildir2mbox: moves the messages of a Maildir into an mbox file (see
 * maildir2mbox(1)).
 *
 *   MAILDIR=dir MAIL=file [MAILTMP=file] maildir2mbox
 *
 * Messages of new/ and cur/ are appended in the order they arrived (the
 * time in their names), each with a From_ line made from its Return-Path
 * and ">From " quoting, under the same locks qmail-local takes (dotlock
 * MAIL.lock, then flock).  Only after the whole append is fsynced are
 * the messages removed from the Maildir: a crash or a full disk can give
 * a duplicate, never a loss.  On any failure MAIL is truncated back to
 * its old size.
 *
 * MAILTMP (qmail's copy-and-rename file) is accepted and not used: a
 * rename would replace the mbox under a deliverer that already holds the
 * old file open and locked, and its message would be lost. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include "deliver.h"
#include "die.h"
#include "num.h"
#include "proc.h"
#include "sa.h"

const char *PROG = "maildir2mbox";

/* a Return-Path line longer than this is not worth using for From_ */
#define RP_MAX 1024

struct msg {
  unsigned long t; /* seconds from the name */
  size_t name;     /* offset of "new/x" or "cur/x" in names */
};

static sa_t names;
static struct msg *msgs;
static size_t nmsgs, amsgs;

static void scan(const char *sub)
{
  DIR *d;
  struct dirent *e;
  if (!(d = opendir(sub))) die_sys(111, "unable to scan $MAILDIR/", sub);
  for (;;) {
    errno = 0;
    e = readdir(d);
    if (!e) break;
    if (e->d_name[0] == '.') continue;
    if (nmsgs == amsgs) {
      size_t na = amsgs ? amsgs * 2 : 64;
      struct msg *m;
      if (na < amsgs || na > (size_t)-1 / sizeof *m) die_nomem();
      m = realloc(msgs, na * sizeof *m);
      if (!m) die_nomem();
      msgs = m;
      amsgs = na;
    }
    msgs[nmsgs].t = 0;
    scan_ulong(e->d_name, &msgs[nmsgs].t);
    msgs[nmsgs].name = names.len;
    if (!sa_cats(&names, sub) || !sa_append(&names, '/') || !sa_cats(&names, e->d_name) ||
        !sa_append(&names, 0))
      die_nomem();
    ++nmsgs;
  }
  if (errno) die_sys(111, "unable to scan $MAILDIR/", sub);
  closedir(d);
}

static int bytime(const void *a, const void *b)
{
  const struct msg *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return strcmp(names.s + x->name, names.s + y->name);
}

/* the sender from a first line "Return-Path: <sender>" into s; false if
 * there is no such line */
static bool sender_of(int fd, sa_t *s)
{
  char b[RP_MAX];
  ssize_t r;
  size_t n = 0;
  const char *lt, *gt;
  s->len = 0;
  while (n < sizeof b) {
    r = read(fd, b + n, sizeof b - n);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (memchr(b, '\n', n)) break;
  }
  if (n < 15 || strncasecmp(b, "Return-Path: <", 14)) return false;
  lt = b + 14;
  gt = memchr(lt, '\n', n - 14);
  if (!gt) return false;
  while (gt > lt && gt[-1] != '>') --gt;
  if (gt == lt) return false;
  if (!sa_catb(s, lt, (size_t)(gt - 1 - lt))) die_nomem();
  return true;
}

/* MAIL as an absolute path: the lock file named after it is removed
 * after the chdir to MAILDIR, so a relative name would miss it */
static const char *absolute(const char *path, sa_t *x)
{
  char cwd[4096];
  if (path[0] == '/') return path;
  if (!getcwd(cwd, sizeof cwd)) die_sys(111, "unable to find the current directory");
  if (!sa_copys(x, cwd) || !sa_append(x, '/') || !sa_cats(x, path) || !sa_0(x)) die_nomem();
  return x->s;
}

int main(void)
{
  const char *maildir = env_get("MAILDIR"), *mail = env_get("MAIL");
  deliver_mbox_t m;
  sa_t why = SA_INIT, snd = SA_INIT, uf = SA_INIT, abs = SA_INIT;
  size_t i;

  /* past RLIMIT_FSIZE we want EFBIG and a clean truncation, not death
   * halfway through the mbox */
  sig_ignore(SIGXFSZ);
  if (!maildir || !*maildir) die_temp("MAILDIR not set");
  if (!mail || !*mail) die_temp("MAIL not set");
  /* a relative MAIL is taken from where we were started */
  mail = absolute(mail, &abs);
  if (chdir(maildir) == -1) die_sys(111, "unable to switch to ", maildir);
  scan("new");
  scan("cur");
  /* nothing to move: MAIL is left alone (not even created), as qmail's */
  if (!nmsgs) _exit(0);
  if (deliver_mbox_open(&m, mail, &why) == -1) {
    if (!sa_0(&why)) die_nomem();
    die_temp(why.s);
  }
  if (nmsgs) qsort(msgs, nmsgs, sizeof *msgs, bytime);
  for (i = 0; i < nmsgs; ++i) {
    const char *fn = names.s + msgs[i].name;
    deliver_hdr_t h = {0, 0, 0, 0, 0, 0};
    struct stat st;
    int fd = open(fn, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
      /* a mail reader may have removed it meanwhile */
      if (errno == ENOENT) { msgs[i].name = (size_t)-1; continue; }
      deliver_mbox_close(&m, false, 0);
      die_sys(111, "unable to open $MAILDIR/", fn);
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
      deliver_mbox_close(&m, false, 0);
      die_temp("$MAILDIR/", fn, " is not a regular file");
    }
    /* no Return-Path: qmail's maildir2mbox writes "From XXX"; the date
     * is the delivery time at the start of the name, as in qmail (the
     * file's mtime for a name without one) */
    if (!sender_of(fd, &snd)) { snd.len = 0; if (!sa_cats(&snd, "XXX")) die_nomem(); }
    if (!sa_0(&snd) || !deliver_ufline(&uf, snd.s, msgs[i].t ? (time_t)msgs[i].t : st.st_mtime))
      die_nomem();
    h.uf = uf.s;
    h.uflen = uf.len;
    if (deliver_mbox_put(&m, fd, &h, &why) == -1) {
      deliver_mbox_close(&m, false, 0);
      if (!sa_0(&why)) die_nomem();
      die_temp(why.s);
    }
    close(fd);
  }
  if (deliver_mbox_close(&m, true, &why) == -1) {
    if (!sa_0(&why)) die_nomem();
    die_temp(why.s);
  }
  /* the mbox is on disk: only now may the Maildir copies go */
  for (i = 0; i < nmsgs; ++i) {
    if (msgs[i].name == (size_t)-1) continue;
    if (unlink(names.s + msgs[i].name) == -1 && errno != ENOENT)
      die_sys(111, "unable to remove $MAILDIR/", names.s + msgs[i].name);
  }
  sa_free(&names);
  sa_free(&why);
  sa_free(&snd);
  sa_free(&uf);
  sa_free(&abs);
  free(msgs);
  return 0;
}
