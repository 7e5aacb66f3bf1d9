/* checkpassword: the checkpassword interface for the system's accounts,
 * run as root by qmail-popup (see checkpassword(8)).
 *
 *   checkpassword program [arg ...]
 *
 * Reads "name\0password\0timestamp\0" (at most 512 bytes) from fd 3,
 * checks the password against the account's crypt(3) hash (shadow, or the
 * passwd entry itself), and on success becomes the user, changes to the
 * home directory and execs program.  Exit 1: wrong name or password, or
 * an account that may not log in; 2: misuse (no fd 3, no program, input
 * too long or malformed); 111: temporary trouble.  Nothing is ever written
 * to fd 1 (under qmail-popup it is the POP3 client); fd 2 gets one line
 * for misuse and trouble only, never a password. */
#include <crypt.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "die.h"
#include "proc.h"

const char *PROG = "checkpassword";

/* the interface's traditional bound on what fd 3 carries */
#define INPUT_MAX 512
/* login names are short (useradd allows 32); a longer one is no account
 * of ours and not worth a lookup */
#define NAME_MAX_LEN 64

#define die_misuse(...) die_(2, 0, __VA_ARGS__, (const char *)0)

/* everything that holds the password or derives from it lives here, so
 * one wipe covers it before any exit or exec */
static char input[INPUT_MAX + 1];
static struct crypt_data cd;
static char want[CRYPT_OUTPUT_SIZE], got[CRYPT_OUTPUT_SIZE];
static char setting[CRYPT_GENSALT_OUTPUT_SIZE];

static void wipe(void)
{
  explicit_bzero(input, sizeof input);
  explicit_bzero(&cd, sizeof cd);
  explicit_bzero(want, sizeof want);
  explicit_bzero(got, sizeof got);
}

static _Noreturn void fail(void)
{
  wipe();
  _exit(1);
}
static _Noreturn void temp(const char *what)
{
  wipe();
  die_sys(111, what);
}

/* reads fd 3 to EOF; more than INPUT_MAX bytes is misuse */
static size_t readinput(void)
{
  size_t n = 0;
  for (;;) {
    ssize_t r = read(3, input + n, sizeof input - n);
    if (r == -1) {
      if (errno == EINTR) continue;
      if (errno == EBADF) { wipe(); die_misuse("no input on descriptor 3"); }
      temp("unable to read descriptor 3");
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n > INPUT_MAX) { wipe(); die_misuse("input on descriptor 3 longer than 512 bytes"); }
  }
  close(3);
  return n;
}

/* a name we are willing to look up: 1..NAME_MAX_LEN bytes, no '/', no
 * control characters (names end up in $USER and in logs) */
static bool goodname(const char *s)
{
  size_t n = strlen(s);
  if (!n || n > NAME_MAX_LEN) return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 32 || c == 127 || c == '/') return false;
  }
  return true;
}

/* glibc reports "no such entry" as 0, ENOENT, ESRCH, EBADF or EPERM */
static bool notfound(int e)
{
  return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

/* whether the shadow entry's dates still allow a login, as pam_unix
 * decides: not past the account's expiry date, not inactive, and no
 * password change due (lastchg 0, or older than max days): over POP3 the
 * user cannot change it, so a due change refuses the login */
static bool shadow_current(const struct spwd *sp)
{
  long today = (long)(time(0) / 86400);
  if (sp->sp_expire != -1 && today >= sp->sp_expire) return false;
  if (sp->sp_lstchg == 0) return false;
  if (sp->sp_lstchg > 0 && sp->sp_max != -1) {
    long age = today - sp->sp_lstchg;
    if (sp->sp_inact != -1 && age > sp->sp_max + sp->sp_inact) return false;
    if (age > sp->sp_max) return false;
  }
  return true;
}

/* equal strings, in a time that does not depend on where they differ */
static bool same(const char *a, const char *b)
{
  size_t la = strnlen(a, CRYPT_OUTPUT_SIZE), lb = strnlen(b, CRYPT_OUTPUT_SIZE);
  unsigned char d = la != lb;
  memset(want, 0, sizeof want);
  memset(got, 0, sizeof got);
  memcpy(want, a, la < sizeof want ? la : sizeof want - 1);
  memcpy(got, b, lb < sizeof got ? lb : sizeof got - 1);
  for (size_t i = 0; i < sizeof want; i++) d |= (unsigned char)(want[i] ^ got[i]);
  return d == 0;
}

/* setgroups (the user's groups), gid, uid; then make sure all stuck and
 * that root cannot be regained */
static void become(const struct passwd *pw)
{
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (initgroups(pw->pw_name, pw->pw_gid) == -1) temp("unable to set the groups");
  if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1) temp("unable to set the gid");
  if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) temp("unable to set the uid");
  if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1)
    temp("unable to read back the ids");
  if (r != pw->pw_uid || e != pw->pw_uid || s != pw->pw_uid || rg != pw->pw_gid ||
      eg != pw->pw_gid || sg != pw->pw_gid) {
    errno = EPERM;
    temp("the ids did not change");
  }
  if (setuid(0) != -1 || seteuid(0) != -1) {
    errno = EPERM;
    temp("root could be regained after setuid");
  }
  if (pw->pw_gid != 0 && setgid(0) != -1) {
    errno = EPERM;
    temp("gid 0 could be regained after setgid");
  }
}

int main(int argc, char **argv)
{
  struct passwd *pw;
  const char *name, *pass, *stamp, *hash = 0, *out;
  size_t n, nlen, plen;
  bool allowed = true;

  if (argc < 2) die_misuse("usage: checkpassword program [arg ...]");
  if (geteuid() != 0) die_(111, 0, "must run as root", (const char *)0);
  /* no core file or ptrace while the password and the hash are in memory
   * (exec gives the program a fresh setting) */
  if (proc_private() == -1) die_sys(111, "unable to turn core dumps off");

  n = readinput();
  /* name\0password\0 must be there; the timestamp (and anything after it,
   * which the interface allows) may end at the end of the input */
  name = input;
  nlen = strnlen(input, n);
  if (nlen == n) { wipe(); die_misuse("malformed input on descriptor 3"); }
  pass = input + nlen + 1;
  plen = strnlen(pass, n - nlen - 1);
  if (plen == n - nlen - 1) { wipe(); die_misuse("malformed input on descriptor 3"); }
  stamp = pass + plen + 1;
  /* qmail-popup sends its greeting's timestamp with USER/PASS as well as
   * with APOP, so it tells us nothing: an APOP digest is simply checked as
   * a password and, being no password, fails (see checkpassword(8)) */
  (void)stamp;

  /* an empty password never logs anyone in */
  if (!plen) allowed = false;
  pw = 0;
  if (goodname(name)) {
    errno = 0;
    pw = getpwnam(name);
    if (!pw && !notfound(errno)) temp("unable to read the password database");
  }
  if (!pw) {
    allowed = false;
  } else {
    if (pw->pw_uid == 0) allowed = false; /* root never logs in over POP3 */
    if (!strcmp(pw->pw_passwd, "x")) {
      struct spwd *sp;
      errno = 0;
      sp = getspnam(name);
      if (!sp && !notfound(errno)) temp("unable to read the shadow password database");
      if (!sp) allowed = false;
      else {
        hash = sp->sp_pwdp;
        if (!shadow_current(sp)) allowed = false;
      }
    } else {
      hash = pw->pw_passwd;
    }
    /* locked ('!' from passwd -l, '*' for no password) or empty */
    if (!hash || !*hash || *hash == '!' || *hash == '*') allowed = false;
  }

  /* refused or not, crypt runs once, so that the time taken does not tell
   * unknown or locked names from wrong passwords */
  if (!allowed) {
    if (!crypt_gensalt_rn(0, 0, 0, 0, setting, sizeof setting)) temp("unable to make a salt");
    hash = setting;
  }
  errno = 0;
  out = crypt_r(pass, hash, &cd);
  if (!out || *out == '*') {
    /* a hash crypt cannot use (unknown method): no login */
    if (errno == ENOMEM) temp("unable to check the password");
    fail();
  }
  if (!same(out, hash) || !allowed) fail();
  wipe();
  endspent();

  become(pw);
  if (chdir(pw->pw_dir) == -1) die_sys(111, "unable to change to the home directory");
  if (setenv("USER", pw->pw_name, 1) == -1 || setenv("LOGNAME", pw->pw_name, 1) == -1 ||
      setenv("HOME", pw->pw_dir, 1) == -1 ||
      setenv("SHELL", *pw->pw_shell ? pw->pw_shell : "/bin/sh", 1) == -1)
    die_nomem();
  execvp(argv[1], argv + 1);
  die_sys(111, "unable to run ", argv[1]);
}
