/* maildirmake: creates a Maildir (see maildirmake(1)).
 *
 *   maildirmake dir
 *
 * Makes dir and its tmp, new and cur subdirectories, mode 0700.  Fails if
 * dir exists already, so an existing mailbox is never touched. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include "die.h"

const char *PROG = "maildirmake";

int main(int argc, char **argv)
{
  static const char *const sub[] = {"tmp", "new", "cur"};
  unsigned i;
  if (argc != 2 || !argv[1][0]) die_usage("maildirmake dir");
  umask(077);
  if (mkdir(argv[1], 0700) == -1) die_sys(111, "unable to make ", argv[1]);
  if (chdir(argv[1]) == -1) die_sys(111, "unable to switch to ", argv[1]);
  for (i = 0; i < 3; ++i)
    if (mkdir(sub[i], 0700) == -1) die_sys(111, "unable to make ", argv[1], "/", sub[i]);
  return 0;
}
