#include "prot.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

int ids_user(const char *name, uid_t *uid, gid_t *gid)
{
  struct passwd *pw;
  errno = 0;
  pw = getpwnam(name);
  if (!pw) { if (!errno) errno = ENOENT; return -1; }
  if (uid) *uid = pw->pw_uid;
  if (gid) *gid = pw->pw_gid;
  return 0;
}

int ids_group(const char *name, gid_t *gid)
{
  struct group *gr;
  errno = 0;
  gr = getgrnam(name);
  if (!gr) { if (!errno) errno = ENOENT; return -1; }
  *gid = gr->gr_gid;
  return 0;
}

int prot_drop(uid_t uid, gid_t gid)
{
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (setgroups(1, &gid) == -1) return -1;
  if (setresgid(gid, gid, gid) == -1) return -1;
  if (setresuid(uid, uid, uid) == -1) return -1;
  if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1) return -1;
  if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid) {
    errno = EPERM;
    return -1;
  }
  if (uid != 0 && setuid(0) != -1) { errno = EPERM; return -1; }
  return 0;
}
