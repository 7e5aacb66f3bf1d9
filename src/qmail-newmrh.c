/* qmail-newmrh: compiles QMAILHOME/control/morercpthosts into
 * control/morercpthosts.cdb for qmail-smtpd (qmail-newmrh(8)).  Each line
 * (list-file rules: '#' and empty lines skipped, trailing blanks dropped)
 * becomes a key, lowercased, with an empty value.  Written to
 * control/morercpthosts.cdb.tmp (locked), synced and renamed into place:
 * on any error the installed cdb stays as it was. */
#include <cdb.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "control.h"
#include "die.h"
#include "sa.h"
#include "users.h"

const char *PROG = "qmail-newmrh";

#define SRC "morercpthosts"
#define TMP "control/morercpthosts.cdb.tmp"
#define CDB "control/morercpthosts.cdb"

static _Noreturn void fail(const char *what)
{
  int e = errno;
  unlink(TMP);
  errno = e;
  die_sys(111, what);
}

int main(int argc, char **argv)
{
  sa_t list = SA_INIT;
  struct cdb_make cm;
  int fd;
  if (argc > 1) die_usage("qmail-newmrh");
  umask(022);
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);
  /* a missing list is an error, not an empty list: an empty cdb would
   * turn away mail for every domain it held */
  switch (control_readfile(&list, SRC, 0)) {
  case 0: errno = ENOENT; /* fall through */
  case -1: die_sys(111, "unable to read control/" SRC);
  }
  fd = users_tmpfile(TMP);
  if (fd == -1) die_sys(111, "unable to create ", TMP);
  if (cdb_make_start(&cm, fd) != 0) fail("unable to start " TMP);
  for (size_t i = 0; i < list.len;) {
    char *s = list.s + i;
    size_t n = strlen(s);
    i += n + 1;
    for (size_t j = 0; j < n; j++)
      if (s[j] >= 'A' && s[j] <= 'Z') s[j] = (char)(s[j] - 'A' + 'a');
    if (n > 0xffffu) continue; /* no domain is that long; keeps the cast safe */
    if (cdb_make_add(&cm, s, (unsigned)n, "", 0) != 0) fail("unable to write " TMP);
  }
  if (cdb_make_finish(&cm) != 0) fail("unable to write " TMP);
  if (users_install(fd, TMP, CDB) == -1) fail("unable to install " CDB);
  sa_free(&list);
  return 0;
}
