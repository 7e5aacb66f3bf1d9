/* qmail-tcpok: clears qmail-remote's memory of hosts that timed out
 * (QMAILHOME/queue/lock/tcpto), so every host is tried again at once.
 * The file keeps its size; it is overwritten with zeros under its lock. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "fdio.h"
#include "tcpto.h"

const char *PROG = "qmail-tcpok";

int main(int argc, char **argv)
{
  static char zero[TCPTO_FILE_MAX];
  struct stat st;
  size_t n;
  int fd;
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  fd = open("queue/lock/tcpto", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd == -1) die_sys(111, "unable to open queue/lock/tcpto");
  if (lock_ex(fd) == -1) die_sys(111, "unable to lock queue/lock/tcpto");
  if (fstat(fd, &st) == -1) die_sys(111, "unable to stat queue/lock/tcpto");
  n = st.st_size > (off_t)sizeof zero ? sizeof zero : (size_t)st.st_size;
  if (pwrite(fd, zero, n, 0) != (ssize_t)n) die_sys(111, "unable to write queue/lock/tcpto");
  close(fd);
  return 0;
}
