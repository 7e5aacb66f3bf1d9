/* except: a .qmail helper.  Runs the program and turns its success into
 * a permanent failure: exit 0 -> 100, 111 -> 111, anything else -> 0. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include "deliver.h"
#include "die.h"
#include "proc.h"

const char *PROG = "except";

int main(int argc, char **argv)
{
  int wstat, code;
  pid_t pid;
  if (argc < 2) die_usage("except program [arg ...]");
  pid = fork();
  if (pid == -1) die_sys(111, "unable to fork");
  if (pid == 0) {
    sig_default(SIGPIPE);
    execvp(argv[1], argv + 1);
    /* as qmail: 100 (the program's failure, not ours) unless the error
     * may pass */
    _exit(deliver_exec_code(errno));
  }
  if (wait_pid(pid, &wstat) == -1) die_sys(111, "waitpid failed");
  code = wait_code(wstat);
  if (code == -1) die_temp("program crashed: ", argv[1]);
  if (code == 111) return 111;
  return code == 0 ? 100 : 0;
}
