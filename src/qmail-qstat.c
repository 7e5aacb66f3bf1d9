/* qmail-qstat: how many messages the queue holds.
 * Counts the files in mess/N/ (every message, queued or being queued) and
 * in todo/N/ (committed but not yet preprocessed by qmail-send) and prints
 *   messages in queue: <count>
 *   messages in queue but not yet preprocessed: <count>
 * Anyone who can read mess/ and todo/ (root, qmailq, the qmail group) may
 * run it.  Exit 0, or 111 if a directory could not be read. */
#include <dirent.h>
#include <errno.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "num.h"
#include "sa.h"

const char *PROG = "qmail-qstat";

static unsigned long count(const char *top)
{
  unsigned long total = 0;
  sa_t dir = SA_INIT;
  for (unsigned long i = 0; i < auto_split; i++) {
    DIR *d;
    struct dirent *de;
    dir.len = 0;
    if (!sa_cats(&dir, top) || !sa_append(&dir, '/') || !sa_catulong(&dir, i) || !sa_0(&dir))
      die_nomem();
    d = opendir(dir.s);
    if (!d) die_sys(111, "unable to open queue/", dir.s);
    while ((errno = 0, de = readdir(d)))
      if (de->d_name[0] != '.') total++;
    if (errno) die_sys(111, "unable to read queue/", dir.s);
    closedir(d);
  }
  sa_free(&dir);
  return total;
}

int main(int argc, char **argv)
{
  unsigned long mess, todo;
  (void)argv;
  if (argc > 1) die_usage("qmail-qstat");
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);
  if (chdir("queue") == -1) die_sys(111, "unable to chdir to ", auto_qmail, "/queue");
  mess = count("mess");
  todo = count("todo");
  if (buf_puts(buf1, "messages in queue: ") == -1 || buf_putulong(buf1, mess) == -1 ||
      buf_puts(buf1, "\nmessages in queue but not yet preprocessed: ") == -1 ||
      buf_putulong(buf1, todo) == -1 || buf_putflush(buf1, "\n") == -1)
    die_sys(111, "unable to write output");
  return 0;
}
