/* bouncesaying: a .qmail helper.  Without a program, or when the program
 * exits 0, prints text and exits 100 (the message bounces with text as
 * the reason); 111 from the program defers; anything else exits 0. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "deliver.h"
#include "die.h"
#include "fdio.h"
#include "proc.h"

const char *PROG = "bouncesaying";

int main(int argc, char **argv)
{
  if (argc < 2) die_usage("bouncesaying text [program [arg ...]]");
  if (argc > 2) {
    int wstat, code;
    pid_t pid = fork();
    if (pid == -1) die_sys(111, "unable to fork");
    if (pid == 0) {
      sig_default(SIGPIPE);
      execvp(argv[2], argv + 2);
      /* as qmail: 100 (the program's failure, not ours) unless the error
     * may pass */
    _exit(deliver_exec_code(errno));
    }
    if (wait_pid(pid, &wstat) == -1) die_sys(111, "waitpid failed");
    code = wait_code(wstat);
    if (code == -1) die_temp("program crashed: ", argv[2]);
    if (code == 111) die_temp("temporary failure of ", argv[2]);
    if (code != 0) return 0;
  }
  /* the text alone: it becomes the bounce reason */
  (void)!write_all(2, argv[1], strlen(argv[1]));
  (void)!write_all(2, "\n", 1);
  return 100;
}
