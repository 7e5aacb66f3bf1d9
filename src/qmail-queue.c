/* qmail-queue: puts one message into the queue.
 *
 * Setuid qmailq, run by anyone: the message comes on fd 0, the envelope on
 * fd 1 (F<sender>\0 T<rcpt>\0 ... \0).  Nothing is printed; the exit code
 * is the whole answer (qmail-queue(8)).  The order of writes, links and
 * fsyncs below is the durability contract of INTERNALS.md: once todo/N/id
 * exists, everything it refers to is on disk.  Before that point every
 * failure removes what this run made.
 *
 * Because the caller controls our environment, umask, signal dispositions,
 * signal mask, resource limits and open descriptors, none of them is
 * trusted: the environment is thrown away, the umask set, the mask
 * cleared, fds 0-2 checked, and only SIGALRM is caught (to exit 52).
 *
 * The work itself is lib/qqwrite.c, which qmail-queued's children run
 * too: the qq client (lib/queue.c) hands its pipes to qmail-queued when
 * that runs, and execs this program when it does not. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auto.h"
#include "qqwrite.h"

const char *PROG = "qmail-queue";

/* fds 0, 1, 2 must be open, or files we open would land on them.  A closed
 * 0 or 1 means there is no message or envelope to read. */
static void fix_fds(void)
{
  bool missing = false;
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    /* the lowest free fd is this one, since the smaller ones are open */
    if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd) _exit(QQ_HOME);
    if (fd < 2) missing = true;
  }
  if (missing) _exit(QQ_READ);
}

/* "invoked by alias" etc.: which of our accounts is calling.  One lookup
 * of the caller's uid, not one per account: on a campus host the password
 * file has thousands of lines and this runs for every message. */
static const char *invoked_how(uid_t uid)
{
  struct passwd *pw = getpwuid(uid);
  if (!pw) return 0;
  if (!strcmp(pw->pw_name, auto_usera)) return "by alias";
  if (!strcmp(pw->pw_name, auto_userd)) return "from network";
  if (!strcmp(pw->pw_name, auto_users)) return "for bounce";
  return 0;
}

int main(void)
{
  uid_t uid;
  fix_fds();
  clearenv();
  uid = getuid();
  qqwrite(uid, invoked_how(uid), -1);
  _exit(0);
}
