/* qmail-getpw: maps a local part to the account that receives it, from
 * the password database (qmail-lspawn runs it as qmailp/nofiles when
 * users/cdb has no answer; see qmail-getpw(8)).
 *
 *   qmail-getpw local
 *
 * Prints "user\0uid\0gid\0home\0dash\0ext\0" on stdout.  The account is
 * the longest prefix of local ending at a break character (conf-break;
 * or the whole of local) that names a real mail user: the name lower
 * case and shorter than 32 bytes, uid not 0, home directory present and
 * owned by that uid.  Otherwise the alias account takes the whole local
 * part as its extension.  Exit 0 found, 100 no user and no alias, 111
 * temporary failure (the password database could not be read). */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "num.h"

const char *PROG = "qmail-getpw";

/* login names are short; anything longer is not worth a lookup */
#define NAME_MAX_LEN 31

/* a real account for name: 1 yes (pw set), 0 no, dies 111 on a lookup
 * error (a broken NSS source must defer mail, not send it to alias) */
static int account(const char *name, struct passwd **pw)
{
  struct stat st;
  errno = 0;
  *pw = getpwnam(name);
  if (!*pw) {
    /* glibc reports "no such user" as 0, ENOENT, ESRCH, EBADF or EPERM */
    if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF || errno == EPERM)
      return 0;
    die_sys(111, "unable to read the password database for ", name);
  }
  if ((*pw)->pw_uid == 0) return 0;
  if (stat((*pw)->pw_dir, &st) == -1) {
    if (errno == ENOENT || errno == ENOTDIR) return 0;
    die_sys(111, "unable to stat home directory of ", name);
  }
  return st.st_uid == (*pw)->pw_uid;
}

static void out(const char *s)
{
  if (buf_put(buf1, s, strlen(s) + 1) == -1) die_sys(111, "unable to write output");
}

static void result_home(const struct passwd *pw, const char *home, const char *dash, const char *ext)
{
  char num[FMT_ULONG];
  out(pw->pw_name);
  num[fmt_ulong(num, (unsigned long)pw->pw_uid)] = 0;
  out(num);
  num[fmt_ulong(num, (unsigned long)pw->pw_gid)] = 0;
  out(num);
  out(home);
  out(dash);
  out(ext);
  if (buf_flush(buf1) == -1) die_sys(111, "unable to write output");
  _exit(0);
}

static void result(const struct passwd *pw, const char *dash, const char *ext)
{
  result_home(pw, pw->pw_dir, dash, ext);
}

/* The alias account's home is always this instance's QMAILHOME/alias, not
 * the one in the password file: several instances may share the account,
 * and each must use its own alias directory. */
static void alias_result(const char *local)
{
  static char home[4096];
  struct passwd *pw;
  struct stat st;
  size_t l = strlen(auto_qmail);
  if (l + sizeof "/alias" > sizeof home) die_temp("QMAILHOME is too long");
  memcpy(home, auto_qmail, l);
  memcpy(home + l, "/alias", sizeof "/alias");
  errno = 0;
  pw = getpwnam(auto_usera);
  if (!pw) {
    if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF || errno == EPERM)
      die_perm("no such user and no alias account");
    die_sys(111, "unable to read the password database for ", auto_usera);
  }
  if (pw->pw_uid == 0) die_perm("no such user and the alias account is root");
  if (stat(home, &st) == -1) die_sys(111, "unable to stat ", home);
  if (st.st_uid != pw->pw_uid) die_temp(home, " is not owned by ", auto_usera);
  result_home(pw, home, "-", local);
}

int main(int argc, char **argv)
{
  char name[NAME_MAX_LEN + 1];
  const char *local;
  struct passwd *pw;
  size_t len, i;

  if (argc != 2) die_usage("qmail-getpw local");
  local = argv[1];
  len = strlen(local);

  /* longest first: "joe-list-x" tries joe-list-x, joe-list, joe */
  for (i = len + 1; i-- > 0; ) {
    size_t k;
    if (i < len && !strchr(auto_break, local[i])) continue;
    if (i == 0 || i > NAME_MAX_LEN) continue;
    if (!auto_break[0] && i < len) continue;
    for (k = 0; k < i; ++k) {
      char c = local[k];
      name[k] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    name[i] = 0;
    if (account(name, &pw) == 1) result(pw, i < len ? "-" : "", i < len ? local + i + 1 : "");
  }
  alias_result(local);
}
