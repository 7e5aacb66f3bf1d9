/* local: the delivery of one message to one local recipient, as that
 * recipient's user: the whole of qmail-local (see qmail-local(8)), which
 * qmail-lspawn also runs in its forked child without an exec.
 *
 *   qmail-local [-nN] [--] user home local dash ext domain sender defaultdelivery
 *
 * stdin is the message (must be seekable: it is read once per delivery
 * instruction).  The report for qmail-send goes to stdout: "did F+W+P" on
 * success, else one line ending in an enhanced status code.  Exit 0 ok,
 * 100 permanent failure, 111 temporary failure.
 *
 * Structure: local_main sets up the recipient (lines, checks), pick_qmail()
 * decides which instructions apply (a .qmail file or defaultdelivery),
 * run() executes them one by one (do_maildir, do_mbox, do_program,
 * collecting forwards), then the forwards go out in one qmail-queue run. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "aliases.h"
#include "auto.h"
#include "buf.h"
#include "deliver.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "queue.h"
#include "local.h"
#include "sa.h"

#define USAGE "qmail-local [-nN] [--] user home local dash ext domain sender defaultdelivery"
/* a .qmail file is a short list of instructions; anything bigger is a
 * mistake (or an attack on our memory) */
#define QMAIL_MAX ((size_t)1 << 20)
/* the mode bits that must not be set on the home directory and .qmail
 * files (qmail's conf-patrn default: world-writable) */
#define PATRN 002
/* sendmail refuses a .forward that others can change; so do we */
#define FWD_PATRN 022
/* default limit on the run time of one |program (control/timeoutlocal):
 * a program that never exits must not hold a delivery slot for a day */
#define TIMEOUT_DEFAULT 3600

static const char *user, *home, *local, *dash, *ext, *domain, *sender, *dfl;
static sa_t recip, rpline, dtline, ufline, newsender, deflt;
static sa_t qfile;        /* name of the .qmail file in use ("" if none) */
static sa_t fwd;          /* forward targets, NUL-terminated */
static bool flagdeliver = true, forwardonly;
static unsigned long nfiles, nforwards, nprograms;
static pid_t qp;            /* qmail-queue of the forwards, 0 if none */
static unsigned long timeout = TIMEOUT_DEFAULT;
static const char *breaks;  /* '-' and the conf-break characters */
static bool isalias;        /* we are the alias account */
static bool fromaliases;    /* the instructions came from aliases.cdb */

/* ---- the report ---- */

static char outspace[1024];
static buf_t out = BUF_INIT(buf_write_op, 1, outspace, sizeof outspace);

/* a failure: its line goes to stderr, as qmail's does (under
 * qmail-lspawn stdout and stderr are the same pipe, so the report does
 * not change); what -n printed before it goes out first */
static _Noreturn void finish(int code, const char *s, ...)
{
  char espace[512];
  buf_t err = BUF_INIT(buf_write_op, 2, espace, sizeof espace);
  va_list ap;
  buf_flush(&out);
  va_start(ap, s);
  for (; s; s = va_arg(ap, const char *)) buf_puts(&err, s);
  va_end(ap);
  buf_puts(&err, "\n");
  buf_flush(&err);
  _exit(code);
}
#define temp(...) finish(111, __VA_ARGS__, (const char *)0)
#define perm(...) finish(100, __VA_ARGS__, (const char *)0)
#define temp_nomem() temp("Out of memory. (#4.3.0)")

/* ---- setup ---- */

static void xcat(sa_t *x, const char *s) { if (!sa_cats(x, s)) temp_nomem(); }

static void setup_lines(void)
{
  if (!sa_copys(&recip, local) || !sa_append(&recip, '@') || !sa_cats(&recip, domain) ||
      !sa_0(&recip) || !deliver_rpline(&rpline, sender) || !deliver_dtline(&dtline, recip.s) ||
      !deliver_ufline(&ufline, sender, time(0)) || !sa_copys(&newsender, sender) || !sa_0(&newsender))
    temp_nomem();
}

static void check_home(void)
{
  struct stat st;
  if (chdir(home) == -1) temp("Unable to switch to ", home, ": ", strerror(errno), ". (#4.3.0)");
  if (stat(".", &st) == -1) temp("Unable to stat home directory: ", strerror(errno), ". (#4.3.0)");
  if (st.st_mode & PATRN) temp("Uh-oh: home directory is writable by others. (#4.7.0)");
  if (st.st_mode & S_ISVTX) {
    if (flagdeliver) temp("Home directory is sticky: user is editing his .qmail file. (#4.2.1)");
    warn("home directory is sticky");
  }
}

/* ---- which instructions ---- */

/* appends ext with the characters that must not reach a file name turned
 * into ':' ('.' so that no name can contain "..", '/' so that no name can
 * reach into a directory) and folded to lower case */
static void cat_ext(sa_t *x, const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    char c = s[i];
    if (c == '.' || c == '/') c = ':';
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (!sa_append(x, c)) temp_nomem();
  }
}

/* opens .qmail<dash><name...>: fd, or -1 if absent (ENOENT, a name too
 * long to exist, or not a regular file); temporary failure on any other
 * error */
static int open_qmail(const sa_t *name, struct stat *st)
{
  int fd = open(name->s, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd == -1) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG) return -1;
    temp("Unable to open ", name->s, ": ", strerror(errno), ". (#4.2.1)");
  }
  if (fstat(fd, st) == -1) temp("Unable to stat ", name->s, ": ", strerror(errno), ". (#4.3.0)");
  if (!S_ISREG(st->st_mode)) { close(fd); return -1; }
  return fd;
}

static void qname(sa_t *x, const char *e, size_t elen, const char *suffix)
{
  x->len = 0;
  xcat(x, ".qmail");
  xcat(x, dash);
  cat_ext(x, e, elen);
  xcat(x, suffix);
  if (!sa_0(x)) temp_nomem();
}

static bool exists_reg(const sa_t *name)
{
  struct stat st;
  int fd = open_qmail(name, &st);
  if (fd == -1) return false;
  close(fd);
  return true;
}

static void aliases_path(sa_t *x)
{
  if (!sa_copys(x, auto_qmail) || !sa_append(x, '/') || !sa_cats(x, ALIASES_CDB) || !sa_0(x))
    temp_nomem();
}

/* aliases.cdb (newaliases(8)) for the alias account: the entry for ext
 * turned into .qmail lines in text.  false if there is none.  The targets
 * run as the alias account, never as root. */
static bool from_aliases(sa_t *text)
{
  sa_t v = SA_INIT, path = SA_INIT;
  aliases_walk_t w;
  const char *t;
  size_t tl;
  char type;
  int r;
  aliases_path(&path);
  r = aliases_lookup(path.s, ext, strlen(ext), &v);
  if (r == -1) temp("Unable to read ", path.s, ": ", strerror(errno), ". (#4.3.0)");
  sa_free(&path);
  if (r == 0) return false;
  text->len = 0;
  aliases_walk_init(&w, v.s, v.len);
  while ((r = aliases_walk(&w, &type, &t, &tl)) == 1) {
    /* newaliases lets no control character through but tab: a newline
     * here would smuggle in another instruction */
    if (memchr(t, '\n', tl) || (type == ALIASES_FILE && t[0] != '/')) r = -1;
    if (r == -1) break;
    if (type == ALIASES_ADDR) xcat(text, "&");
    else if (type == ALIASES_PROG) xcat(text, "|");
    if (!sa_catb(text, t, tl) || !sa_append(text, '\n')) temp_nomem();
  }
  sa_free(&v);
  if (r == -1) temp("aliases.cdb is corrupt. (#4.3.0)");
  /* an alias with no targets (an empty :include:) delivers to nobody,
   * not to the default delivery */
  if (!text->len) xcat(text, "#\n");
  fromaliases = true;
  return true;
}

/* finds the .qmail file for ext (exact, then ext-with-tail-replaced by
 * "default", shortest last) and reads it into text.  Returns false if
 * there is none.  Sets $DEFAULT for -default matches. */
static bool find_qmail(sa_t *text)
{
  size_t elen = strlen(ext), i;
  struct stat st;
  int fd;
  ssize_t r;

  qname(&qfile, ext, elen, "");
  fd = open_qmail(&qfile, &st);
  /* the alias account: an exact ~alias/.qmail-name wins, then
   * aliases.cdb, then the -default files (the admin's catch-all) */
  if (fd == -1 && isalias && from_aliases(text)) { qfile.len = 0; return true; }
  /* an exact name that ends in "default" sets $DEFAULT too, as qmail's
   * does: to the extension's last 7 characters */
  if (fd != -1 && elen >= 7 && !strcasecmp(ext + elen - 7, "default") &&
      (!sa_copys(&deflt, ext + elen - 7) || !sa_0(&deflt)))
    temp_nomem();
  /* -default search: only for extension addresses, from the longest
   * prefix that ends at a '-' down to .qmail<dash>default */
  for (i = elen; fd == -1 && *dash; ) {
    while (i > 0 && !strchr(breaks, ext[i - 1])) --i;
    qname(&qfile, ext, i, "default");
    fd = open_qmail(&qfile, &st);
    if (fd != -1) {
      if (!sa_copys(&deflt, ext + i) || !sa_0(&deflt)) temp_nomem();
      break;
    }
    if (i == 0) break;
    --i;
  }
  if (fd == -1) { qfile.len = 0; return false; }
  if (st.st_mode & PATRN) temp("Uh-oh: ", qfile.s, " is writable by others. (#4.7.0)");
  if (st.st_mode & S_IXUSR) forwardonly = true;
  if ((size_t)st.st_size > QMAIL_MAX) temp(qfile.s, " is too big. (#4.2.1)");
  text->len = 0;
  for (;;) {
    if (!sa_readyplus(text, 4096)) temp_nomem();
    r = read(fd, text->s + text->len, text->a - text->len);
    if (r == -1) {
      if (errno == EINTR) continue;
      temp("Unable to read ", qfile.s, ": ", strerror(errno), ". (#4.2.1)");
    }
    if (r == 0) break;
    text->len += (size_t)r;
    if (text->len > QMAIL_MAX) temp(qfile.s, " is too big. (#4.2.1)");
  }
  close(fd);
  return true;
}

/* -owner: a mailing list's bounces go to its owner address (VERP when an
 * -owner-default file exists too; qmail-send expands the -@[] form) */
static void owner(void)
{
  sa_t n = SA_INIT;
  size_t elen = strlen(ext);
  if (!*sender || !strcmp(sender, "#@[]")) return;
  if (fromaliases) {
    /* sendmail's convention: bounces of alias "x" go to "owner-x" */
    sa_t v = SA_INIT, path = SA_INIT;
    int r;
    xcat(&n, "owner-");
    xcat(&n, ext);
    aliases_path(&path);
    r = aliases_lookup(path.s, n.s, n.len, &v);
    if (r == -1) temp("Unable to read ", path.s, ": ", strerror(errno), ". (#4.3.0)");
    if (r == 1) {
      newsender.len = 0;
      xcat(&newsender, "owner-");
      xcat(&newsender, local);
      xcat(&newsender, "@");
      xcat(&newsender, domain);
      if (!sa_0(&newsender)) temp_nomem();
    }
    sa_free(&v);
    sa_free(&path);
    sa_free(&n);
    return;
  }
  qname(&n, ext, elen, "-owner");
  if (!exists_reg(&n)) { sa_free(&n); return; }
  newsender.len = 0;
  xcat(&newsender, local);
  xcat(&newsender, "-owner");
  qname(&n, ext, elen, "-owner-default");
  if (exists_reg(&n)) {
    xcat(&newsender, "-@");
    xcat(&newsender, domain);
    xcat(&newsender, "-@[]");
  } else {
    xcat(&newsender, "@");
    xcat(&newsender, domain);
  }
  if (!sa_0(&newsender)) temp_nomem();
  sa_free(&n);
}

/* ---- sendmail's ~/.forward ---- */

/* one .forward entry as a .qmail line in text */
static void fwd_item(sa_t *text, const char *t, size_t n, bool *copied)
{
  size_t i;
  if (!n) return;
  if (t[0] == '|') {
    for (i = 1; i < n && (t[i] == ' ' || t[i] == '\t'); ++i) {}
    if (i == n) return;
    xcat(text, "|");
    if (!sa_catb(text, t + i, n - i) || !sa_append(text, '\n')) temp_nomem();
    return;
  }
  if (t[0] == '/') {
    if (!sa_catb(text, t, n) || !sa_append(text, '\n')) temp_nomem();
    return;
  }
  if (n >= 9 && !strncasecmp(t, ":include:", 9))
    temp("Uh-oh: .forward uses :include:, which is not supported here. (#4.7.0)");
  if (t[0] == '\\') {
    ++t;
    --n;
    /* \user: keep a copy in the user's own (default) delivery */
    if ((strlen(user) == n && !strncasecmp(t, user, n)) ||
        (strlen(local) == n && !strncasecmp(t, local, n))) {
      if (!*copied) {
        xcat(text, dfl);
        if (!sa_append(text, '\n')) temp_nomem();
      }
      *copied = true;
      return;
    }
    if (!n) return;
  }
  for (i = 0; i < n; ++i)
    if ((unsigned char)t[i] <= ' ' || t[i] == 127 || t[i] == '<' || t[i] == '>')
      temp("Uh-oh: .forward has an address with a blank or a control character. (#4.7.0)");
  xcat(text, "&");
  if (!sa_catb(text, t, n)) temp_nomem();
  /* a bare name is a local user of the recipient's domain */
  if (!memchr(t, '@', n)) { xcat(text, "@"); xcat(text, domain); }
  if (!sa_append(text, '\n')) temp_nomem();
}

/* reads ~/.forward (for a basic address without any .qmail file) into
 * text as .qmail lines: entries are separated by commas, blanks and
 * newlines; "..." quotes an entry; a |program runs to the end of its
 * line; # starts a comment line.  Leaves text empty without a .forward
 * (or one with no entries). */
static void dot_forward(sa_t *text)
{
  sa_t f = SA_INIT, tok = SA_INIT;
  struct stat st;
  bool copied = false;
  size_t i, j;
  int fd = open(".forward", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd == -1) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return;
    temp("Unable to open .forward: ", strerror(errno), ". (#4.2.1)");
  }
  if (fstat(fd, &st) == -1) temp("Unable to stat .forward: ", strerror(errno), ". (#4.3.0)");
  if (!S_ISREG(st.st_mode)) { close(fd); return; }
  if (st.st_mode & FWD_PATRN) temp("Uh-oh: .forward is writable by group or others. (#4.7.0)");
  if (st.st_uid != getuid() && st.st_uid != 0) temp("Uh-oh: .forward is not owned by the user. (#4.7.0)");
  for (;;) {
    ssize_t r;
    if (!sa_readyplus(&f, 4096)) temp_nomem();
    r = read(fd, f.s + f.len, f.a - f.len);
    if (r == -1) {
      if (errno == EINTR) continue;
      temp("Unable to read .forward: ", strerror(errno), ". (#4.2.1)");
    }
    if (r == 0) break;
    f.len += (size_t)r;
    if (f.len > QMAIL_MAX) temp(".forward is too big. (#4.2.1)");
  }
  close(fd);
  text->len = 0;
  for (i = 0; i < f.len; i = j + 1) {
    const char *l = f.s + i, *nl = memchr(l, '\n', f.len - i);
    size_t n = nl ? (size_t)(nl - l) : f.len - i, k = 0;
    j = i + n;
    while (n && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r')) --n;
    while (k < n && (l[k] == ' ' || l[k] == '\t')) ++k;
    if (k == n || l[k] == '#') continue;
    while (k < n) {
      if (l[k] == ',' || l[k] == ' ' || l[k] == '\t') { ++k; continue; }
      if (l[k] == '|') { fwd_item(text, l + k, n - k, &copied); break; }
      tok.len = 0;
      if (l[k] == '"') {
        for (++k; k < n && l[k] != '"'; ++k) {
          if (l[k] == '\\' && k + 1 < n) ++k;
          if (!sa_append(&tok, l[k])) temp_nomem();
        }
        if (k == n) temp("Uh-oh: .forward has an unbalanced quote. (#4.7.0)");
        ++k;
      } else {
        size_t e = k;
        while (e < n && l[e] != ',' && l[e] != ' ' && l[e] != '\t') ++e;
        if (!sa_catb(&tok, l + k, e - k)) temp_nomem();
        k = e;
      }
      for (size_t z = 0; z < tok.len; ++z)
        if (!tok.s[z] || tok.s[z] == '\r') temp("Uh-oh: .forward has a control character. (#4.7.0)");
      fwd_item(text, tok.s, tok.len, &copied);
    }
  }
  sa_free(&f);
  sa_free(&tok);
}

/* ---- environment for programs ---- */

static void xsetenv(const char *k, const char *v)
{
  if (setenv(k, v, 1) == -1) temp_nomem();
}

/* s with its last n dot-separated components removed, as qmail does
 * it: a component goes only while a dot is left, so "localhost" stays
 * "localhost" and "a.test" becomes "a" however many are asked for */
static void env_cut_host(const char *k, const char *s, unsigned n)
{
  sa_t x = SA_INIT;
  size_t len = strlen(s);
  while (n--) {
    const char *dot = memrchr(s, '.', len);
    if (!dot) break;
    len = (size_t)(dot - s);
  }
  if (!sa_copyb(&x, s, len) || !sa_0(&x)) temp_nomem();
  xsetenv(k, x.s);
  sa_free(&x);
}

/* EXT2..4: ext after the first 1..3 break characters */
static void env_cut_ext(const char *k, const char *s, unsigned n)
{
  while (n--) {
    const char *p = s + strcspn(s, breaks);
    if (!*p) { s = ""; break; }
    s = p + 1;
  }
  xsetenv(k, s);
}

static void setup_env(void)
{
  sa_t x = SA_INIT;
  xsetenv("SENDER", sender);
  xsetenv("NEWSENDER", newsender.s);
  xsetenv("RECIPIENT", recip.s);
  xsetenv("USER", user);
  xsetenv("HOME", home);
  xsetenv("LOCAL", local);
  xsetenv("HOST", domain);
  env_cut_host("HOST2", domain, 1);
  env_cut_host("HOST3", domain, 2);
  env_cut_host("HOST4", domain, 3);
  xsetenv("EXT", ext);
  env_cut_ext("EXT2", ext, 1);
  env_cut_ext("EXT3", ext, 2);
  env_cut_ext("EXT4", ext, 3);
  if (deflt.len) xsetenv("DEFAULT", deflt.s); else unsetenv("DEFAULT");
  if (!sa_copy(&x, &dtline) || !sa_0(&x)) temp_nomem();
  xsetenv("DTLINE", x.s);
  if (!sa_copy(&x, &rpline) || !sa_0(&x)) temp_nomem();
  xsetenv("RPLINE", x.s);
  if (!sa_copy(&x, &ufline) || !sa_0(&x)) temp_nomem();
  xsetenv("UFLINE", x.s);
  sa_free(&x);
}

/* ---- instructions ---- */

static void hdr(deliver_hdr_t *h, bool uf)
{
  h->uf = uf ? ufline.s : 0;
  h->uflen = uf ? ufline.len : 0;
  h->rp = rpline.s;
  h->rplen = rpline.len;
  h->dt = dtline.s;
  h->dtlen = dtline.len;
}

/* true while the default delivery (no .qmail) is being followed */
static bool flagdefault;

/* The default delivery's Maildir inside the home is made when it does not
 * exist at all, so a new account gets mail without an admin step (qmail
 * defers until someone runs maildirmake).  A Maildir that exists but lacks
 * tmp/ or new/ is broken, not new: that still defers. */
static void maildir_make(const char *dir)
{
  sa_t d = SA_INIT;
  struct stat st;
  static const char *const sub[] = {"tmp", "new", "cur"};
  if (!flagdefault || dir[0] == '/' || strstr(dir, "..")) return;
  if (lstat(dir, &st) == 0 || errno != ENOENT) return;
  if (mkdir(dir, 0700) == -1 && errno != EEXIST) return; /* delivery reports it */
  for (size_t i = 0; i < 3; i++) {
    if (!sa_copys(&d, dir) || !sa_append(&d, '/') || !sa_cats(&d, sub[i]) || !sa_0(&d)) temp_nomem();
    if (mkdir(d.s, 0700) == -1 && errno != EEXIST) break;
  }
  sa_free(&d);
}

static void do_maildir(const char *dir)
{
  deliver_hdr_t h;
  sa_t why = SA_INIT;
  hdr(&h, false);
  if (flagdeliver) maildir_make(dir);
  if (deliver_maildir(dir, 0, &h, &why) == -1) {
    if (!sa_0(&why)) temp_nomem();
    temp(why.s);
  }
  sa_free(&why);
  ++nfiles;
}

static void do_mbox(const char *path)
{
  deliver_hdr_t h;
  sa_t why = SA_INIT;
  hdr(&h, true);
  if (deliver_mbox(path, 0, &h, &why) == -1) {
    if (!sa_0(&why)) temp_nomem();
    temp(why.s);
  }
  sa_free(&why);
  ++nfiles;
}

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig) { (void)sig; alarmed = 1; }

/* runs /bin/sh -c cmd with the message on stdin; true if the program
 * exited 99 (stop processing this .qmail).  The program gets its own
 * session, so that at the timeout the whole group (sh and whatever it
 * started) can be killed. */
static bool do_program(const char *cmd)
{
  int w, code;
  bool killed = false;
  char num[FMT_ULONG];
  pid_t pid;
  /* the address and sender come from the network: a value that a bash
   * from before 2014 would take for a function definition (and run what
   * follows it) is never handed to a shell */
  for (char **e = environ; *e; e++) {
    const char *v = strchr(*e, '=');
    if (v && v[1] == '(' && v[2] == ')') {
      sa_t name = SA_INIT;
      if (!sa_catb(&name, *e, (size_t)(v - *e)) || !sa_0(&name)) temp_nomem();
      perm("Refusing to run a program: $", name.s, " would look like a shell function to bash. (#5.7.1)");
    }
  }
  if (buf_flush(&out) == -1) temp("Unable to write report. (#4.3.0)");
  if (lseek(0, 0, SEEK_SET) == -1) temp("Unable to rewind message: ", strerror(errno), ". (#4.3.0)");
  pid = fork();
  if (pid == -1) temp("Unable to fork: ", strerror(errno), ". (#4.3.0)");
  if (pid == 0) {
    const char *args[] = {"/bin/sh", "-c", cmd, 0};
    (void)setsid();
    sig_default(SIGALRM);
    sig_default(SIGPIPE);
    sig_default(SIGXFSZ);
    alarm(0);
    execv(args[0], (char *const *)args);
    _exit(111);
  }
  alarmed = 0;
  sig_catch(SIGALRM, on_alarm);
  alarm((unsigned)timeout);
  for (;;) {
    pid_t r = waitpid(pid, &w, 0);
    if (r == pid) break;
    if (r == -1 && errno == EINTR) {
      if (alarmed && !killed) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        killed = true;
      }
      continue;
    }
    temp("Unable to wait for program: ", strerror(errno), ". (#4.3.0)");
  }
  alarm(0);
  sig_default(SIGALRM);
  alarm(86400);
  ++nprograms;
  if (killed) {
    num[fmt_ulong(num, timeout)] = 0;
    temp("Program did not finish within ", num, " seconds (control/timeoutlocal); killed. (#4.3.0)");
  }
  if (!WIFEXITED(w)) temp("Program crashed. (#4.3.0)");
  code = WEXITSTATUS(w);
  switch (code) {
  case 0: return false;
  case 99: return true;
  /* the sysexits codes that mean "this will never work" */
  case 64: case 65: case 70: case 76: case 77: case 78: case 100: case 112:
    perm("Program failed permanently. (#5.2.0)");
  default:
    temp("Program failed temporarily. (#4.2.0)");
  }
}

static void add_forward(const char *addr)
{
  if (!*addr) return;
  if (strlen(addr) > QUEUE_ADDR_MAX) perm("Forwarding address is too long. (#5.1.3)");
  if (!sa_cats(&fwd, addr) || !sa_0(&fwd)) temp_nomem();
  ++nforwards;
}

static void do_forwards(void)
{
  qq_t q;
  const char *r;
  size_t i;
  if (!fwd.len) return;
  if (qq_open(&q, false) == -1) temp("Unable to run qmail-queue: ", strerror(errno), ". (#4.3.0)");
  qq_put(&q, dtline.s, dtline.len);
  if (lseek(0, 0, SEEK_SET) == -1) temp("Unable to rewind message: ", strerror(errno), ". (#4.3.0)");
  if (qq_copyfd(&q, 0) == -1) temp("Unable to read message: ", strerror(errno), ". (#4.3.0)");
  qq_from(&q, newsender.s);
  for (i = 0; i < fwd.len; i += strlen(fwd.s + i) + 1) qq_to(&q, fwd.s + i);
  r = qq_close(&q);
  if (*r) {
    if (*r == 'D') perm("Unable to forward message: ", r + 1);
    temp("Unable to forward message: ", r + 1);
  }
  qp = q.pid;
}

/* kinds of lines, for -n and run() */
enum kind { K_SKIP, K_PROGRAM, K_FORWARD, K_MAILDIR, K_MBOX, K_FWDONLY };

static enum kind classify(char *line, const char **arg)
{
  size_t n = strlen(line);
  while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
  *arg = line;
  switch (line[0]) {
  case 0: case '#': return K_SKIP;
  case '|': *arg = line + 1; return K_PROGRAM;
  /* only the exact line +list turns on forward-only mode, for the lines
   * after it; any other + line is ignored (as qmail does) */
  case '+': return strcmp(line, "+list") ? K_SKIP : K_FWDONLY;
  case '&': *arg = line + 1; return K_FORWARD;
  case '.': case '/': return line[n - 1] == '/' ? K_MAILDIR : K_MBOX;
  default: return K_FORWARD;
  }
}

/* executes the instructions in text (LF-separated, modified in place) */
static void run(sa_t *text)
{
  size_t i = 0, lineno = 0;
  /* qmail's reading: the text is a list of lines, the last one ended by
   * LF even when the file (or the default delivery) lacks it.  So even a
   * text of blanks alone has a first line, and a blank one defers. */
  if ((!text->len || text->s[text->len - 1] != '\n') && !sa_append(text, '\n')) temp_nomem();
  if (!sa_0(text)) temp_nomem();
  --text->len; /* the NUL stays after the last LF */
  for (i = 0; i < text->len; ++lineno) {
    char *line = text->s + i, *nl = memchr(line, '\n', text->len - i);
    const char *arg;
    enum kind k;
    /* every line ends in LF now; a NUL inside one ends its instruction,
     * the rest of that line is ignored */
    *nl = 0;
    i = (size_t)(nl - text->s) + 1;
    k = classify(line, &arg);
    /* blank after trailing blanks are dropped, as qmail sees it */
    if (lineno == 0 && !*line)
      temp("Uh-oh: first line of .qmail file is blank. (#4.2.1)");
    if ((k == K_PROGRAM || k == K_MAILDIR || k == K_MBOX) && forwardonly)
      temp("Uh-oh: .qmail has file or program delivery but has forward-only mode set. (#4.7.0)");
    if (k == K_FWDONLY) forwardonly = true;
    if (!flagdeliver) {
      static const char *const names[] = {"", "program", "forward", "maildir", "mbox", ""};
      /* a forward to nobody ("&" alone) is skipped, as in a delivery */
      if (k != K_SKIP && k != K_FWDONLY && !(k == K_FORWARD && !*arg)) {
        /* counted as a delivery would count them, for the did line */
        if (k == K_PROGRAM) ++nprograms;
        else if (k == K_FORWARD) ++nforwards;
        else ++nfiles;
        buf_puts(&out, names[k]);
        buf_puts(&out, " ");
        buf_puts(&out, arg);
        buf_puts(&out, "\n");
      }
      continue;
    }
    switch (k) {
    case K_SKIP: case K_FWDONLY: break;
    case K_MAILDIR: do_maildir(arg); break;
    case K_MBOX: do_mbox(arg); break;
    case K_FORWARD: add_forward(arg); break;
    case K_PROGRAM:
      if (do_program(arg)) return; /* 99: stop, earlier forwards still go */
      break;
    }
  }
}

static void setup_breaks(void)
{
  static char b[64];
  size_t n = 0, i;
  b[n++] = '-';
  for (i = 0; auto_break[i] && n < sizeof b - 1; ++i)
    if (!memchr(b, auto_break[i], n)) b[n++] = auto_break[i];
  b[n] = 0;
  breaks = b;
}

/* control/timeoutlocal: seconds a |program may run (0 or more than a day:
 * a day, the limit of the whole delivery) */
static void read_timeout_control(void)
{
  sa_t path = SA_INIT, x = SA_INIT;
  unsigned long u;
  int r;
  xcat(&path, auto_qmail);
  xcat(&path, "/control/timeoutlocal");
  if (!sa_0(&path)) temp_nomem();
  r = read_file(path.s, &x, 4096);
  if (r == -1) temp("Unable to read ", path.s, ": ", strerror(errno), ". (#4.3.0)");
  if (r == 1 && sa_0(&x) && scan_ulong(x.s, &u)) timeout = u;
  if (timeout == 0 || timeout > 86400) timeout = 86400;
  sa_free(&path);
  sa_free(&x);
}

_Noreturn void local_main(int argc, char **argv)
{
  sa_t text = SA_INIT;
  struct stat st;
  int i = 1;

  PROG = "qmail-local";
  /* options as getopt takes them: -n, -N, bundled (-nN: the last wins) */
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; ++i) {
    if (!strcmp(argv[i], "--")) { ++i; break; }
    for (const char *o = argv[i] + 1; *o; o++)
      if (*o == 'n') flagdeliver = false;
      else if (*o == 'N') flagdeliver = true;
      else die_usage(USAGE);
  }
  if (argc - i != 8) die_usage(USAGE);
  user = argv[i]; home = argv[i + 1]; local = argv[i + 2]; dash = argv[i + 3];
  ext = argv[i + 4]; domain = argv[i + 5]; sender = argv[i + 6]; dfl = argv[i + 7];
  /* qmail takes a home that is not absolute for a usage error */
  if (home[0] != '/') die_usage(USAGE);
  /* whatever a delivery creates (an mbox, a Maildir) is the user's alone */
  umask(077);

  /* writing past RLIMIT_FSIZE must give EFBIG (and a clean truncation),
   * not kill us halfway through an mbox */
  sig_ignore(SIGXFSZ);
  sig_default(SIGPIPE);
  alarm(86400); /* nothing local may take a day */
  if (flagdeliver && getuid() == 0) temp("Refusing to deliver as root. (#4.3.0)");
  setup_breaks();
  isalias = !strcmp(user, auto_usera);

  setup_lines();
  check_home();
  if (flagdeliver) {
    if (fstat(0, &st) == -1 || lseek(0, 0, SEEK_SET) == -1)
      temp("Message is not a seekable file on stdin. (#4.3.0)");
    switch (deliver_looping(0, dtline.s, dtline.len)) {
    case 1: perm("This message is looping: it already has my Delivered-To line. (#5.4.6)");
    case -1: temp("Unable to read message: ", strerror(errno), ". (#4.3.0)");
    }
  }

  if (!find_qmail(&text)) {
    if (*dash) perm("Sorry, no mailbox here by that name. (#5.1.1)");
    text.len = 0;
    /* sendmail compatibility, for the basic address only: extension
     * addresses are a qmail notion and need .qmail-ext files */
    if (!*ext && !isalias) dot_forward(&text);
  }
  if (!text.len) {
    /* no .qmail, or an empty one: the default delivery, which is itself
     * .qmail text (e.g. "./Maildir/" or "|preline procmail") */
    qfile.len = 0;
    if (!sa_copys(&text, dfl)) temp_nomem();
    forwardonly = false;
    flagdefault = true;
  }
  owner();
  setup_env();
  /* only program lines need it: read before anything is delivered, and
   * not at all for the usual mailbox delivery */
  if (memchr(text.s, '|', text.len)) read_timeout_control();
  run(&text);
  if (flagdeliver) do_forwards();
  buf_puts(&out, "did ");
  buf_putulong(&out, nfiles);
  buf_puts(&out, "+");
  buf_putulong(&out, nforwards);
  buf_puts(&out, "+");
  buf_putulong(&out, nprograms);
  buf_puts(&out, "\n");
  if (qp) {
    buf_puts(&out, "qp ");
    buf_putulong(&out, (unsigned long)qp);
    buf_puts(&out, "\n");
  }
  if (buf_flush(&out) == -1) _exit(111);
  _exit(0);
}
