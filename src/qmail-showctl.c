/* qmail-showctl: prints the build-time settings of this instance and what
 * every control file in QMAILHOME/control means to the programs reading it
 * (defaults included), then warns about files no program reads.
 *
 * An admin tool run by hand, never by a daemon: it uses stdio for its
 * output (STYLE.md allows that for admin tools).  It reads the files with
 * the same rules as the suite (control.h): first line of a value file,
 * trailing blanks stripped, list files without empty and '#' lines.
 *
 * Exit 0; 111 if QMAILHOME or control/ cannot be read, or any control file
 * could not be read (its paragraph says why), or output failed. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "control.h"
#include "die.h"
#include "num.h"
#include "sa.h"

const char *PROG = "qmail-showctl";

static int status; /* 111 once any file could not be read */

/* control values are text typed by the admin, but a stray control byte
 * must not play tricks with the terminal */
static void put_safe(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    putchar(c < 32 || c == 127 ? '?' : c);
  }
}
static void puts_safe(const char *s) { put_safe(s, strlen(s)); }

static void say(const char *s) { fputs(s, stdout); }

static void head(const char *fn, int dflt)
{
  say(fn);
  say(dflt ? ": (Default.) " : ": ");
}

static void unreadable(const char *fn)
{
  say(fn);
  say(": unable to read: ");
  say(strerror(errno));
  say(".\n");
  status = 111;
}

/* ---- generic kinds ---- */

/* a single value; absent: me (if flagme and me exists), else literal, else
 * the none text */
static void show_value(const char *fn, int flagme, const char *literal,
                       const char *text, const char *after, const char *none)
{
  sa_t v = SA_INIT;
  int r = control_readline(&v, fn);
  if (r == -1) { unreadable(fn); return; }
  head(fn, r == 0);
  if (r == 1) {
    say(text);
    say(" ");
    put_safe(v.s, v.len);
  } else if (flagme && control_me()[0]) {
    say(text);
    say(" ");
    puts_safe(control_me());
    say(" (from control/me)");
  } else if (literal) {
    say(text);
    say(" ");
    puts_safe(literal);
  }
  if (r == 1 || (flagme && control_me()[0]) || literal) {
    if (after) say(after);
    say(".\n");
  } else {
    say(none);
    say("\n");
  }
  sa_free(&v);
}

/* an unsigned number: returns 1 read, 0 default, -1 unreadable (printed) */
static int read_num(const char *fn, unsigned long *u, int *bad)
{
  sa_t v = SA_INIT;
  int r = control_readline(&v, fn);
  *bad = 0;
  if (r == -1) { unreadable(fn); sa_free(&v); return -1; }
  if (r == 1) {
    if (!sa_0(&v)) die_nomem();
    if (!scan_ulong(v.s, u)) { *bad = 1; r = 0; }
  }
  sa_free(&v);
  return r;
}

static void bad_note(int bad)
{
  if (bad) say(" (The first line is not a number, so the default applies.)");
}

/* "text N unit." with an optional meaning for 0 */
static void show_num(const char *fn, unsigned long def, const char *text,
                     const char *unit, const char *zero)
{
  unsigned long u = def;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  if (u == 0 && zero) say(zero);
  else {
    say(text);
    printf(" %lu%s.", u, unit);
  }
  bad_note(bad);
  say("\n");
}

/* list: entries one per line, indented */
static int show_list(const char *fn, int flagme, const char *text,
                     const char *none)
{
  sa_t l = SA_INIT;
  int r = control_readfile(&l, fn, flagme);
  if (r == -1) { unreadable(fn); sa_free(&l); return -1; }
  head(fn, r == 0);
  if (!l.len) {
    say(r == 0 ? none : "The file is empty: no entries.");
    say("\n");
  } else {
    say(text);
    if (r == 0) say(" (from control/me)");
    say(":\n");
    for (size_t i = 0; i < l.len;) {
      size_t n = strlen(l.s + i);
      say("  ");
      put_safe(l.s + i, n);
      say("\n");
      i += n + 1;
    }
  }
  sa_free(&l);
  return r;
}

/* "key:value" lists (virtualdomains, smtproutes), one line per entry */
static int read_map(const char *fn, sa_t *l)
{
  int r = control_readfile(l, fn, 0);
  if (r == -1) { unreadable(fn); return -1; }
  head(fn, r == 0);
  return r;
}

static const char *colon_split(const char *e, size_t *klen)
{
  const char *c = strchr(e, ':');
  *klen = c ? (size_t)(c - e) : strlen(e);
  return c ? c + 1 : 0;
}

static void put_domain(const char *k, size_t kl)
{
  if (!kl) say("any other domain");
  else if (k[0] == '.') {
    say("subdomains of ");
    put_safe(k + 1, kl - 1);
  } else put_safe(k, kl);
}

/* ---- the files ---- */

static void f_me(const char *fn)
{
  head(fn, !control_me()[0]);
  if (control_me()[0]) {
    say("This host is called ");
    puts_safe(control_me());
    say(".\n");
  } else
    say("Missing: names below that default to me use a placeholder word or "
        "stop their program; qmail-send needs control/locals to start.\n");
}

static void f_locals(const char *fn)
{
  show_list(fn, 1, "Mail for these domains is delivered on this host",
            "No domain is local, and with no control/me qmail-send refuses "
            "to start.");
}

static void f_rcpthosts(const char *fn)
{
  show_list(fn, 0,
            "SMTP clients without RELAYCLIENT may send to these domains "
            "(a leading dot: every subdomain)",
            "No domain: SMTP accepts recipients only from clients with "
            "RELAYCLIENT set (this is no open relay).");
}

static void f_morercpthosts(const char *fn)
{
  struct stat a, b;
  int r = show_list(fn, 0,
                    "More rcpthosts entries, used through morercpthosts.cdb",
                    "No extra rcpthosts entries.");
  if (r != 1) return;
  if (stat("control/morercpthosts", &a) == 0 &&
      (stat("control/morercpthosts.cdb", &b) == -1 || a.st_mtime > b.st_mtime))
    say("  (morercpthosts.cdb is missing or older than this file: run "
        "qmail-newmrh.)\n");
}

static void f_morercpthosts_cdb(const char *fn)
{
  struct stat st;
  if (stat("control/morercpthosts.cdb", &st) == -1) {
    if (errno != ENOENT) { unreadable(fn); return; }
    head(fn, 1);
    say("No compiled extra rcpthosts.\n");
    return;
  }
  head(fn, 0);
  printf("Compiled by qmail-newmrh from morercpthosts, %lu bytes; consulted "
         "only when rcpthosts exists",
         (unsigned long)st.st_size);
  if (access("control/rcpthosts", F_OK) == -1) say(" (it does not, so no effect)");
  say(".\n");
}

static void f_newmrh_tmp(const char *fn)
{
  head(fn, 0);
  say("Left over by a qmail-newmrh that did not finish; harmless, "
      "qmail-newmrh replaces it.\n");
}

static void f_percenthack(const char *fn)
{
  show_list(fn, 0, "In these domains u%v@domain is rewritten to u@v",
            "The percent hack is not applied to any domain.");
}

static void f_virtualdomains(const char *fn)
{
  sa_t l = SA_INIT;
  int r = read_map(fn, &l);
  if (r == -1) goto out;
  if (!l.len) {
    say(r == 0 ? "No virtual domains.\n" : "The file is empty: no virtual domains.\n");
    goto out;
  }
  say("Recipients not in locals are delivered locally when they match "
      "(first match: address, domain, shorter suffixes, empty):\n");
  for (size_t i = 0; i < l.len; i += strlen(l.s + i) + 1) {
    const char *e = l.s + i;
    size_t kl;
    const char *v = colon_split(e, &kl);
    say("  ");
    if (memchr(e, '@', kl)) put_safe(e, kl);
    else put_domain(e, kl);
    if (!v || !*v) say(": exception, not virtual\n");
    else {
      say(": to ");
      puts_safe(v);
      say("-address\n");
    }
  }
out:
  sa_free(&l);
}

static void f_smtproutes(const char *fn)
{
  sa_t l = SA_INIT;
  int r = read_map(fn, &l);
  if (r == -1) goto out;
  if (!l.len) {
    say(r == 0 ? "No artificial routes: MX records are used.\n"
               : "The file is empty: MX records are used.\n");
    goto out;
  }
  say("qmail-remote sends mail for (whole domain, then suffixes, then the "
      "empty domain):\n");
  for (size_t i = 0; i < l.len; i += strlen(l.s + i) + 1) {
    const char *e = l.s + i;
    size_t kl;
    const char *v = colon_split(e, &kl);
    say("  ");
    put_domain(e, kl);
    if (!v || !*v) say(": by its MX records\n");
    else {
      say(": to ");
      puts_safe(v);
      say("\n");
    }
  }
out:
  sa_free(&l);
}

static void f_envnoathost(const char *fn)
{
  show_value(fn, 1, "envnoathost", "Recipients without @ get the domain", 0, 0);
}

static void f_bouncefrom(const char *fn)
{
  show_value(fn, 0, "MAILER-DAEMON", "Bounces come from the user", 0, 0);
}

static void f_bouncehost(const char *fn)
{
  show_value(fn, 1, "bouncehost", "Bounces come from the host", 0, 0);
}

static void f_dbto(const char *fn)
{
  show_value(fn, 0, "postmaster", "Double bounces go to the user", 0, 0);
}

static void f_dbhost(const char *fn)
{
  show_value(fn, 1, "doublebouncehost", "Double bounces go to the host", 0, 0);
}

static void f_bouncemax(const char *fn)
{
  show_num(fn, 0, "A bounce keeps at most", " bytes of the original body",
           "A bounce keeps the whole original body.");
}

static void f_archive(const char *fn)
{
  show_value(fn, 0, 0, "Every message is also delivered to", 0,
             "No archive copy is made.");
}

/* concurrencylocal/remote: qmail-send caps them at conf-spawn */
static void show_conc(const char *fn, unsigned long def, const char *what)
{
  unsigned long u = def;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  if (u == 0) printf("No %s deliveries: that mail is held in the queue.", what);
  else {
    printf("At most %lu %s deliveries at once", u > auto_spawn ? auto_spawn : u, what);
    if (u > auto_spawn) printf(" (%lu, capped at conf-spawn)", u);
    say(".");
  }
  bad_note(bad);
  say("\n");
}

static void f_conclocal(const char *fn) { show_conc(fn, 50, "local"); }
static void f_concremote(const char *fn) { show_conc(fn, 20, "remote"); }

static void f_lifetime(const char *fn)
{
  show_num(fn, 604800, "Messages stay in the queue for at most", " seconds",
           "Every message gets one delivery attempt; temporary failures "
           "bounce at once.");
}

static void f_timeoutlocal(const char *fn)
{
  unsigned long u = 3600;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  /* qmail-local: 0 or more than a day means a day */
  if (u == 0 || u > 86400) u = 86400;
  printf("A |program in a .qmail file is killed after %lu seconds.", u);
  bad_note(bad);
  say("\n");
}

static void f_defaultdelivery(const char *fn)
{
  show_list(fn, 0,
            "Users without a .qmail file get these instructions, all lines as one "
            ".qmail file (the qmail-send run script passes them to qmail-start: "
            "restart qmail-send after a change)",
            "Missing: the qmail-send run script passes an empty delivery, "
            "which qmail-start refuses; qmail-send does not start.");
}

static void f_concincoming(const char *fn)
{
  unsigned long u = 40;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  printf("At most %lu SMTP sessions at once (tcpserver -c in the "
         "qmail-smtpd run script; restart it after a change).", u);
  bad_note(bad);
  say("\n");
}

static void f_concpop3(const char *fn)
{
  unsigned long u = 40;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  printf("At most %lu POP3 sessions at once (tcpserver -c in the "
         "qmail-pop3d run script; restart it after a change).", u);
  bad_note(bad);
  say("\n");
}

static void f_badmailfrom(const char *fn)
{
  show_list(fn, 0, "SMTP refuses these envelope senders (@domain: the whole domain)",
            "Any envelope sender is accepted.");
}

static void f_databytes(const char *fn)
{
  show_num(fn, 0, "SMTP accepts messages of at most", " bytes ($DATABYTES overrides)",
           "SMTP accepts messages of any size ($DATABYTES overrides).");
}

static void f_localiphost(const char *fn)
{
  show_value(fn, 1, 0, "Bracketed local IP addresses become", 0,
             "Bracketed local IP addresses are left alone.");
}

static void f_greeting(const char *fn)
{
  show_value(fn, 1, 0, "SMTP greets with 220", 0,
             "Missing, and no control/me: qmail-smtpd refuses to run.");
}

static void f_timeoutsmtpd(const char *fn)
{
  unsigned long u = 1200;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  printf("qmail-smtpd waits %lu seconds for the client.", u ? u : 1);
  bad_note(bad);
  say("\n");
}

static void f_rcptcheck(const char *fn)
{
  sa_t v = SA_INIT;
  int r = control_readline(&v, fn);
  int have = access("users/rcptcheck.cdb", F_OK) == 0;
  if (r == -1) { unreadable(fn); goto out; }
  head(fn, r == 0);
  if (r == 1 && v.len && v.s[0] == '0')
    say("SMTP recipient validation is off.\n");
  else if (have)
    say("SMTP recipients are validated against users/rcptcheck.cdb.\n");
  else
    say("SMTP recipient validation would be on, but users/rcptcheck.cdb "
        "does not exist (see qmail-rcptcheck-rebuild).\n");
out:
  sa_free(&v);
}

static void f_helohost(const char *fn)
{
  show_value(fn, 1, 0, "qmail-remote introduces itself as", 0,
             "Missing, and no control/me: qmail-remote defers every "
             "delivery.");
}

static void f_outgoingip(const char *fn)
{
  sa_t v = SA_INIT;
  unsigned char ip[16];
  int r = control_readline(&v, fn);
  if (r == -1) { unreadable(fn); goto out; }
  head(fn, r == 0 || !v.len);
  if (r == 0 || !v.len) {
    say("The kernel chooses the source address of SMTP connections.\n");
    goto out;
  }
  if (!sa_0(&v)) die_nomem();
  if (inet_pton(AF_INET, v.s, ip) != 1 && inet_pton(AF_INET6, v.s, ip) != 1) {
    say("Not an IP address: qmail-remote defers every delivery.\n");
    goto out;
  }
  say("SMTP connections of the same address family come from ");
  puts_safe(v.s);
  say(".\n");
out:
  sa_free(&v);
}

static void f_timeoutconnect(const char *fn)
{
  unsigned long u = 60;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  printf("qmail-remote waits %lu seconds for a connection.", u ? u : 1);
  bad_note(bad);
  say("\n");
}

static void f_timeoutremote(const char *fn)
{
  unsigned long u = 1200;
  int bad, r = read_num(fn, &u, &bad);
  if (r == -1) return;
  head(fn, r == 0);
  printf("qmail-remote waits %lu seconds for each SMTP read or write.", u ? u : 1);
  bad_note(bad);
  say("\n");
}

static void f_defaultdomain(const char *fn)
{
  show_value(fn, 1, "defaultdomain", "qmail-inject adds to host names without a dot",
             " ($QMAILDEFAULTDOMAIN overrides)", 0);
}

static void f_defaulthost(const char *fn)
{
  show_value(fn, 1, "defaulthost", "qmail-inject adds to addresses without a host",
             " ($QMAILDEFAULTHOST overrides)", 0);
}

static void f_plusdomain(const char *fn)
{
  show_value(fn, 1, "plusdomain", "qmail-inject replaces a trailing + in host names with",
             " ($QMAILPLUSDOMAIN overrides)", 0);
}

static void f_idhost(const char *fn)
{
  show_value(fn, 1, "idhost", "qmail-inject uses in Message-IDs the host",
             " ($QMAILIDHOST overrides)", 0);
}

static void f_qmqpservers(const char *fn)
{
  show_list(fn, 0, "QMQP servers, tried in order", "No QMQP servers.");
}

/* every file a program of this suite reads, in qmail-control(5) order */
static const struct {
  const char *name;
  void (*show)(const char *);
} known[] = {
  {"me", f_me},
  {"locals", f_locals},
  {"virtualdomains", f_virtualdomains},
  {"percenthack", f_percenthack},
  {"envnoathost", f_envnoathost},
  {"bouncefrom", f_bouncefrom},
  {"bouncehost", f_bouncehost},
  {"bouncemaxbytes", f_bouncemax},
  {"doublebounceto", f_dbto},
  {"doublebouncehost", f_dbhost},
  {"archiveaddress", f_archive},
  {"concurrencylocal", f_conclocal},
  {"timeoutlocal", f_timeoutlocal},
  {"concurrencyremote", f_concremote},
  {"queuelifetime", f_lifetime},
  {"defaultdelivery", f_defaultdelivery},
  {"rcpthosts", f_rcpthosts},
  {"morercpthosts", f_morercpthosts},
  {"morercpthosts.cdb", f_morercpthosts_cdb},
  {"morercpthosts.cdb.tmp", f_newmrh_tmp},
  {"badmailfrom", f_badmailfrom},
  {"databytes", f_databytes},
  {"localiphost", f_localiphost},
  {"smtpgreeting", f_greeting},
  {"rcptcheck", f_rcptcheck},
  {"concurrencyincoming", f_concincoming},
  {"timeoutsmtpd", f_timeoutsmtpd},
  {"concurrencypop3", f_concpop3},
  {"helohost", f_helohost},
  {"outgoingip", f_outgoingip},
  {"smtproutes", f_smtproutes},
  {"timeoutconnect", f_timeoutconnect},
  {"timeoutremote", f_timeoutremote},
  {"defaultdomain", f_defaultdomain},
  {"defaulthost", f_defaulthost},
  {"plusdomain", f_plusdomain},
  {"idhost", f_idhost},
  {"qmqpservers", f_qmqpservers},
};
#define NKNOWN (sizeof known / sizeof known[0])

/* morercpthosts.cdb.tmp is shown only when it exists */
static int optional(const char *name) { return !strcmp(name, "morercpthosts.cdb.tmp"); }

static int is_known(const char *name)
{
  for (size_t i = 0; i < NKNOWN; i++)
    if (!strcmp(known[i].name, name)) return 1;
  return 0;
}

static void show_user(const char *role, const char *name)
{
  struct passwd *pw = getpwnam(name);
  printf("  user %-8s ", role);
  puts_safe(name);
  if (pw) printf(" uid %lu\n", (unsigned long)pw->pw_uid);
  else say(" missing\n");
}

static void show_group(const char *role, const char *name)
{
  struct group *gr = getgrnam(name);
  printf("  group %-7s ", role);
  puts_safe(name);
  if (gr) printf(" gid %lu\n", (unsigned long)gr->gr_gid);
  else say(" missing\n");
}

static void settings(void)
{
  say("QMAILHOME (conf-home): ");
  puts_safe(auto_qmail);
  say("\nqueue split (conf-split): ");
  printf("%u subdirectories\n", auto_split);
  say("user-extension break characters (conf-break): ");
  puts_safe(auto_break[0] ? auto_break : "-");
  if (auto_break[0] && !strchr(auto_break, '-')) say(" and -");
  say("\ndelivery slots per channel (conf-spawn): ");
  printf("%u\n", auto_spawn);
  say("forbidden .qmail and home mode bits (qmail-local): 002\n");
  say("accounts (conf-users, ids looked up now):\n");
  show_user("alias", auto_usera);
  show_user("qmaild", auto_userd);
  show_user("qmaill", auto_userl);
  show_user("qmailp", auto_userp);
  show_user("qmailq", auto_userq);
  show_user("qmailr", auto_userr);
  show_user("qmails", auto_users);
  show_group("qmail", auto_groupq);
  show_group("nofiles", auto_groupn);
}

static int cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
  DIR *d;
  struct dirent *de;
  char **unknown = 0;
  size_t nu = 0, au = 0;

  (void)argv;
  if (argc > 1) die_usage("qmail-showctl");
  settings();
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  if (control_init() == -1) die_sys(111, "unable to read control/me");

  /* list control/ first: an unreadable directory means nothing below
   * would be true */
  d = opendir("control");
  if (!d) die_sys(111, "unable to read ", auto_qmail, "/control");
  for (;;) {
    errno = 0;
    de = readdir(d);
    if (!de) {
      if (errno) die_sys(111, "unable to read ", auto_qmail, "/control");
      break;
    }
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (is_known(de->d_name)) continue;
    if (nu == au) {
      size_t n = au ? au * 2 : 16;
      char **t;
      if (n > SIZE_MAX / sizeof *t / 2) die_nomem();
      t = realloc(unknown, n * sizeof *t);
      if (!t) die_nomem();
      unknown = t;
      au = n;
    }
    if (!(unknown[nu] = strdup(de->d_name))) die_nomem();
    ++nu;
  }
  closedir(d);

  say("\ncontrol files of ");
  puts_safe(auto_qmail);
  say("/control:\n");
  for (size_t i = 0; i < NKNOWN; i++) {
    if (optional(known[i].name)) {
      sa_t p = SA_INIT;
      struct stat st;
      if (!sa_copys(&p, "control/") || !sa_cats(&p, known[i].name) || !sa_0(&p))
        die_nomem();
      int there = lstat(p.s, &st) == 0;
      sa_free(&p);
      if (!there) continue;
    }
    say("\n");
    known[i].show(known[i].name);
  }

  if (nu) qsort(unknown, nu, sizeof *unknown, cmp);
  if (nu) say("\n");
  for (size_t i = 0; i < nu; i++) {
    say("warning: control/");
    puts_safe(unknown[i]);
    say(": not a control file of this suite; no program reads it.\n");
    free(unknown[i]);
  }
  free(unknown);

  if (fflush(stdout) == EOF || ferror(stdout)) die_sys(111, "unable to write output");
  return status;
}
