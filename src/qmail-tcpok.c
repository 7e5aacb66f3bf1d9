/* qmail-tcpok: clears qmail-remote's memory of hosts that timed out
 * (QMAILHOME/queue/lock/tcpto), so every host is tried again at once.
 * The file keeps its size; it is overwritten with zeros under its lock. */
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "tcpto.h"

const char *PROG = "qmail-tcpok";

int main(int argc, char **argv)
{
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  if (tcpto_clear("queue/lock/tcpto") == -1) die_sys(111, "unable to clear queue/lock/tcpto");
  return 0;
}
