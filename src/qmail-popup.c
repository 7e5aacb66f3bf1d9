/* qmail-popup: the AUTHORIZATION state of POP3 (RFC 1939), run by
 * tcpserver (as root, so that the checkpassword program it runs can become
 * the user) with the connection on fds 0 and 1.  See qmail-popup(8).
 *
 *   qmail-popup hostname subprogram [arg ...]
 *
 * USER/PASS and APOP collect a name and a password (or an APOP digest);
 * the subprogram then runs with fd 3 reading "name\0password\0timestamp\0"
 * and, when it accepts them, carries the session on (checkpassword
 * execs qmail-pop3d).  Its exit code decides what the client hears:
 * 0 session over, 1 wrong name or password, anything else a temporary
 * failure.  The password is never logged and is wiped after use. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "pop3.h"
#include "proc.h"
#include "sa.h"
#include "smtp.h"

const char *PROG = "qmail-popup";

#define NAME_MAX_ 256  /* user name */
#define PASS_MAX 512   /* password or APOP digest */

static const char *remoteip = "unknown";
static sa_t logbuf;

/* "qmail-popup: pid P from IP: text" on fd 2; bytes that are not printable
 * ASCII become '?' (names come from the client) */
static void logs_(const char *s, ...)
{
  va_list ap;
  char num[FMT_ULONG];
  logbuf.len = 0;
  sa_cats(&logbuf, "qmail-popup: pid ");
  sa_catb(&logbuf, num, fmt_ulong(num, (unsigned long)getpid()));
  sa_cats(&logbuf, " from ");
  sa_cats(&logbuf, remoteip);
  sa_cats(&logbuf, ": ");
  va_start(ap, s);
  for (; s; s = va_arg(ap, const char *))
    for (; *s; s++) {
      unsigned char c = (unsigned char)*s;
      sa_append(&logbuf, c < 32 || c > 126 ? '?' : (char)c);
    }
  va_end(ap);
  sa_append(&logbuf, '\n');
  buf_putsa(buf2, &logbuf);
  buf_flush(buf2);
}
#define logs(...) logs_(__VA_ARGS__, (const char *)0)

static void out(const char *s) { pop3_puts(s); }

static void wipe(sa_t *s)
{
  if (s->s) {
    volatile char *p = s->s;
    for (size_t i = 0; i < s->a; i++) p[i] = 0;
  }
  s->len = 0;
}

static sa_t user, pass, stamp, fd3data;

/* Runs the subprogram with fd 3 = name\0password\0timestamp\0; never
 * returns.  One try per connection, as qmail's: a refused login ends it,
 * so each guess at a password costs a guesser a connection. */
static _Noreturn void authenticate(char **prog)
{
  int p[2], wstat;
  pid_t pid;
  bool sent;

  fd3data.len = 0;
  if (!sa_cat(&fd3data, &user) || !sa_0(&fd3data) || !sa_cat(&fd3data, &pass) ||
      !sa_0(&fd3data) || !sa_cat(&fd3data, &stamp) || !sa_0(&fd3data)) {
    out("-ERR [SYS/TEMP] out of memory\r\n");
    pop3_leave(1);
  }
  wipe(&pass);
  if (buf_flush(&pop3_out) == -1) _exit(1);
  if (pipe(p) == -1) {
    wipe(&fd3data);
    logs("unable to make a pipe");
    out("-ERR [SYS/TEMP] unable to start the login program\r\n");
    pop3_leave(1);
  }
  pid = fork();
  if (pid == -1) {
    wipe(&fd3data);
    logs("unable to fork");
    out("-ERR [SYS/TEMP] unable to start the login program\r\n");
    pop3_leave(1);
  }
  if (pid == 0) {
    close(p[1]);
    if (fd_move(3, p[0]) == -1) _exit(111);
    sig_default(SIGPIPE);
    execvp(prog[0], prog);
    warn_sys("unable to run ", prog[0]);
    _exit(111);
  }
  close(p[0]);
  /* at most about 1 KB: fits in the pipe at once */
  sent = write_all(p[1], fd3data.s, fd3data.len) == 0;
  wipe(&fd3data);
  close(p[1]);
  if (wait_pid(pid, &wstat) == -1) {
    logs("lost the login program");
    out("-ERR [SYS/TEMP] lost the login program\r\n");
    pop3_leave(1);
  }
  /* a run that ended normally: the session is over */
  if (WIFEXITED(wstat) && WEXITSTATUS(wstat) == 0) pop3_leave(0);
  if (!WIFEXITED(wstat)) {
    logs("login program crashed, user ", user.s);
    out("-ERR [SYS/TEMP] login program crashed\r\n");
    pop3_leave(1);
  }
  if (WEXITSTATUS(wstat) == 1 && sent) {
    logs("authorization failed for user ", user.s);
    out("-ERR authorization failed\r\n");
  } else {
    char num[FMT_ULONG];
    num[fmt_ulong(num, (unsigned long)WEXITSTATUS(wstat))] = 0;
    logs("login program exited ", num, ", user ", user.s);
    out("-ERR [SYS/TEMP] temporary failure, try again later\r\n");
  }
  pop3_leave(1);
}

/* the argument, as one word: no spaces, no controls, bounded */
static bool word(const char *a, size_t n, size_t max, sa_t *to)
{
  if (!n || n > max) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)a[i] <= 32 || a[i] == 127) return false;
  if (!sa_copyb(to, a, n) || !sa_0(to)) die_nomem();
  to->len--; /* NUL-terminated, not counted */
  return true;
}

int main(int argc, char **argv)
{
  sa_t line = SA_INIT;
  const char *x;

  if (argc < 3) die_usage("qmail-popup hostname subprogram [arg ...]");
  sig_ignore(SIGPIPE);
  x = env_get("TCPREMOTEIP");
  if (x) remoteip = x;
  /* the APOP timestamp, RFC 1939 section 7: <pid.time@hostname> */
  if (!sa_copys(&stamp, "<") || !sa_catulong(&stamp, (unsigned long)getpid()) ||
      !sa_cats(&stamp, ".") || !sa_catulong(&stamp, (unsigned long)time(0)) ||
      !sa_cats(&stamp, "@") || !sa_cats(&stamp, argv[1]) || !sa_cats(&stamp, ">") ||
      !sa_0(&stamp))
    die_nomem();
  stamp.len--;
  out("+OK ");
  out(stamp.s);
  out("\r\n");

  for (;;) {
    const char *a;
    size_t n, alen, v;
    /* the line may hold a password: wiped before the next one comes */
    wipe(&line);
    if (pop3_getcmd(&line) == -1) continue;
    n = line.len;
    v = smtp_verb(line.s, n, &a, &alen);
    if (smtp_verb_is(line.s, v, "quit")) {
      out("+OK bye\r\n");
      pop3_leave(0);
    } else if (smtp_verb_is(line.s, v, "noop")) {
      out("+OK\r\n");
    } else if (smtp_verb_is(line.s, v, "capa")) {
      out("+OK capabilities follow\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\n"
          "AUTH-RESP-CODE\r\n.\r\n");
    } else if (smtp_verb_is(line.s, v, "user")) {
      if (!word(a, alen, NAME_MAX_, &user)) {
        user.len = 0;
        out("-ERR USER needs a name\r\n");
      } else
        out("+OK\r\n");
    } else if (smtp_verb_is(line.s, v, "pass")) {
      /* the password is the rest of the line: it may hold spaces */
      if (!user.len) {
        out("-ERR USER first\r\n");
      } else if (!alen || alen > PASS_MAX) {
        out("-ERR PASS needs a password\r\n");
      } else {
        if (!sa_copyb(&pass, a, alen)) die_nomem();
        authenticate(argv + 2);
      }
    } else if (smtp_verb_is(line.s, v, "apop")) {
      const char *d;
      size_t dlen, ulen = smtp_verb(a, alen, &d, &dlen);
      if (!word(a, ulen, NAME_MAX_, &user) || !word(d, dlen, PASS_MAX, &pass)) {
        user.len = 0;
        wipe(&pass);
        out("-ERR APOP needs a name and a digest\r\n");
      } else
        authenticate(argv + 2);
    } else if (smtp_verb_is(line.s, v, "stat") || smtp_verb_is(line.s, v, "list") ||
               smtp_verb_is(line.s, v, "retr") || smtp_verb_is(line.s, v, "dele") ||
               smtp_verb_is(line.s, v, "uidl") || smtp_verb_is(line.s, v, "top") ||
               smtp_verb_is(line.s, v, "rset") || smtp_verb_is(line.s, v, "last")) {
      out("-ERR authorization first\r\n");
    } else {
      out("-ERR unknown command\r\n");
    }
  }
}
