/* prot: account lookups, and (as root, in forked children) a privilege
 * drop that must stick: ids, supplementary groups, no way back to 0. */
#include <errno.h>
#include <grp.h>
#include <sys/wait.h>
#include "prot.h"
#include "t.h"

static void test_ids(void)
{
  uid_t u = 42;
  gid_t g = 42;
  OK(ids_user("root", &u, &g) == 0 && u == 0 && g == 0, "ids_user root");
  OK(ids_user("root", 0, 0) == 0, "ids_user with null outputs");
  errno = 0;
  OK(ids_user("no-such-user-unit", &u, &g) == -1 && errno == ENOENT, "ids_user missing: ENOENT");
  OK(ids_group("root", &g) == 0 && g == 0, "ids_group root");
  errno = 0;
  OK(ids_group("no-such-group-unit", &g) == -1 && errno == ENOENT, "ids_group missing: ENOENT");
}

/* in a child: drop to uid/gid, then check; exit code says what failed */
static int drop_child(uid_t uid, gid_t gid)
{
  int w;
  pid_t pid = fork();
  if (pid == 0) {
    gid_t gs[8];
    int n;
    if (prot_drop(uid, gid) == -1) _exit(1);
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) _exit(2);
    n = getgroups(8, gs);
    if (n != 1 || gs[0] != gid) _exit(3);
    if (setuid(0) != -1 || seteuid(0) != -1) _exit(4);
    errno = 0;
    if (prot_drop(0, 0) != -1 || errno != EPERM) _exit(5); /* no way back */
    _exit(0);
  }
  if (pid == -1 || waitpid(pid, &w, 0) != pid || !WIFEXITED(w)) return -1;
  return WEXITSTATUS(w);
}

static void test_drop(void)
{
  if (geteuid() != 0) {
    printf("ok %d # SKIP not root\n", ++t_n);
    return;
  }
  EQ_INT(drop_child(65534, 65534), 0, "drop to 65534:65534 sticks, groups cleared, no way back");
  EQ_INT(drop_child(12345, 23456), 0, "drop to ids without accounts");
  EQ_INT(getuid(), 0, "the parent is still root");
}

int main(void)
{
  test_ids();
  test_drop();
  return t_done();
}
