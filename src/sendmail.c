/* sendmail: the sendmail command line, for programs that expect one.
 * It understands the options such programs use, ignores the ones that
 * mean nothing here, and runs qmail-inject (or qmail-qread for -bp and
 * mailq, qmail-smtpd for -bs).  It needs no privileges and keeps none. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "proc.h"
#include "sa.h"

const char *PROG = "sendmail";

#define USAGE "sendmail [-t] [-i] [-f sender] [-F name] [-bm|-bp|-bs] [-o option] [--] [recipient ...]"

static _Noreturn void nomem(void) { die_nomem(); }

/* auto_qmail/bin/name */
static char *prog(const char *name)
{
  static sa_t p = SA_INIT;
  if (!sa_copys(&p, auto_qmail) || !sa_cats(&p, "/bin/") || !sa_cats(&p, name) || !sa_0(&p))
    nomem();
  return p.s;
}

static _Noreturn void run(const char *name, char **args)
{
  char *path = prog(name);
  execv(path, args);
  die_sys(111, "unable to run ", path);
}

static _Noreturn void mailq(void)
{
  char *args[] = {"qmail-qread", 0};
  run("qmail-qread", args);
}

static _Noreturn void newaliases(void)
{
  char *args[] = {"newaliases", 0};
  if (access(prog("newaliases"), X_OK) == -1)
    die_perm("there is no newaliases here: aliases are ~alias/.qmail-* files");
  run("newaliases", args);
}

/* an SMTP session on stdin/stdout, as if from a local TCP client */
static _Noreturn void smtpd(void)
{
  char *args[] = {"qmail-smtpd", 0};
  if (access(prog("qmail-smtpd"), X_OK) == -1)
    die_sys(111, "-bs needs ", prog("qmail-smtpd"));
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  if (!env_get("PROTO")) {
    /* the local user is trusted like any local program: may relay */
    if (setenv("RELAYCLIENT", "", 1) || setenv("DATABYTES", "0", 1) ||
        setenv("PROTO", "TCP", 1) || setenv("TCPLOCALIP", "127.0.0.1", 1) ||
        setenv("TCPLOCALHOST", "localhost", 1) || setenv("TCPREMOTEIP", "127.0.0.1", 1) ||
        setenv("TCPREMOTEHOST", "localhost", 1) ||
        setenv("TCPREMOTEINFO", "sendmail-bs", 1))
      nomem();
  }
  run("qmail-smtpd", args);
}

/* -f also makes the sender the From: user, as netqmail does: a program
 * sending "as" someone expects the header to say so.  The address is
 * taken as qmail-inject takes -f: without surrounding <> and without a
 * trailing dot of the host; "<>" is the null sender and changes no From. */
static void from_sender(const char *s, bool have_name)
{
  static sa_t user = SA_INIT, host = SA_INIT;
  size_t n = strlen(s), h;
  const char *at;
  if (n >= 2 && s[0] == '<' && s[n - 1] == '>') { ++s; n -= 2; }
  if (!n) return;
  at = memrchr(s, '@', n);
  if (unsetenv("QMAILHOST") || unsetenv("MAILHOST")) nomem();
  if (at) {
    h = n - (size_t)(at - s) - 1;
    while (h && at[h] == '.') --h;
    if (h) {
      if (!sa_copyb(&host, at + 1, h) || !sa_0(&host)) nomem();
      if (setenv("QMAILHOST", host.s, 1)) nomem();
    }
  }
  if (!sa_copyb(&user, s, at ? (size_t)(at - s) : n) || !sa_0(&user)) nomem();
  if (setenv("QMAILUSER", user.s, 1)) nomem();
  /* the caller's own name does not belong to that address */
  if (!have_name && setenv("QMAILNAME", "", 1)) nomem();
}

int main(int argc, char **argv)
{
  const char *base = strrchr(argv[0] ? argv[0] : "", '/');
  const char *sender = 0, *name = 0;
  bool flagt = false;
  char mode = 'm';
  char **qa;
  int i, n;

  base = base ? base + 1 : argv[0] ? argv[0] : "";
  if (!strcmp(base, "mailq")) mailq();
  if (!strcmp(base, "newaliases")) newaliases();

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || !a[1]) break;
    if (!strcmp(a, "--")) { ++i; break; }
    for (const char *p = a + 1; *p; p++) {
      const char *val;
      switch (*p) {
      case 't': flagt = true; continue;
      case 'i': case 'v': case 'x': case 'm': continue; /* meaningless here */
      case 'E': case 'J': break; /* take an optional attached argument */
      case 'f': case 'r': case 'F': case 'o': case 'B': case 'p': case 'e': case 'b':
        val = p[1] ? p + 1 : argv[++i];
        if (!val) die_usage(USAGE);
        if (*p == 'f' || *p == 'r') sender = val;
        else if (*p == 'F') name = val;
        else if (*p == 'b') {
          if (strlen(val) != 1 || !strchr("mpsi", *val)) die_usage(USAGE);
          mode = *val;
        }
        /* -o, -B, -p, -e: options of sendmail's own that qmail does not have */
        break;
      default:
        die_usage(USAGE);
      }
      break;
    }
  }

  if (mode == 'p') mailq();
  if (mode == 's') smtpd();
  if (mode == 'i') newaliases();

  if (sender) from_sender(sender, name != 0);
  n = argc - i;
  qa = calloc((size_t)n + 8, sizeof *qa);
  if (!qa) nomem();
  n = 0;
  qa[n++] = "qmail-inject";
  qa[n++] = flagt ? "-H" : "-a";
  if (sender) { qa[n++] = "-f"; qa[n++] = (char *)sender; }
  if (name) { qa[n++] = "-F"; qa[n++] = (char *)name; }
  qa[n++] = "--";
  for (; i < argc; i++) qa[n++] = argv[i];
  qa[n] = 0;
  run("qmail-inject", qa);
}
