/* qmail-rspawn: runs remote deliveries for qmail-send (see qmail-rspawn(8)
 * and the spawn protocol in INTERNALS.md).  Runs as qmailr, gid qmail.
 *
 * Per delivery: a forked child runs qmail-remote's code (lib/remote.c, no
 * exec; or $QMAILREMOTE, exec'd) as "qmail-remote host sender recipient",
 * message on stdin, its stdout collected.  qmail-remote answers with NUL-terminated records: one
 * per recipient (r accepted, h permanently rejected, s temporarily
 * rejected) and then one for the message (K, Z or D), each with text.
 * Those become one K/Z/D report. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "remote.h"
#include "sa.h"
#include "spawn.h"

const char *PROG = "qmail-rspawn";

/* qmail-remote's records carry the remote server's replies; qmail-send
 * keeps at most 10000 bytes of a report */
#define OUT_MAX SPAWN_REPORT_MAX

/* $QMAILREMOTE: a program to exec instead of running qmail-remote's code
 * here (tests use it for fakes); empty for the built-in one */
static sa_t remote;

static pid_t start(int fdmess, const char *sender, const char *rcpt, int fdout, sa_t *report)
{
  const char *host = strrchr(rcpt, '@') + 1; /* the driver checked the '@' */
  const char *args[] = {"qmail-remote", host, sender, rcpt, 0};
  static const char fail[] = "ZUnable to run qmail-remote. (#4.3.0)";
  pid_t pid;
  if (remote.len && access(remote.s, X_OK) == -1 && errno == ENOENT) {
    if (!sa_copys(report, "ZSorry, remote delivery is not available: $QMAILREMOTE is not "
                          "installed. (#4.3.0)"))
      return -1;
    return 0;
  }
  pid = fork();
  if (pid != 0) return pid;
  spawn_child_reset();
  /* stderr stays ours (the log): only records go through the pipe */
  if (fd_copy(0, fdmess) == -1 || fd_copy(1, fdout) == -1) _exit(111);
  if (!remote.len) {
    /* qmail-remote's code, run here: an exec costs more CPU than a
     * delivery.  Nothing else of ours stays open, as after an exec. */
    if (close_range(3, ~0U, 0) == -1) {
      (void)!write(1, fail, sizeof fail);
      _exit(111);
    }
    remote_main(4, (char **)args);
  }
  execv(remote.s, (char *const *)args);
  (void)!write(1, fail, sizeof fail); /* with its NUL: a complete record */
  _exit(111);
}

static void finish(int w, const char *out, size_t len, sa_t *r)
{
  const char *rec = 0, *msg = 0; /* first recipient record, message record */
  size_t reclen = 0, msglen = 0, i = 0;
  char letter;

  while (i < len) {
    const char *z = memchr(out + i, 0, len - i);
    size_t n;
    if (!z) break; /* an unterminated record is not a record */
    n = (size_t)(z - (out + i));
    if (n) {
      char c = out[i];
      if ((c == 'r' || c == 'h' || c == 's') && !rec) { rec = out + i; reclen = n; }
      if (c == 'K' || c == 'Z' || c == 'D') { msg = out + i; msglen = n; }
    }
    i += n + 1;
  }
  r->len = 0;
  if (!msg && !rec) {
    const char *t = WIFEXITED(w) ? "Zqmail-remote gave no result. (#4.3.0)"
                                 : "Zqmail-remote crashed. (#4.3.0)";
    if (!sa_copys(r, t)) goto nomem;
    return;
  }
  if (rec && rec[0] == 'h') letter = 'D';
  else if (rec && rec[0] == 's') letter = 'Z';
  else if (!msg) letter = 'Z';
  else if (msg[0] == 'K' && !rec) letter = 'Z'; /* success, but for whom? */
  else letter = msg[0];
  if (!sa_append(r, letter)) goto nomem;
  if (rec && reclen > 1 && !sa_catb(r, rec + 1, reclen - 1)) goto nomem;
  /* the message record explains a message-level outcome; after a
   * recipient rejection it adds nothing the sender needs */
  if (msg && msglen > 1 && !(rec && rec[0] != 'r') && !sa_catb(r, msg + 1, msglen - 1)) goto nomem;
  if (r->len == 1) {
    const char *t = letter == 'K' ? "delivered" : letter == 'D'
      ? "Permanent failure with no reason given. (#5.3.0)"
      : "Temporary failure with no reason given. (#4.3.0)";
    if (letter == 'Z' && msg && msg[0] == 'K' && !rec)
      t = "qmail-remote reported success without a recipient result. (#4.3.0)";
    if (!sa_cats(r, t)) goto nomem;
  }
  return;
nomem:
  sa_copys(r, "Zout of memory. (#4.3.0)");
}

int main(int argc, char **argv)
{
  spawn_hooks_t h = {start, finish, OUT_MAX};
  /* rspawn runs as qmailr, so a path from its environment cannot give
   * anybody more than qmailr's rights */
  const char *env = getenv("QMAILREMOTE");
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  if (env && *env && (!sa_copys(&remote, env) || !sa_0(&remote))) die_nomem();
  return spawn_main(&h);
}
