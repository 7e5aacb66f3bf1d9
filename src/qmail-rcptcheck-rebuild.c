/* qmail-rcptcheck-rebuild: writes QMAILHOME/users/rcptcheck.cdb, which
 * says which account local delivery gives each local part to and which
 * .qmail names that account has, for qmail-smtpd (unprivileged) to refuse
 * unknown recipients at RCPT time (see rcpt.h and
 * qmail-rcptcheck-rebuild(8)).
 *
 * Sources, each read as qmail-lspawn, qmail-getpw and qmail-local would
 * use it: users/cdb entries; password-database accounts qmail-getpw
 * accepts; the alias account; users/aliases.cdb.  Each account gets an
 * id, its ownership keys and its .qmail names.  The names of .qmail files
 * are read by a child running as the account's own uid and gid (never by
 * root: no file-existence oracle outside what the user owns), and only
 * names are read, never contents.  If they cannot be listed the account
 * is taken to accept everything (a check may accept too much, never
 * refuse a deliverable address).  Run as root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "aliases.h"
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "num.h"
#include "proc.h"
#include "prot.h"
#include "rcpt.h"
#include "sa.h"
#include "users.h"

const char *PROG = "qmail-rcptcheck-rebuild";

#define TMP RCPT_CDB ".tmp"
/* the .qmail names of one home, NUL-separated; far above any real home */
#define NAMES_MAX ((size_t)16 << 20)

static rcpt_make_t mk;
static int fdtmp = -1;

static _Noreturn void fail(const char *what)
{
  int e = errno;
  if (fdtmp != -1) unlink(TMP);
  errno = e;
  die_sys(111, what);
}

static void wfail(void) { fail("unable to write " TMP); }

/* the names X of home's files ".qmail" dash X, listed as uid/gid from the
 * directory they live in (rcpt_qmail_dir: a dash holding '/' points into a
 * subdirectory of home).  0 ok, -1 could not list (names then says
 * accept all) */
static sa_t dir, prefix;
static int list_names(const char *home, uid_t uid, gid_t gid, const char *dash, sa_t *names)
{
  int pi[2], wstat;
  pid_t pid;
  names->len = 0;
  if (!rcpt_qmail_dir(home, dash, &dir, &prefix)) die_nomem();
  if (pipe2(pi, O_CLOEXEC) == -1) fail("unable to make a pipe");
  pid = fork();
  if (pid == -1) fail("unable to fork");
  if (pid == 0) {
    char space[BUF_SIZE];
    buf_t b = BUF_INIT(buf_write_op, pi[1], space, sizeof space);
    DIR *d;
    struct dirent *e;
    close(pi[0]);
    if (prot_drop(uid, gid) == -1) _exit(111);
    d = opendir(dir.s);
    if (!d) _exit(111);
    while ((errno = 0, e = readdir(d))) {
      const char *n = e->d_name;
      if (strncmp(n, prefix.s, prefix.len) != 0) continue;
      if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
      if (e->d_type == DT_DIR) continue;
      if (buf_put(&b, n + prefix.len, strlen(n + prefix.len) + 1) == -1) _exit(111);
    }
    if (errno) _exit(111);
    if (buf_flush(&b) == -1) _exit(111);
    _exit(0);
  }
  close(pi[1]);
  for (;;) {
    ssize_t r;
    if (!sa_readyplus(names, 4096)) die_nomem();
    r = read(pi[0], names->s + names->len, names->a - names->len);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    names->len += (size_t)r;
    if (names->len > NAMES_MAX) {
      kill(pid, SIGKILL);
      break;
    }
  }
  close(pi[0]);
  if (wait_pid(pid, &wstat) == -1) fail("unable to wait for a child");
  if (wait_code(wstat) == 0 && names->len <= NAMES_MAX) return 0;
  warn("unable to list ", dir.s, ": taking every address of its account as deliverable");
  return -1;
}

/* the account id: user (for the alias flag), dash, home, uid, gid */
static void account(unsigned long id, const char *user, const char *dash, const char *home,
                    uid_t uid, gid_t gid, bool all)
{
  static sa_t names;
  char flags[3];
  size_t nf = 0;
  all = all || !*dash;
  if (!strcmp(user, auto_usera)) flags[nf++] = RCPT_ALIAS;
  /* without a dash qmail-local has no -default search and falls back to
   * the default delivery: everything this account gets is deliverable;
   * qmail-lspawn never delivers as root */
  if (!all && (uid == 0 || list_names(home, uid, gid, dash, &names) == -1)) all = true;
  if (all) flags[nf++] = RCPT_ALL;
  flags[nf] = 0;
  /* the directory the names came from: qmail-smtpd compares its mtime
   * with the build time before refusing */
  if (rcpt_make_account(&mk, id, flags, all ? "" : dir.s) != 0) wfail();
  if (all) return;
  for (size_t i = 0; i < names.len;) {
    const char *x = names.s + i;
    const char *end = memchr(x, 0, names.len - i);
    size_t xl = end ? (size_t)(end - x) : names.len - i;
    i += xl + 1;
    if (rcpt_make_name(&mk, id, x, xl) != 0) wfail();
  }
}

/* users/cdb: every entry, exact or wildcard */
static void from_users_cdb(void)
{
  struct cdb c;
  unsigned pos;
  sa_t k = SA_INIT, v = SA_INIT;
  int fd = open(USERS_CDB, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    if (errno == ENOENT) return;
    fail("unable to open " USERS_CDB);
  }
  if (cdb_init(&c, fd) != 0) { errno = EINVAL; fail("unable to read " USERS_CDB); }
  cdb_seqinit(&pos, &c);
  while (cdb_seqnext(&pos, &c) > 0) {
    unsigned kl = cdb_keylen(&c), vl = cdb_datalen(&c);
    const char *f[6];
    size_t nf = 0;
    unsigned long uid, gid, id;
    bool exact;
    if (!sa_ready(&k, (size_t)kl + 1) || !sa_ready(&v, (size_t)vl + 1)) die_nomem();
    if (cdb_read(&c, k.s, kl, cdb_keypos(&c)) != 0 || cdb_read(&c, v.s, vl, cdb_datapos(&c)) != 0) {
      errno = EIO;
      fail("unable to read " USERS_CDB);
    }
    k.len = kl;
    v.len = vl;
    v.s[vl] = 0;
    if (kl < 1 || k.s[0] != '!') continue;
    exact = kl >= 2 && k.s[kl - 1] == 0;
    for (size_t i = 0; i <= vl && nf < 6; i++) {
      f[nf++] = v.s + i;
      i += strlen(v.s + i);
    }
    if (nf < 6 || !scan_ulong_all(f[1], &uid) || !scan_ulong_all(f[2], &gid)) continue;
    switch (rcpt_make_users(&mk, k.s + 1, kl - 1 - (size_t)exact, exact, f[5], &id)) {
    case -1: wfail();
    case 0: continue; /* a duplicate: delivery takes the first */
    }
    account(id, f[0], f[4], f[3], (uid_t)uid, (gid_t)gid, false);
  }
  cdb_free(&c);
  close(fd);
  sa_free(&k);
  sa_free(&v);
}

/* the accounts qmail-getpw accepts: lower-case name of at most
 * RCPT_NAME_MAX bytes, uid not 0, home present and owned by the uid */
static void from_passwd(void)
{
  struct passwd *pw;
  sa_t name = SA_INIT, home = SA_INIT;
  setpwent();
  for (;;) {
    struct stat st;
    uid_t uid;
    gid_t gid;
    unsigned long id;
    bool bad = false, temp;
    errno = 0;
    pw = getpwent();
    if (!pw) {
      if (errno && errno != ENOENT) fail("unable to read the password database");
      break;
    }
    if (pw->pw_uid == 0 || strlen(pw->pw_name) > RCPT_NAME_MAX || !*pw->pw_name) continue;
    for (const char *x = pw->pw_name; *x; x++)
      if (*x >= 'A' && *x <= 'Z') bad = true;
    if (bad) continue;
    /* a home qmail-getpw cannot look at makes it defer: everything of the
     * account is taken.  One missing or not its own: not an account for
     * mail, until the home becomes its own (rcpt_make_home) */
    temp = stat(pw->pw_dir, &st) == -1;
    if (temp && errno != ENOENT && errno != ENOTDIR) {
      warn("unable to stat ", pw->pw_dir, " (", strerror(errno), "): taking every address of ",
           pw->pw_name, " as deliverable");
    } else if (temp || st.st_uid != pw->pw_uid) {
      if (rcpt_make_home(&mk, pw->pw_name, pw->pw_uid, pw->pw_dir) != 0) wfail();
      continue;
    }
    if (!sa_copys(&name, pw->pw_name) || !sa_0(&name) || !sa_copys(&home, pw->pw_dir) || !sa_0(&home))
      die_nomem();
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    switch (rcpt_make_passwd(&mk, name.s, &id)) {
    case -1: wfail();
    case 0: continue; /* getpwnam finds the first */
    }
    /* its basic address has an empty dash: the lookup takes it; the
     * extensions get dash "-" */
    account(id, name.s, "-", home.s, uid, gid, temp);
  }
  endpwent();
  sa_free(&name);
  sa_free(&home);
}

/* what no user takes goes to the alias account with the whole local part
 * as its extension */
static void from_alias(void)
{
  uid_t uid;
  gid_t gid;
  unsigned long id;
  struct stat st;
  sa_t home = SA_INIT;
  bool usable;
  if (!sa_copys(&home, auto_qmail) || !sa_cats(&home, "/alias") || !sa_0(&home)) die_nomem();
  /* an alias account delivery cannot use (none, uid 0, a home missing or
   * not its own) makes delivery defer, not bounce: everything it would
   * take is taken */
  usable = ids_user(auto_usera, &uid, &gid) == 0 && uid != 0 && stat(home.s, &st) == 0 &&
           st.st_uid == uid;
  if (!usable) warn("the alias account cannot take mail now (", home.s,
                    "): taking every address it would take as deliverable");
  if (rcpt_make_alias(&mk, &id) != 1) wfail();
  account(id, auto_usera, "-", home.s, usable ? uid : 0, usable ? gid : 0, !usable);
  sa_free(&home);
}

static void from_aliases_cdb(void)
{
  struct cdb c;
  unsigned pos;
  sa_t k = SA_INIT;
  int fd = open(ALIASES_CDB, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    if (errno == ENOENT) return;
    fail("unable to open " ALIASES_CDB);
  }
  if (cdb_init(&c, fd) != 0) { errno = EINVAL; fail("unable to read " ALIASES_CDB); }
  cdb_seqinit(&pos, &c);
  while (cdb_seqnext(&pos, &c) > 0) {
    unsigned kl = cdb_keylen(&c);
    if (!sa_ready(&k, (size_t)kl + 1)) die_nomem();
    if (cdb_read(&c, k.s, kl, cdb_keypos(&c)) != 0) { errno = EIO; fail("unable to read " ALIASES_CDB); }
    if (rcpt_make_aliasname(&mk, k.s, kl) != 0) wfail();
  }
  cdb_free(&c);
  close(fd);
  sa_free(&k);
}

/* the build time.  File times have a resolution of a second here, so a
 * change in the second the build starts cannot be told from one made
 * after it read the directory; wait for the next second to start and take
 * that one.  (time() follows the same coarse clock as file times.) */
static time_t start_time(void)
{
  time_t t0 = time(0);
  while (time(0) <= t0) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, 0);
  }
  return t0 + 1;
}

/* what gives a local part nobody claims an owner */
static void sources(void)
{
  sa_t alias = SA_INIT;
  if (!sa_copys(&alias, auto_qmail) || !sa_cats(&alias, "/alias") || !sa_0(&alias)) die_nomem();
  /* new password-database accounts are looked up live (rcpt.c) */
  if (rcpt_make_source(&mk, USERS_CDB) != 0 ||
      rcpt_make_source(&mk, ALIASES_CDB) != 0 || rcpt_make_source(&mk, alias.s) != 0)
    die_nomem();
  sa_free(&alias);
}

int main(int argc, char **argv)
{
  gid_t nofiles;
  if (argc > 1) die_usage("qmail-rcptcheck-rebuild");
  if (getuid() != 0) die_perm("must run as root (it lists the homes as each user)");
  umask(022);
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);
  if (ids_group(auto_groupn, &nofiles) == -1) die_sys(111, "unable to find group ", auto_groupn);
  fdtmp = users_tmpfile(TMP);
  if (fdtmp == -1) die_sys(111, "unable to create ", TMP);
  if (rcpt_make_start(&mk, fdtmp, start_time()) != 0) fail("unable to start " TMP);
  sources();
  /* in delivery's order of precedence (users/cdb, passwd, alias), which
   * the lookup follows whatever the order of the keys */
  from_users_cdb();
  from_passwd();
  from_alias();
  from_aliases_cdb();
  if (rcpt_make_finish(&mk) != 0) wfail();
  rcpt_make_free(&mk);
  /* qmail-smtpd runs with gid nofiles; the names of users' .qmail files
   * are nobody else's business */
  if (fchown(fdtmp, 0, nofiles) == -1 || fchmod(fdtmp, 0640) == -1) fail("unable to set the mode of " TMP);
  if (users_install(fdtmp, TMP, RCPT_CDB) == -1) fail("unable to install " RCPT_CDB);
  return 0;
}
