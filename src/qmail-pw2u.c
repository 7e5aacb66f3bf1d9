/* qmail-pw2u: turns passwd-format lines on stdin into users/assign lines
 * on stdout (qmail-pw2u(8)).  Reads users/include, users/exclude,
 * users/mailnames, users/subusers and users/append under QMAILHOME.
 * The rules for which accounts get mail follow qmail-getpw's by default:
 * no uid 0, no uppercase names, home must exist and belong to the user. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "control.h"
#include "die.h"
#include "fdio.h"
#include "num.h"

const char *PROG = "qmail-pw2u";

#define USAGE "qmail-pw2u [-/ohHuUC] [-cbreak]"
/* a passwd line is < 1 KiB; the cap bounds memory on garbage input */
#define LINE_MAX_ 65536

static const char *dash = "-";   /* -/ makes it "-/" */
static int noupper = 1;
static int homes = 2; /* 2 skip if missing, 1 stop if missing, 0 no checks */
static char breaks[64];          /* wildcard break characters, "" = none */

static int have_incl, have_excl, have_mana;
static sa_t incl_s, excl_s, mana_s;
static cmap_t incl, excl, mana;
static sa_t allusers; /* "user:<:user:uid:gid:home:>" lines for subusers */
static int saw_alias;

static char outspace[BUF_SIZE];
static buf_t out = BUF_INIT(buf_write_op, 1, outspace, sizeof outspace);

static void put(const char *s, size_t n)
{
  if (buf_put(&out, s, n) == -1) die_sys(111, "unable to write output");
}
static void puts_(const char *s) { put(s, strlen(s)); }

/* the part every line for this account shares: ":user:uid:gid:home:" */
static sa_t uugh;
static sa_t aliashome; /* QMAILHOME/alias, not NUL-terminated */

static void name_lines(const char *name, size_t n)
{
  puts_("=");
  put(name, n);
  put(uugh.s, uugh.len);
  puts_("::\n");
  for (const char *b = breaks; *b; b++) {
    puts_("+");
    put(name, n);
    put(b, 1);
    put(uugh.s, uugh.len);
    puts_(dash);
    puts_(":");
    puts_(":\n");
  }
}

static int id_ok(const char *s, size_t n)
{
  if (n == 0 || n > 10) return 0;
  for (size_t i = 0; i < n; i++) if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static void account(const char *line, size_t len)
{
  const char *f[7];
  size_t fl[7], nf = 0, start = 0, i;
  unsigned long uid;
  sa_t home = SA_INIT;
  const char *mn;
  struct stat st;
  bool isalias;

  if (memchr(line, 0, len)) return;
  for (i = 0; i <= len && nf < 7; i++)
    if (i == len || line[i] == ':') {
      f[nf] = line + start;
      fl[nf++] = i - start;
      start = i + 1;
    }
  if (nf < 7 || fl[0] == 0) return; /* not an account line (NIS "+" etc.) */
  if (!id_ok(f[2], fl[2]) || !id_ok(f[3], fl[3])) {
    warn("skipping ", "an account with a non-numeric uid or gid");
    return;
  }
  if (scan_ulong(f[2], &uid) != fl[2]) return;
  if (uid == 0) return;
  if (noupper)
    for (i = 0; i < fl[0]; i++) if (f[0][i] >= 'A' && f[0][i] <= 'Z') return;
  if (have_incl && !cmap_get(&incl, f[0], fl[0])) return;
  if (have_excl && cmap_get(&excl, f[0], fl[0])) return;
  /* the alias account's home is this instance's QMAILHOME/alias, whatever
   * the password file says (qmail-getpw does the same): the account is
   * shared by every instance on the host */
  isalias = fl[0] == strlen(auto_usera) && memcmp(f[0], auto_usera, fl[0]) == 0;
  if (isalias) {
    f[5] = aliashome.s;
    fl[5] = aliashome.len;
  }
  if (!sa_copyb(&home, f[5], fl[5]) || !sa_0(&home)) die_nomem();
  if (homes) {
    if (stat(home.s, &st) == -1) {
      if (errno != ENOENT || homes == 1) die_sys(111, "unable to stat ", home.s);
      sa_free(&home);
      return;
    }
    if (st.st_uid != uid) { sa_free(&home); return; }
  }
  sa_free(&home);

  uugh.len = 0;
  if (!sa_append(&uugh, ':') || !sa_catb(&uugh, f[0], fl[0]) || !sa_append(&uugh, ':') ||
      !sa_catb(&uugh, f[2], fl[2]) || !sa_append(&uugh, ':') || !sa_catb(&uugh, f[3], fl[3]) ||
      !sa_append(&uugh, ':') || !sa_catb(&uugh, f[5], fl[5]) || !sa_append(&uugh, ':'))
    die_nomem();
  if (!sa_catb(&allusers, f[0], fl[0]) || !sa_cat(&allusers, &uugh) || !sa_0(&allusers)) die_nomem();

  /* the alias user catches every address nobody else claims */
  if (isalias) {
    puts_("+");
    put(uugh.s, uugh.len);
    puts_(dash);
    puts_("::\n");
    saw_alias = 1;
  }

  mn = have_mana ? cmap_get(&mana, f[0], fl[0]) : 0;
  if (!mn) { name_lines(f[0], fl[0]); return; }
  for (;;) {
    size_t n;
    while (*mn == ':') mn++;
    if (!*mn) break;
    n = strcspn(mn, ":");
    name_lines(mn, n);
    mn += n;
  }
}

/* users/subusers: "sub:user:pre:" gives user the addresses sub and
 * sub<break>anything, with extension pre (and pre-anything) */
static void subuser(const char *line, size_t len, const cmap_t *users)
{
  const char *f[3], *u;
  size_t fl[3], nf = 0, start = 0, i;
  for (i = 0; i < len && nf < 3; i++)
    if (line[i] == ':') {
      f[nf] = line + start;
      fl[nf++] = i - start;
      start = i + 1;
    }
  if (nf < 3) return;
  u = cmap_get(users, f[1], fl[1]);
  if (!u) {
    sa_t n = SA_INIT;
    if (!sa_copyb(&n, f[1], fl[1]) || !sa_0(&n)) die_nomem();
    die_temp("unable to find user ", n.s, " for a subuser");
  }
  /* u is ":user:uid:gid:home:" after the key */
  puts_("=");
  put(f[0], fl[0]);
  puts_(":");
  puts_(u);
  puts_(dash);
  puts_(":");
  put(f[2], fl[2]);
  puts_(":\n");
  for (const char *b = breaks; *b; b++) {
    puts_("+");
    put(f[0], fl[0]);
    put(b, 1);
    puts_(":");
    puts_(u);
    puts_(dash);
    puts_(":");
    put(f[2], fl[2]);
    puts_("-:\n");
  }
}

static void each_line(int fd, const char *what, void (*fn)(const char *, size_t, const cmap_t *),
                      const cmap_t *m)
{
  char space[BUF_SIZE];
  buf_t in;
  sa_t line = SA_INIT;
  buf_init(&in, buf_read_op, fd, space, sizeof space);
  for (;;) {
    int r;
    line.len = 0;
    r = buf_getln(&in, &line, '\n', LINE_MAX_);
    if (r == -1) die_sys(111, "unable to read ", what);
    if (r == 1) --line.len;
    if (line.len) fn(line.s, line.len, m);
    if (r == 0) break;
  }
  sa_free(&line);
}

static void account3(const char *s, size_t n, const cmap_t *m) { account(s, n); }

/* a users/ list file: one entry a line, blank and '#' lines skipped,
 * trailing blanks removed (control/ files' rules, but under users/) */
static void readmap(const char *fn, int *have, sa_t *s, cmap_t *m, int colon)
{
  sa_t raw = SA_INIT;
  size_t i = 0;
  int r = read_file(fn, &raw, CONTROL_MAX);
  if (r == -1) die_sys(111, "unable to read ", fn);
  *have = r;
  s->len = 0;
  while (i < raw.len) {
    const char *nl = memchr(raw.s + i, '\n', raw.len - i);
    size_t end = nl ? (size_t)(nl - raw.s) : raw.len, e = end;
    while (e > i && (raw.s[e - 1] == ' ' || raw.s[e - 1] == '\t' || raw.s[e - 1] == '\r')) e--;
    if (e > i && raw.s[i] != '#') {
      if (memchr(raw.s + i, 0, e - i)) die_perm(fn, " contains a NUL byte");
      if (!sa_catb(s, raw.s + i, e - i) || !sa_0(s)) die_nomem();
    }
    i = end + 1;
  }
  sa_free(&raw);
  if (r && cmap_init(m, s, colon) == -1) die_nomem();
}

int main(int argc, char **argv)
{
  int opt, fd;
  size_t nb = strlen(auto_break);
  if (nb >= sizeof breaks) nb = sizeof breaks - 1;
  memcpy(breaks, auto_break, nb);
  if (!sa_copys(&aliashome, auto_qmail) || !sa_cats(&aliashome, "/alias")) die_nomem();

  while ((opt = getopt(argc, argv, "/ohHuUc:C")) != -1)
    switch (opt) {
    case '/': dash = "-/"; break;
    case 'o': homes = 2; break;
    case 'h': homes = 1; break;
    case 'H': homes = 0; break;
    case 'u': noupper = 0; break;
    case 'U': noupper = 1; break;
    case 'c':
      if (!optarg[0] || optarg[0] == ':' || optarg[0] == '\n') die_usage(USAGE);
      breaks[0] = optarg[0];
      breaks[1] = 0;
      break;
    case 'C': breaks[0] = 0; break;
    default: die_usage(USAGE);
    }
  if (optind != argc) die_usage(USAGE);
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);

  readmap("users/include", &have_incl, &incl_s, &incl, 0);
  readmap("users/exclude", &have_excl, &excl_s, &excl, 0);
  readmap("users/mailnames", &have_mana, &mana_s, &mana, 1);

  each_line(0, "input", account3, 0);
  if (!saw_alias) die_temp("unable to find the ", auto_usera, " user");

  fd = open_read("users/subusers");
  if (fd == -1) {
    if (errno != ENOENT) die_sys(111, "unable to open users/subusers");
  } else {
    cmap_t users;
    if (ndelay_off(fd) == -1) die_sys(111, "unable to read users/subusers");
    if (cmap_init(&users, &allusers, 1) == -1) die_nomem();
    each_line(fd, "users/subusers", subuser, &users);
    cmap_free(&users);
    close(fd);
  }

  fd = open_read("users/append");
  if (fd == -1) {
    if (errno != ENOENT) die_sys(111, "unable to open users/append");
  } else {
    char space[BUF_SIZE];
    buf_t in;
    if (ndelay_off(fd) == -1) die_sys(111, "unable to read users/append");
    buf_init(&in, buf_read_op, fd, space, sizeof space);
    switch (buf_copy(&out, &in)) {
    case 0: break;
    case -2: die_sys(111, "unable to read users/append");
    default: die_sys(111, "unable to write output");
    }
    close(fd);
  }
  puts_(".\n");
  if (buf_flush(&out) == -1) die_sys(111, "unable to write output");
  return 0;
}
