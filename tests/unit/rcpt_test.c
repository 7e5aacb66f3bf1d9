/* rcpt: where an account's .qmail files are listed from; databases
 * written with rcpt_make_* and looked up with rcpt_lookup: which account
 * owns a local part (users/cdb, then passwd, then alias) and whether its
 * .qmail names take it; a cdb of the older format. */
#include <fcntl.h>
#include <sys/stat.h>
#include "rcpt.h"
#include "t.h"

static char path[512];
static rcpt_make_t mk;
static sa_t changed;

static void start_at(time_t t)
{
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd == -1 || rcpt_make_start(&mk, fd, t) != 0) t_bail("start");
}
static void start(void) { start_at(time(0) - 100); }
static void set_mtime(const char *p, time_t t)
{
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  if (utimensat(AT_FDCWD, p, ts, 0) != 0) t_bail("utimensat");
}
static void finish(void)
{
  if (rcpt_make_finish(&mk) != 0) t_bail("finish");
  close(mk.cm.cdb_fd);
  rcpt_make_free(&mk);
}
/* an account with flags and .qmail names (a NULL-terminated list) */
static void account(unsigned long id, const char *flags, const char *const *names)
{
  if (rcpt_make_account(&mk, id, flags, "") != 0) t_bail("account");
  for (; names && *names; names++)
    if (rcpt_make_name(&mk, id, *names, strlen(*names)) != 0) t_bail("name");
}
static unsigned long users(const char *prefix, bool exact, const char *ext)
{
  unsigned long id = 0;
  if (rcpt_make_users(&mk, prefix, strlen(prefix), exact, ext, &id) != 1) t_bail("users");
  return id;
}
static unsigned long passwd(const char *name)
{
  unsigned long id = 0;
  if (rcpt_make_passwd(&mk, name, &id) != 1) t_bail("passwd");
  return id;
}
static unsigned long alias(void)
{
  unsigned long id = 0;
  if (rcpt_make_alias(&mk, &id) != 1) t_bail("alias");
  return id;
}
static void want(const char *local, int w)
{
  char name[300];
  snprintf(name, sizeof name, "%s -> %d", local, w);
  EQ_INT(rcpt_lookup(path, local, strlen(local), &changed), w, name);
}
static const char *const deflt[] = {"default", 0};

static void qdir(const char *home, const char *dash, const char *wdir, const char *wprefix)
{
  sa_t dir = SA_INIT, prefix = SA_INIT;
  char name[256];
  OK(rcpt_qmail_dir(home, dash, &dir, &prefix), "rcpt_qmail_dir succeeds");
  snprintf(name, sizeof name, "dash \"%s\": directory", dash);
  EQ_STR(dir.s, wdir, name);
  OK(dir.len == strlen(wdir), "directory length excludes the NUL");
  snprintf(name, sizeof name, "dash \"%s\": name prefix", dash);
  EQ_STR(prefix.s, wprefix, name);
  OK(prefix.len == strlen(wprefix), "prefix length excludes the NUL");
  sa_free(&dir);
  sa_free(&prefix);
}

int main(void)
{
  qdir("/home/joe", "-", "/home/joe", ".qmail-");
  qdir("/home/joe", "", "/home/joe", ".qmail");
  /* qmail-pw2u -/: ~/.qmail-/foo, ~/.qmail-/bar-default */
  qdir("/home/joe", "-/", "/home/joe/.qmail-", "");
  qdir("/home/joe", "-/x-", "/home/joe/.qmail-", "x-");
  qdir("/home/joe", "-/a/b", "/home/joe/.qmail-/a", "b");

  snprintf(path, sizeof path, "%s/rcptcheck.cdb", t_tmpdir());

  /* passwd user man without .qmail-foo or .qmail-default; the alias
   * account has .qmail-default: man-foo is man's, not alias's */
  start();
  account(passwd("man"), "", (const char *const[]){"bar", "list-default", 0});
  account(alias(), "L", deflt);
  finish();
  want("man", RCPT_YES);
  want("MAN", RCPT_YES);
  want("man-foo", RCPT_NO);
  want("man-bar", RCPT_YES);
  want("Man-Bar", RCPT_YES);
  want("man-list-x-y", RCPT_YES);
  want("man-list", RCPT_NO);
  want("mansion", RCPT_YES);
  want("nosuch-x", RCPT_YES);

  /* users/assign +user- without that .qmail, alias catch-all: refused */
  start();
  account(users("user-", false, ""), "", (const char *const[]){"ok", 0});
  account(users("joe", true, ""), "A", 0);
  account(users("top", true, "top"), "", (const char *const[]){"top", 0});
  account(users("a-", false, "pre-"), "", (const char *const[]){"pre-x", 0});
  account(users("a-b-", false, ""), "", 0);
  account(alias(), "L", deflt);
  OK(rcpt_make_users(&mk, "USER-", 5, false, "", &(unsigned long){0}) == 0,
     "a duplicate users/cdb key: the first wins");
  finish();
  want("user-nope", RCPT_NO);
  want("user-ok", RCPT_YES);
  want("User-OK", RCPT_YES);
  want("joe", RCPT_YES);
  want("top", RCPT_YES);
  want("a-x", RCPT_YES);
  want("a-y", RCPT_NO);
  want("a-b-x", RCPT_NO);
  want("other", RCPT_YES);

  /* a "+:" catch-all (the alias user): passwd is never asked */
  start();
  account(users("", false, ""), "L", (const char *const[]){"postmaster", 0});
  account(passwd("qtrcfoo"), "A", 0);
  if (rcpt_make_aliasname(&mk, "MyAlias", 7) != 0) t_bail("aliasname");
  finish();
  want("qtrcfoo", RCPT_NO);
  want("postmaster", RCPT_YES);
  want("myalias", RCPT_YES);
  want("nosuch", RCPT_NO);

  /* aliases.cdb names count for the alias user only */
  start();
  account(passwd("bob"), "", 0);
  account(alias(), "L", 0);
  if (rcpt_make_aliasname(&mk, "bob-x", 5) != 0 || rcpt_make_aliasname(&mk, "list", 4) != 0)
    t_bail("aliasname");
  finish();
  want("bob-x", RCPT_NO);
  want("list", RCPT_YES);
  want("list-x", RCPT_NO);

  /* nobody at all */
  start();
  finish();
  want("anyone", RCPT_NO);

  /* staleness: a refusal stands only while the owner's directory (and,
   * for names nobody claims, the "S" sources) is older than the build */
  {
    char home[600], src[600], absent[600];
    time_t t = time(0) + 1000;
    snprintf(home, sizeof home, "%s/home", t_tmpdir());
    snprintf(src, sizeof src, "%s/passwd", t_tmpdir());
    snprintf(absent, sizeof absent, "%s/absent", t_tmpdir());
    if (mkdir(home, 0755) != 0) t_bail("mkdir");
    t_write(src, "x", 1);
    start_at(t);
    if (rcpt_make_account(&mk, passwd("joe"), "", home) != 0 ||
        rcpt_make_source(&mk, src) != 0 || rcpt_make_source(&mk, absent) != 0)
      t_bail("stale cdb");
    finish();
    want("joe-x", RCPT_NO);
    want("nosuch", RCPT_NO);
    set_mtime(home, t);
    want("joe-x", RCPT_STALE);
    EQ_STR(changed.s, home, "stale: the owner's directory is named");
    want("nosuch", RCPT_NO);
    set_mtime(home, t - 1);
    want("joe-x", RCPT_NO);
    set_mtime(src, t + 5);
    want("nosuch", RCPT_STALE);
    EQ_STR(changed.s, src, "stale: the changed source is named");
    want("joe-x", RCPT_NO);
    set_mtime(src, t - 1);
    want("nosuch", RCPT_NO);
    t_write(absent, "", 0);
    want("nosuch", RCPT_STALE);
    EQ_STR(changed.s, absent, "stale: a source that appeared");
    unlink(absent);
    rmdir(home);
    want("joe-x", RCPT_STALE);
    unlink(src);
    want("nosuch", RCPT_STALE);
  }

  /* an older cdb (no version key): accepted */
  {
    struct cdb_make cm;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd == -1 || cdb_make_start(&cm, fd) != 0 || cdb_make_add(&cm, "=joe", 4, "", 0) != 0 ||
        cdb_make_add(&cm, "", 0, "", 0) != 0 || cdb_make_finish(&cm) != 0)
      t_bail("old cdb");
    close(fd);
  }
  want("nosuch", RCPT_OLD);
  unlink(path);
  EQ_INT(rcpt_lookup(path, "x", 1, &changed), -1, "no cdb: -1");
  return t_done();
}
