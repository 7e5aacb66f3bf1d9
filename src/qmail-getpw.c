/* qmail-getpw: maps a local part to the account that receives it, from
 * the password database (qmail-lspawn asks it, as qmailp/nofiles, when
 * users/cdb has no answer; see qmail-getpw(8)).
 *
 *   qmail-getpw local
 *   qmail-getpw -s
 *
 * Prints "user\0uid\0gid\0home\0dash\0ext\0" on stdout.  The account is
 * the longest prefix of local ending at a break character (conf-break;
 * or the whole of local) that names a real mail user: the name lower
 * case and shorter than 32 bytes, uid not 0, home directory present and
 * owned by that uid.  Otherwise the alias account takes the whole local
 * part as its extension.  Exit 0 found, 111 temporary failure (the
 * password database could not be read, or the alias account is missing
 * or unusable: that defers the mail, as in qmail, never bounces it).
 *
 * With -s it serves qmail-lspawn: requests "local\0" on fd 0, one answer
 * each on fd 1, in order, until EOF: '+' and the six fields, or '!' and
 * a NUL-terminated reason (exit 111).  One
 * process for many lookups saves an exec per delivery. */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "num.h"
#include "sa.h"

const char *PROG = "qmail-getpw";

/* login names are short; anything longer is not worth a lookup */
#define NAME_MAX_LEN 31
/* a request is a local part; qmail-lspawn sends at most 4000 bytes */
#define REQ_MAX 4096

/* the outcome of one lookup */
enum { FOUND, TEMP };

struct result {
  const struct passwd *pw;
  const char *home, *dash, *ext;
  /* for TEMP: the reason, and whether errno belongs to it */
  const char *why, *what;
  int err;
};

static int temp(struct result *r, const char *why, const char *what, int err)
{
  r->why = why;
  r->what = what;
  r->err = err;
  return TEMP;
}

/* glibc reports "no such user" as 0, ENOENT, ESRCH, EBADF or EPERM */
static int notfound(int e)
{
  return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

/* a real account for name: 1 yes (pw set), 0 no, -1 a lookup error (a
 * broken NSS source must defer mail, not send it to alias) */
static int account(const char *name, struct passwd **pw, struct result *r)
{
  struct stat st;
  errno = 0;
  *pw = getpwnam(name);
  if (!*pw) {
    if (notfound(errno)) return 0;
    temp(r, "unable to read the password database for ", name, errno);
    return -1;
  }
  if ((*pw)->pw_uid == 0) return 0;
  if (stat((*pw)->pw_dir, &st) == -1) {
    if (errno == ENOENT || errno == ENOTDIR) return 0;
    temp(r, "unable to stat home directory of ", name, errno);
    return -1;
  }
  return st.st_uid == (*pw)->pw_uid;
}

/* The alias account's home is always this instance's QMAILHOME/alias, not
 * the one in the password file: several instances may share the account,
 * and each must use its own alias directory. */
static int alias_result(const char *local, struct result *r)
{
  static char home[4096];
  struct passwd *pw;
  struct stat st;
  size_t l = strlen(auto_qmail);
  if (l + sizeof "/alias" > sizeof home) return temp(r, "QMAILHOME is too long", "", 0);
  memcpy(home, auto_qmail, l);
  memcpy(home + l, "/alias", sizeof "/alias");
  errno = 0;
  pw = getpwnam(auto_usera);
  if (!pw) {
    /* no alias account: a broken or incomplete password database as
     * likely as a broken installation; the mail waits */
    if (notfound(errno)) return temp(r, "unable to find alias user ", auto_usera, 0);
    return temp(r, "unable to read the password database for ", auto_usera, errno);
  }
  if (pw->pw_uid == 0) return temp(r, "the alias account may not be root: ", auto_usera, 0);
  if (stat(home, &st) == -1) return temp(r, "unable to stat ", home, errno);
  if (st.st_uid != pw->pw_uid) {
    static char what[128];
    size_t u = strlen(auto_usera);
    if (u + sizeof " is not owned by " > sizeof what) return temp(r, home, " has the wrong owner", 0);
    memcpy(what, " is not owned by ", sizeof " is not owned by " - 1);
    memcpy(what + sizeof " is not owned by " - 1, auto_usera, u + 1);
    return temp(r, home, what, 0);
  }
  r->pw = pw;
  r->home = home;
  r->dash = "-";
  r->ext = local;
  return FOUND;
}

/* the lookup itself; the strings of r stay valid until the next call */
static int lookup(const char *local, struct result *r)
{
  static char name[NAME_MAX_LEN + 1];
  struct passwd *pw;
  size_t len = strlen(local), i;

  /* longest first: "joe-list-x" tries joe-list-x, joe-list, joe */
  for (i = len + 1; i-- > 0; ) {
    size_t k;
    int a;
    if (i < len && !strchr(auto_break, local[i])) continue;
    if (i == 0 || i > NAME_MAX_LEN) continue;
    if (!auto_break[0] && i < len) continue;
    for (k = 0; k < i; ++k) {
      char c = local[k];
      name[k] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    name[i] = 0;
    a = account(name, &pw, r);
    if (a == -1) return TEMP;
    if (a == 1) {
      r->pw = pw;
      r->home = pw->pw_dir;
      r->dash = i < len ? "-" : "";
      r->ext = i < len ? local + i + 1 : "";
      return FOUND;
    }
  }
  return alias_result(local, r);
}

static void out(const char *s)
{
  if (buf_put(buf1, s, strlen(s) + 1) == -1) die_sys(111, "unable to write output");
}

static void put_fields(const struct result *r)
{
  char num[FMT_ULONG];
  out(r->pw->pw_name);
  num[fmt_ulong(num, (unsigned long)r->pw->pw_uid)] = 0;
  out(num);
  num[fmt_ulong(num, (unsigned long)r->pw->pw_gid)] = 0;
  out(num);
  out(r->home);
  out(r->dash);
  out(r->ext);
}

static void serve(void)
{
  sa_t req = SA_INIT;
  for (;;) {
    struct result r;
    int k;
    req.len = 0;
    k = buf_getln(buf0, &req, 0, REQ_MAX);
    if (k == -1 && errno == E2BIG) {
      /* skip the rest of the request; it still gets its one answer */
      do { req.len = 0; k = buf_getln(buf0, &req, 0, REQ_MAX); } while (k == -1 && errno == E2BIG);
      if (k != 1) break;
      out("!request too long");
    } else if (k == -1) {
      die_sys(111, "unable to read request");
    } else if (k == 0) {
      break; /* EOF; a partial last request gets no answer */
    } else {
      switch (lookup(req.s, &r)) {
      case FOUND:
        if (buf_put(buf1, "+", 1) == -1) die_sys(111, "unable to write output");
        put_fields(&r);
        break;
      default:
        if (buf_put(buf1, "!", 1) == -1 || buf_puts(buf1, r.why) == -1 || buf_puts(buf1, r.what) == -1)
          die_sys(111, "unable to write output");
        if (r.err && (buf_puts(buf1, ": ") == -1 || buf_puts(buf1, strerror(r.err)) == -1))
          die_sys(111, "unable to write output");
        out("");
      }
    }
    /* answer now unless the next request is already here */
    if (!buf0->len && buf_flush(buf1) == -1) die_sys(111, "unable to write output");
  }
  if (buf_flush(buf1) == -1) die_sys(111, "unable to write output");
  _exit(0);
}

int main(int argc, char **argv)
{
  struct result r;
  if (argc == 2 && !strcmp(argv[1], "-s")) serve();
  if (argc != 2) die_usage("qmail-getpw local | qmail-getpw -s");
  switch (lookup(argv[1], &r)) {
  case FOUND:
    put_fields(&r);
    if (buf_flush(buf1) == -1) die_sys(111, "unable to write output");
    _exit(0);
  default:
    errno = r.err;
    die_(111, r.err != 0, r.why, r.what, (const char *)0);
  }
}
