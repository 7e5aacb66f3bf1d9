/* qmail-newu: compiles QMAILHOME/users/assign into users/cdb.
 * The new cdb is written to users/cdb.tmp (locked, so two runs never mix
 * their output), synced, and renamed over users/cdb; on any error users/cdb
 * stays as it was.  Afterwards bin/qmail-rcptcheck-rebuild, if installed,
 * is run so that databases derived from users/cdb follow it. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "num.h"
#include "proc.h"
#include "users.h"

const char *PROG = "qmail-newu";

#define TMP "users/cdb.tmp"

static void run_hook(void)
{
  switch (users_run_hook()) {
  case 1: die_temp("users/cdb updated, but ", USERS_HOOK, " failed");
  case -1: die_sys(111, "users/cdb updated, but unable to run ", USERS_HOOK);
  }
}

int main(int argc, char **argv)
{
  char space[BUF_SIZE];
  buf_t in;
  users_err_t err;
  int fdin, fd, r;
  if (argc > 1) die_usage("qmail-newu");
  umask(022);
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);
  fdin = open("users/assign", O_RDONLY | O_CLOEXEC);
  if (fdin == -1) die_sys(111, "unable to open users/assign");
  buf_init(&in, buf_read_op, fdin, space, sizeof space);
  fd = users_tmpfile(TMP);
  if (fd == -1) die_sys(111, "unable to create ", TMP);
  r = users_compile(&in, fd, &err);
  if (r != 0) {
    int e = errno;
    unlink(TMP);
    errno = e;
    /* a format error too is temporary, as in qmail: the old users/cdb
     * stays in use and nothing bounces while the admin fixes the file */
    if (r == -2)
      die_temp("users/assign line ", die_line((int)(err.line > 2000000000 ? 2000000000 : err.line)),
               ": ", err.why, "; users/cdb left unchanged");
    die_sys(111, "unable to compile users/assign into ", TMP);
  }
  if (users_install(fd, TMP, USERS_CDB) == -1) {
    int e = errno;
    unlink(TMP);
    errno = e;
    die_sys(111, "unable to install ", USERS_CDB);
  }
  close(fdin);
  run_hook();
  return 0;
}
