/* newaliases: compiles a sendmail-style alias file into
 * QMAILHOME/users/aliases.cdb (see aliases(5), src/lib/aliases.h).
 * Source: -f file, else QMAILHOME/users/aliases if it exists, else
 * /etc/aliases.  Bare names are qualified with control/envnoathost, else
 * control/me.  Written via users/aliases.cdb.tmp + fsync + rename: on any
 * error the installed cdb is left as it was. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include "aliases.h"
#include "auto.h"
#include "control.h"
#include "die.h"
#include "proc.h"
#include "users.h"

const char *PROG = "newaliases";

#define TMP ALIASES_CDB ".tmp"
#define USAGE "newaliases [-f file]"


/* the recipient check of qmail-smtpd lists alias names too */
static void run_hook(void)
{
  switch (users_run_hook()) {
  case 1: die_temp(ALIASES_CDB " updated, but ", USERS_HOOK, " failed");
  case -1: die_sys(111, ALIASES_CDB " updated, but unable to run ", USERS_HOOK);
  }
}

/* static, so they stay reachable until exit */
static sa_t host, srcpath;
static aliases_err_t err = ALIASES_ERR_INIT;

int main(int argc, char **argv)
{
  const char *src = 0;
  int opt, fd, r;
  while ((opt = getopt(argc, argv, "f:")) != -1)
    switch (opt) {
    case 'f': src = optarg; break;
    default: die_usage(USAGE);
    }
  if (optind != argc) die_usage(USAGE);
  umask(022);
  /* a relative -f is taken from where we were started, so open it by
   * absolute name before leaving */
  if (src && src[0] != '/') {
    static char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) die_sys(111, "unable to get the current directory");
    if (!sa_copys(&srcpath, cwd) || !sa_append(&srcpath, '/') || !sa_cats(&srcpath, src) ||
        !sa_0(&srcpath))
      die_nomem();
    src = srcpath.s;
  }
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);
  if (!src) {
    struct stat st;
    if (stat("users/aliases", &st) == 0) src = "users/aliases";
    else if (errno != ENOENT) die_sys(111, "unable to stat users/aliases");
    else src = "/etc/aliases";
  }
  if (control_init() == -1) die_sys(111, "unable to read control/me");
  r = control_readline(&host, "envnoathost");
  if (r == -1) die_sys(111, "unable to read control/envnoathost");
  if (r == 0 && *control_me() && !sa_copys(&host, control_me())) die_nomem();
  if (!sa_0(&host)) die_nomem();

  fd = users_tmpfile(TMP);
  if (fd == -1) die_sys(111, "unable to create ", TMP);
  r = aliases_compile(src, fd, host.s, &err);
  if (r != 0) {
    int e = errno;
    unlink(TMP);
    errno = e;
    if (r == -2) {
      if (err.line)
        die_perm(err.file.s, ":", die_line(err.line > 2000000000 ? 2000000000 : (int)err.line),
                 ": ", err.why, "; ", ALIASES_CDB, " left unchanged");
      die_perm(err.file.s, ": ", err.why, "; ", ALIASES_CDB, " left unchanged");
    }
    die_sys(111, err.file.len ? err.file.s : src, ": ", err.why);
  }
  if (users_install(fd, TMP, ALIASES_CDB) == -1) {
    int e = errno;
    unlink(TMP);
    errno = e;
    die_sys(111, "unable to install ", ALIASES_CDB);
  }
  run_hook();
  return 0;
}
