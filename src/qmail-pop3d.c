/* qmail-pop3d: the TRANSACTION and UPDATE states of POP3 (RFC 1939) on a
 * Maildir, run as the mail's owner (by checkpassword, from qmail-popup)
 * in the owner's home directory, with the connection on fds 0 and 1.
 * See qmail-pop3d(8).
 *
 *   qmail-pop3d maildirname
 *
 * The messages are those in new/ and cur/ when the session starts, oldest
 * first.  Nothing changes on disk before QUIT: then the messages marked
 * with DELE are removed and those still in new/ move to cur/ (flagged S
 * if they were retrieved).  The unique part of the file name is the UIDL,
 * so it stays the same when a message moves from new/ to cur/.
 *
 * Exit codes before the +OK that opens the session follow checkpassword's
 * conventions (qmail-popup tells the client): 1 refused (we never serve
 * root), 111 trouble with the Maildir.  A missing Maildir is told to the
 * client here, in qmail's words, and ends with 0 like any session.  Once
 * the session is open the exit code is 0 whatever happens: problems are
 * logged on fd 2. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "pop3.h"
#include "proc.h"
#include "sa.h"
#include "smtp.h"

const char *PROG = "qmail-pop3d";

#define MSG_MAX 100000      /* messages listed in one session */
#define TMP_AGE (36 * 3600) /* tmp/ files unread this long are removed */
#define UIDL_MAX 70         /* RFC 1939: 1 to 70 characters 0x21-0x7e */

typedef struct {
  size_t name;       /* offset in names: "new/x" or "cur/x:2,..." */
  off_t size;
  time_t mtime;
  bool deleted, retrieved;
} msg_t;

static msg_t *msgs;
static size_t nmsgs, last;
static sa_t names;

static char filespace[BUF_SIZE * 8];
static bool open_session;

static void out(const char *s) { pop3_puts(s); }
static void outulong(unsigned long u) { buf_putulong(&pop3_out, u); }
static _Noreturn void leave(void) { pop3_leave(0); }

static _Noreturn void nomem(void)
{
  if (!open_session) die_nomem();
  warn("out of memory");
  out("-ERR [SYS/TEMP] out of memory\r\n");
  leave();
}

/* ---- the Maildir ---- */

/* Removes tmp/ files not accessed for 36 hours (a delivery that died). */
static void clean_tmp(time_t now)
{
  DIR *d = opendir("tmp");
  struct dirent *e;
  sa_t fn = SA_INIT;
  if (!d) return;
  while ((e = readdir(d))) {
    struct stat st;
    if (e->d_name[0] == '.') continue;
    if (!sa_copys(&fn, "tmp/") || !sa_cats(&fn, e->d_name) || !sa_0(&fn)) nomem();
    if (lstat(fn.s, &st) == 0 && S_ISREG(st.st_mode) && st.st_atime + TMP_AGE < now)
      unlink(fn.s);
  }
  closedir(d);
  sa_free(&fn);
}

static void scan(const char *dir, size_t *alloc)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) die_sys(111, "unable to read ", dir, " in the Maildir");
  while (nmsgs < MSG_MAX && (e = readdir(d))) {
    struct stat st;
    size_t at = names.len;
    if (e->d_name[0] == '.') continue;
    if (!sa_cats(&names, dir) || !sa_cats(&names, "/") || !sa_cats(&names, e->d_name) ||
        !sa_0(&names))
      nomem();
    if (lstat(names.s + at, &st) == -1 || !S_ISREG(st.st_mode)) {
      names.len = at;
      continue;
    }
    if (nmsgs == *alloc) {
      size_t n = *alloc ? *alloc * 2 : 64;
      msg_t *m = reallocarray(msgs, n, sizeof *m);
      if (!m) nomem();
      msgs = m;
      *alloc = n;
    }
    msgs[nmsgs++] = (msg_t){at, st.st_size, st.st_mtime, false, false};
  }
  closedir(d);
}

static int by_age(const void *a, const void *b)
{
  const msg_t *x = a, *y = b;
  if (x->mtime != y->mtime) return x->mtime < y->mtime ? -1 : 1;
  return strcmp(names.s + x->name, names.s + y->name);
}

static const char *name_of(size_t i) { return names.s + msgs[i].name; }

/* the base name up to the info part (":2,..."), which is what stays the
 * same when a message moves from new/ to cur/ */
static size_t unique_len(const char *base)
{
  const char *colon = strchr(base, ':');
  return colon ? (size_t)(colon - base) : strlen(base);
}

static void put_uidl(size_t i)
{
  const char *base = name_of(i) + 4;
  size_t n = unique_len(base);
  bool ok = n >= 1 && n <= UIDL_MAX;
  for (size_t k = 0; ok && k < n; k++)
    if ((unsigned char)base[k] < 0x21 || (unsigned char)base[k] > 0x7e) ok = false;
  if (ok) {
    buf_put(&pop3_out, base, n);
    return;
  }
  /* a name RFC 1939 does not allow as a UIDL: its 64-bit FNV-1a hash */
  unsigned long long h = 0xcbf29ce484222325ULL;
  char hex[17];
  for (size_t k = 0; k < n; k++) h = (h ^ (unsigned char)base[k]) * 0x100000001b3ULL;
  for (int k = 15; k >= 0; k--, h >>= 4) hex[k] = "0123456789abcdef"[h & 15];
  hex[16] = 0;
  out("h");
  out(hex);
}

/* UPDATE state: DELE'd messages go, new/ messages move to cur/ */
static void update(void)
{
  sa_t to = SA_INIT;
  for (size_t i = 0; i < nmsgs; i++) {
    const char *fn = name_of(i);
    if (msgs[i].deleted) {
      if (unlink(fn) == -1 && errno != ENOENT) warn_sys("unable to remove ", fn);
      continue;
    }
    if (strncmp(fn, "new/", 4)) continue;
    if (!sa_copys(&to, "cur/") || !sa_cats(&to, fn + 4) ||
        !sa_cats(&to, msgs[i].retrieved ? ":2,S" : ":2,") || !sa_0(&to))
      nomem();
    if (rename(fn, to.s) == -1 && errno != ENOENT) warn_sys("unable to move ", fn, " to cur/");
  }
  sa_free(&to);
}

/* ---- commands ---- */

static void err(const char *s) { pop3_err(s); }

/* a whole decimal number */
static bool count_arg(const char *a, size_t n, unsigned long *u)
{
  char num[FMT_ULONG];
  if (!n || n >= sizeof num) return false;
  memcpy(num, a, n);
  num[n] = 0;
  return scan_ulong_all(num, u);
}

/* the message number in arg: 1..nmsgs, not deleted; else -1 (answered) */
static long msgnum(const char *a, size_t alen, const char **rest, size_t *rlen)
{
  unsigned long u;
  const char *r;
  size_t rl, v = smtp_verb(a, alen, &r, &rl);
  if (rest) *rest = r, *rlen = rl;
  if (!count_arg(a, v, &u)) {
    err("a message number, please");
    return -1;
  }
  if (u == 0 || u > nmsgs) {
    err("no such message");
    return -1;
  }
  if (msgs[u - 1].deleted) {
    err("message deleted");
    return -1;
  }
  return (long)(u - 1);
}

static void ok_line(size_t i, bool uidl)
{
  outulong(i + 1);
  out(" ");
  if (uidl)
    put_uidl(i);
  else
    outulong((unsigned long)msgs[i].size);
  out("\r\n");
}

static void listing(const char *a, size_t alen, bool uidl)
{
  if (alen) {
    long i = msgnum(a, alen, 0, 0);
    if (i < 0) return;
    out("+OK ");
    ok_line((size_t)i, uidl);
    return;
  }
  out("+OK\r\n");
  for (size_t i = 0; i < nmsgs; i++)
    if (!msgs[i].deleted) ok_line(i, uidl);
  out(".\r\n");
}

/* RETR (lines = -1) and TOP: the message with CR LF line ends and every
 * line start '.' doubled, then the terminating ".\r\n".  TOP sends the
 * header, the empty line after it and then lines lines of the body. */
static void send_msg(size_t i, long long lines)
{
  int fd = open(name_of(i), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  buf_t in;
  bool bol = true, inbody = false, prevcr = false, blank = true;
  ssize_t r = 0;
  if (fd == -1) {
    err(errno == ENOENT ? "message vanished" : "unable to read that message");
    return;
  }
  buf_init(&in, buf_read_op, fd, filespace, sizeof filespace);
  if (lines < 0) {
    out("+OK ");
    outulong((unsigned long)msgs[i].size);
    out(" octets\r\n");
  } else
    out("+OK\r\n");
  while (!(inbody && lines == 0) && (r = buf_feed(&in)) > 0) {
    char *p = buf_peek(&in);
    size_t n = (size_t)r, k, start = 0;
    for (k = 0; k < n; k++) {
      char c = p[k];
      if (bol) {
        if (inbody && lines == 0) break;
        if (c == '.') {
          buf_put(&pop3_out, p + start, k - start);
          buf_put(&pop3_out, ".", 1);
          start = k;
        }
        bol = false;
        blank = true;
      }
      if (c == '\n') {
        buf_put(&pop3_out, p + start, k - start);
        if (prevcr)
          buf_put(&pop3_out, "\n", 1);
        else
          buf_put(&pop3_out, "\r\n", 2);
        start = k + 1;
        bol = true;
        if (inbody) {
          if (lines > 0) lines--;
        } else if (blank)
          inbody = true;
      } else if (c != '\r')
        blank = false;
      prevcr = c == '\r';
    }
    buf_put(&pop3_out, p + start, k - start);
    buf_skip(&in, k);
  }
  close(fd);
  if (r < 0) {
    /* half a message is out: the client must not take it for all of it */
    warn_sys("unable to read ", name_of(i));
    leave();
  }
  if (!bol) out("\r\n");
  out(".\r\n");
}

int main(int argc, char **argv)
{
  sa_t line = SA_INIT;
  size_t alloc = 0;

  if (argc < 2) die_usage("qmail-pop3d maildirname");
  pop3_lost = 0; /* once the session is open, every end is exit 0 */
  /* as root, a password guessed over the network would be root's */
  if (getuid() == 0 || geteuid() == 0) die_(1, 0, "refusing to run as root", (const char *)0);
  sig_ignore(SIGPIPE);
  if (chdir(argv[1]) == -1) {
    if (errno == ENOENT || errno == ENOTDIR) {
      /* qmail's words; we said it ourselves, so the session is over
       * (exit 0): qmail-popup adds nothing */
      warn_sys("unable to enter the Maildir ", argv[1]);
      out("-ERR this user has no $HOME/Maildir\r\n");
      pop3_leave(0);
    }
    die_sys(111, "unable to enter the Maildir ", argv[1]);
  }
  clean_tmp(time(0));
  scan("new", &alloc);
  scan("cur", &alloc);
  if (nmsgs) qsort(msgs, nmsgs, sizeof *msgs, by_age);

  open_session = true;
  out("+OK \r\n");
  for (;;) {
    const char *a;
    size_t n, alen, v;
    if (pop3_getcmd(&line) == -1) continue;
    n = line.len;
    v = smtp_verb(line.s, n, &a, &alen);
    if (smtp_verb_is(line.s, v, "quit")) {
      update();
      out("+OK bye\r\n");
      leave();
    } else if (smtp_verb_is(line.s, v, "stat")) {
      unsigned long count = 0;
      unsigned long long bytes = 0;
      for (size_t i = 0; i < nmsgs; i++)
        if (!msgs[i].deleted) count++, bytes += (unsigned long long)msgs[i].size;
      out("+OK ");
      outulong(count);
      out(" ");
      outulong((unsigned long)bytes);
      out("\r\n");
    } else if (smtp_verb_is(line.s, v, "list")) {
      listing(a, alen, false);
    } else if (smtp_verb_is(line.s, v, "uidl")) {
      listing(a, alen, true);
    } else if (smtp_verb_is(line.s, v, "retr")) {
      long i = msgnum(a, alen, 0, 0);
      if (i >= 0) {
        msgs[i].retrieved = true;
        if ((size_t)i + 1 > last) last = (size_t)i + 1;
        send_msg((size_t)i, -1);
      }
    } else if (smtp_verb_is(line.s, v, "top")) {
      const char *r;
      size_t rl;
      unsigned long k;
      long i = msgnum(a, alen, &r, &rl);
      if (i < 0) continue;
      if (!count_arg(r, rl, &k))
        err("TOP needs a message number and a line count");
      else
        send_msg((size_t)i, k > 1000000000UL ? -1 : (long long)k);
    } else if (smtp_verb_is(line.s, v, "dele")) {
      long i = msgnum(a, alen, 0, 0);
      if (i >= 0) {
        msgs[i].deleted = true;
        /* LAST counts the messages touched by RETR (RFC 1725) and, as in
         * qmail, by DELE */
        if ((size_t)i + 1 > last) last = (size_t)i + 1;
        out("+OK\r\n");
      }
    } else if (smtp_verb_is(line.s, v, "rset")) {
      for (size_t i = 0; i < nmsgs; i++) msgs[i].deleted = false;
      last = 0;
      out("+OK\r\n");
    } else if (smtp_verb_is(line.s, v, "last")) {
      out("+OK ");
      outulong(last);
      out("\r\n");
    } else if (smtp_verb_is(line.s, v, "noop")) {
      out("+OK\r\n");
    } else if (smtp_verb_is(line.s, v, "capa")) {
      out("+OK capabilities follow\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\n.\r\n");
    } else {
      err("unknown command");
    }
  }
}
