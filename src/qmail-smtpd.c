/* qmail-smtpd: the SMTP server (RFC 5321), run by tcpserver as qmaild with
 * the connection on fds 0 and 1 (see qmail-smtpd(8)).
 *
 *   qmail-smtpd [-v]
 *
 * Every message goes to qmail-queue through the qq client; the reply to
 * the final dot is sent only once qmail-queue has exited 0, and names the
 * queue id it reported.  Every input is bounded (CMD_MAX, RCPT_MAX, and
 * lib/msgfilt.h's header, line, hop and databytes limits): memory use does
 * not depend on what the client sends.  Nothing here needs privileges. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "control.h"
#include "date.h"
#include "die.h"
#include "fdio.h"
#include "msgfilt.h"
#include "num.h"
#include "policy.h"
#include "proc.h"
#include "queue.h"
#include "rcpt.h"
#include "sa.h"
#include "smtp.h"

const char *PROG = "qmail-smtpd";

/* RFC 5321 allows 512-byte command lines (1000 for text); twice the text
 * limit leaves room for long ESMTP parameter lists */
#define CMD_MAX 2048
/* RFC 5321 4.5.3.1.8 asks for at least 100 */
#define RCPT_MAX 1000

static unsigned long timeout = 1200;
static unsigned long databytes;
static bool verbose;

static char inspace[BUF_SIZE], outspace[BUF_SIZE];
static ssize_t rd(int, void *, size_t);
static ssize_t wr(int, void *, size_t);
static buf_t bin = BUF_INIT(rd, 0, inspace, sizeof inspace);
static buf_t bout = BUF_INIT(wr, 1, outspace, sizeof outspace);

static const char *remoteip, *remotehost, *remoteinfo, *localip, *localhost, *relayclient,
    *bouncemail;
static sa_t greeting, helo, sender, rcpts, line, addr, tmp, logbuf;
static policy_t pol = POLICY_INIT;

static bool seenhelo, seenmail, badsender;
static unsigned long nrcpt;

/* ---- output and logging ---- */

static void out(const char *s) { buf_puts(&bout, s); }
static void outflush(void) { buf_flush(&bout); }

/* a log line on fd 2: "qmail-smtpd: pid P from IP: text"; bytes outside
 * printable ASCII become '?' (addresses come from the client) */
static void logpart(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    sa_append(&logbuf, c < 32 || c > 126 ? '?' : (char)c);
  }
}
static void logs_(const char *s, ...);
#define logs(...) logs_(__VA_ARGS__, (const char *)0)

/* A client may send a million refused RCPTs in one session; logging each
 * would push everything else out of the log.  The first REFUSALS_LOGGED
 * refusals of a session are logged, the rest counted, and the count is
 * logged before the next line that is not a refusal. */
#define REFUSALS_LOGGED 100
static unsigned long nrefused, nunlogged;

static bool refusal_skipped(const char *s)
{
  char num[FMT_ULONG];
  if (strncmp(s, "refused", 7) != 0) {
    if (nunlogged) {
      num[fmt_ulong(num, nunlogged)] = 0;
      nunlogged = 0;
      logs("further refusals not logged: ", num);
    }
    return false;
  }
  if (++nrefused <= REFUSALS_LOGGED) return false;
  ++nunlogged;
  return true;
}

static void logs_(const char *s, ...)
{
  va_list ap;
  char num[FMT_ULONG];
  if (!verbose || refusal_skipped(s)) return;
  logbuf.len = 0;
  sa_cats(&logbuf, "qmail-smtpd: pid ");
  sa_catb(&logbuf, num, fmt_ulong(num, (unsigned long)getpid()));
  sa_cats(&logbuf, " from ");
  logpart(remoteip, strlen(remoteip));
  sa_cats(&logbuf, ": ");
  va_start(ap, s);
  for (; s; s = va_arg(ap, const char *)) logpart(s, strlen(s));
  va_end(ap);
  sa_append(&logbuf, '\n');
  buf_putsa(buf2, &logbuf);
  buf_flush(buf2);
}

static _Noreturn void leave(int code)
{
  outflush();
  _exit(code);
}

/* ---- timed I/O; output is flushed whenever more input is needed, which
 * is what makes PIPELINING work ---- */

static ssize_t rd(int fd, void *b, size_t n)
{
  ssize_t r;
  if (buf_flush(&bout) == -1) _exit(1);
  r = read_timeout(fd, b, n, (unsigned)timeout);
  if (r == -1 && errno == ETIMEDOUT) {
    logs("timeout");
    out("451 4.4.2 timeout (#4.4.2)\r\n");
    leave(1);
  }
  if (r <= 0) {
    logs(r == 0 ? "client disconnected" : "read error");
    _exit(1);
  }
  return r;
}

static ssize_t wr(int fd, void *b, size_t n)
{
  ssize_t r = write_timeout(fd, b, n, (unsigned)timeout);
  if (r <= 0) _exit(1);
  return r;
}

static _Noreturn void die_control(void)
{
  logs("unable to read controls");
  out("421 4.3.0 unable to read controls (#4.3.0)\r\n");
  leave(1);
}

static _Noreturn void die_nomem_(void)
{
  logs("out of memory");
  out("421 4.3.0 out of memory (#4.3.0)\r\n");
  leave(1);
}

/* ---- setup ---- */

static const char *envdef(const char *name, const char *def)
{
  const char *v = env_get(name);
  return v ? v : def;
}

static void setup(void)
{
  unsigned long u;
  const char *x;
  if (chdir(auto_qmail) == -1) die_control();
  if (control_init() == -1) die_control();
  if (control_rldef(&greeting, "smtpgreeting", 1, 0) != 1 && !greeting.len) die_control();
  if (control_readint(&timeout, "timeoutsmtpd") == -1) die_control();
  if (timeout == 0) timeout = 1;
  if (control_readint(&databytes, "databytes") == -1) die_control();
  x = env_get("DATABYTES");
  /* as qmail reads it: its leading digits, none (or too many) being 0,
   * no limit */
  if (x) {
    u = 0;
    scan_ulong(x, &u);
    databytes = u;
  }
  switch (policy_load(&pol)) {
  case -1: die_control();
  case -2: die_nomem_();
  }

  remoteip = envdef("TCPREMOTEIP", "unknown");
  remotehost = envdef("TCPREMOTEHOST", "unknown");
  remoteinfo = env_get("TCPREMOTEINFO");
  localip = envdef("TCPLOCALIP", "unknown");
  localhost = envdef("TCPLOCALHOST", localip);
  relayclient = env_get("RELAYCLIENT");
  bouncemail = env_get("BOUNCEMAIL");
  if (bouncemail && !*bouncemail) bouncemail = 0;
  pol.relayclient = relayclient;
  pol.localip = localip;
}

/* ---- addresses ---- */

/* "u@[a.b.c.d]" where a.b.c.d is the address the client connected to:
 * the literal becomes localiphost (before any other check) */
static void localip_rewrite(sa_t *a)
{
  if (policy_localip(&pol, a) == -1) die_nomem_();
}

/* null if the recipient may be accepted, else the reply */
static const char *relay_check(const sa_t *a)
{
  const char *why = 0;
  switch (policy_relay(&pol, a->s, a->len, &why)) {
  case POLICY_OK: return 0;
  case POLICY_TRICK:
    logs("refused rcpt <", a->s, ">: ", why);
    return "553 5.7.1 sorry, that address form is not accepted here (#5.7.1)\r\n";
  case POLICY_LITERAL:
    logs("refused rcpt <", a->s, ">: address literal");
    return "553 5.7.1 sorry, I do not relay to address literals (#5.7.1)\r\n";
  case POLICY_MRHERROR:
    logs("trouble reading morercpthosts.cdb");
    return "451 4.3.0 unable to read control/morercpthosts.cdb (#4.3.0)\r\n";
  case POLICY_NOMEM: die_nomem_();
  default:
    logs("refused rcpt <", a->s, ">: domain not in rcpthosts");
    return "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n";
  }
}

/* recipient validation against users/rcptcheck.cdb, for addresses
 * qmail-send will deliver locally, qualified exactly as it will */
static const char *rcpt_check(const sa_t *a)
{
  static bool said_old;
  switch (policy_rcpt(&pol, a->s, a->len)) {
  case POLICY_RCPT_OK: return 0;
  case POLICY_RCPT_OFF:
    logs("cannot read ", RCPT_CDB, ": recipients not checked");
    return 0;
  case POLICY_RCPT_ERROR:
    logs("trouble reading ", RCPT_CDB);
    return "451 4.3.0 unable to check the recipient (#4.3.0)\r\n";
  case POLICY_RCPT_OLD:
    /* once: every recipient of the session gets the same answer */
    if (!said_old) logs(RCPT_CDB, " has an older format: recipients not checked (rerun qmail-rcptcheck-rebuild)");
    said_old = true;
    return 0;
  case POLICY_RCPT_STALE:
    logs("accepted rcpt <", a->s, ">: ", RCPT_CDB, " is older than ", pol.changed.s);
    return 0;
  case POLICY_RCPT_NOMEM: die_nomem_();
  default:
    logs("refused rcpt <", a->s, ">: no such mailbox");
    return "550 5.1.1 sorry, no mailbox here by that name (#5.1.1)\r\n";
  }
}

/* ---- commands ---- */

static void reset(void)
{
  seenmail = badsender = false;
  nrcpt = 0;
  rcpts.len = 0;
  sender.len = 0;
}

static void path_error(int r)
{
  if (r == SMTP_PATH_TOOLONG) out("555 5.5.4 address too long (#5.5.4)\r\n");
  else if (r == SMTP_PATH_BADCHAR) out("555 5.5.4 control character in address (#5.5.4)\r\n");
  else out("555 5.5.4 syntax error in address (#5.5.4)\r\n");
}

static void greet(const char *code)
{
  out(code);
  buf_putsa(&bout, &greeting);
}

static void smtp_helo(const char *arg, size_t len, bool ehlo)
{
  if (!len) {
    out("501 5.5.4 HELO/EHLO needs a host name (#5.5.4)\r\n");
    return;
  }
  if (!sa_copyb(&helo, arg, len) || !sa_0(&helo)) die_nomem_();
  seenhelo = true;
  reset();
  if (!ehlo) {
    greet("250 ");
    out("\r\n");
    return;
  }
  greet("250-");
  out("\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE");
  if (databytes) {
    char num[FMT_ULONG + 1];
    num[0] = ' ';
    num[fmt_ulong(num + 1, databytes) + 1] = 0;
    out(num);
  }
  out("\r\n250 ENHANCEDSTATUSCODES\r\n");
}

/* the sender syntax (it reaches $SENDER of .qmail programs); an
 * unqualified sender such as "root" is taken, as qmail takes it, from
 * clients that may relay: trusted hosts and sendmail -bs */
static bool sender_ok(const sa_t *a)
{
  if (smtp_sender_ok(a->s, a->len)) return true;
  return relayclient && smtp_sender_unqualified_ok(a->s, a->len);
}

static void smtp_mail(const char *arg, size_t len)
{
  const char *params, *k, *v;
  size_t plen, kl, vl;
  smtp_params_t p;
  int r;
  /* MAIL without HELO/EHLO is accepted, as qmail and Postfix do: clients
   * that skip it exist, and the Received line simply has no HELO part */
  if (seenmail) { out("503 5.5.1 nested MAIL command (#5.5.1)\r\n"); return; }
  r = smtp_path(arg, len, "FROM:", &addr, &params, &plen);
  if (r != SMTP_PATH_OK) { logs("refused mail: bad syntax"); path_error(r); return; }
  smtp_params_init(&p, params, plen);
  while (smtp_params_next(&p, &k, &kl, &v, &vl)) {
    if (smtp_verb_is(k, kl, "SIZE") && v) {
      unsigned long n;
      size_t used;
      char num[FMT_ULONG + 1];
      if (vl >= sizeof num) { out("552 5.3.4 message too big (#5.3.4)\r\n"); return; }
      memcpy(num, v, vl);
      num[vl] = 0;
      used = scan_ulong(num, &n);
      if (!vl || used != vl) { out("501 5.5.4 bad SIZE parameter (#5.5.4)\r\n"); return; }
      if (databytes && n > databytes) {
        logs("refused mail: SIZE over databytes");
        out("552 5.3.4 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n");
        return;
      }
    } else if (smtp_verb_is(k, kl, "BODY") && v &&
               (smtp_verb_is(v, vl, "7BIT") || smtp_verb_is(v, vl, "8BITMIME"))) {
      continue;
    } else {
      out("555 5.5.4 unsupported MAIL parameter (#5.5.4)\r\n");
      return;
    }
  }
  localip_rewrite(&addr);
  if (!sender_ok(&addr)) {
    logs("refused mail <", addr.s, ">: bad sender syntax");
    out("553 5.1.7 sorry, bad sender address syntax (#5.1.7)\r\n");
    return;
  }
  if (!sa_copy(&sender, &addr) || !sa_0(&sender)) die_nomem_();
  badsender = policy_badmailfrom(&pol, addr.s, addr.len);
  seenmail = true;
  nrcpt = 0;
  rcpts.len = 0;
  out("250 2.1.0 ok\r\n");
}

static void smtp_rcpt(const char *arg, size_t len)
{
  const char *params, *why;
  size_t plen;
  int r;
  if (!seenmail) { out("503 5.5.1 MAIL first (#5.5.1)\r\n"); return; }
  r = smtp_path(arg, len, "TO:", &addr, &params, &plen);
  if (r != SMTP_PATH_OK) { logs("refused rcpt: bad syntax"); path_error(r); return; }
  if (plen) { out("555 5.5.4 unsupported RCPT parameter (#5.5.4)\r\n"); return; }
  if (bouncemail) {
    size_t n = strlen(bouncemail);
    logs("refused rcpt <", addr.s, ">: BOUNCEMAIL");
    /* the text as given if it starts with a reply code, else a 553 */
    if (!(n >= 4 && bouncemail[0] >= '4' && bouncemail[0] <= '5' && bouncemail[3] == ' '))
      out("553 ");
    for (size_t i = 0; i < n && i < 400; i++) {
      char c = bouncemail[i];
      buf_put(&bout, (unsigned char)c < 32 || c == 127 ? "?" : &c, 1);
    }
    out("\r\n");
    return;
  }
  if (badsender) {
    logs("refused rcpt <", addr.s, ">: sender <", sender.s, "> in badmailfrom");
    out("553 5.7.1 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n");
    return;
  }
  if (nrcpt >= RCPT_MAX) {
    logs("refused rcpt: too many recipients");
    out("452 4.5.3 too many recipients (#4.5.3)\r\n");
    return;
  }
  localip_rewrite(&addr);
  if (!addr.len) { out("553 5.1.3 empty recipient (#5.1.3)\r\n"); return; }
  if ((why = relay_check(&addr))) { out(why); return; }
  if (relayclient) {
    if (!sa_cats(&addr, relayclient) || !sa_0(&addr)) die_nomem_();
    --addr.len;
  }
  if (addr.len > QUEUE_ADDR_MAX) { out("555 5.5.4 address too long (#5.5.4)\r\n"); return; }
  if ((why = rcpt_check(&addr))) { out(why); return; }
  if (!sa_catb(&rcpts, addr.s, addr.len) || !sa_0(&rcpts)) die_nomem_();
  ++nrcpt;
  out("250 2.1.5 ok\r\n");
}

/* ---- DATA ---- */

static qq_t qq;
static msgfilt_t msg;

static void store(char c) { msgfilt_byte(&msg, c); }

enum { S_SOL, S_MID, S_CR, S_DOT, S_DOTCR };

/* reads the message up to CR LF . CR LF.  Only that sequence ends it: a
 * bare LF anywhere is refused (qmail's answer to SMTP smuggling, and what
 * keeps "\n.\n" style endings from ever being taken for the end); a CR not
 * followed by LF is data.  A line's leading dot is removed, except after
 * CR LF . CR with no LF next: then the dot and that CR are data, as qmail
 * stores them (".\rX" stays ".\rX", ".\r\r\n" becomes ".\r\n"). */
static void blast(void)
{
  int st = S_SOL;
  for (;;) {
    ssize_t n = buf_feed(&bin);
    char *p = buf_peek(&bin);
    if (n <= 0) _exit(1);
    for (ssize_t i = 0; i < n; i++) {
      char c = p[i];
      if (c == '\n' && st != S_CR && st != S_DOTCR) {
        buf_skip(&bin, (size_t)i + 1);
        logs("bare LF in DATA: dropped connection");
        /* qmail's pointer, which admins and scripts grep for */
        out("451 4.6.0 See http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)\r\n");
        leave(1);
      }
      switch (st) {
      case S_SOL:
        if (c == '.') st = S_DOT;
        else if (c == '\r') st = S_CR;
        else { store(c); st = S_MID; }
        break;
      case S_MID:
        if (c == '\r') st = S_CR;
        else store(c);
        break;
      case S_CR:
        if (c == '\n') { store('\n'); st = S_SOL; }
        else if (c == '\r') store('\r');
        else { store('\r'); store(c); st = S_MID; }
        break;
      case S_DOT:
        if (c == '\r') st = S_DOTCR;
        else { store(c); st = S_MID; }
        break;
      case S_DOTCR:
        if (c == '\n') { buf_skip(&bin, (size_t)i + 1); return; }
        store('.');
        store('\r');
        if (c == '\r') st = S_CR;
        else { store(c); st = S_MID; }
        break;
      }
    }
    buf_skip(&bin, (size_t)n);
  }
}

static void cat_safe(sa_t *s, const char *x)
{
  for (; *x; x++) {
    char c = *x;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".@%+/=:-[]", c);
    if (!sa_append(s, ok ? c : '?')) die_nomem_();
  }
}

static void received(void)
{
  char date[DATE_LEN];
  tmp.len = 0;
  if (!sa_cats(&tmp, "Received: from ")) die_nomem_();
  cat_safe(&tmp, remotehost);
  if (seenhelo && strcasecmp(helo.s, remotehost) != 0) {
    sa_cats(&tmp, " (HELO ");
    cat_safe(&tmp, helo.s);
    sa_cats(&tmp, ")");
  }
  sa_cats(&tmp, " (");
  if (remoteinfo) {
    cat_safe(&tmp, remoteinfo);
    sa_cats(&tmp, "@");
  }
  cat_safe(&tmp, remoteip);
  sa_cats(&tmp, ")\n  by ");
  cat_safe(&tmp, localhost);
  sa_cats(&tmp, " with SMTP; ");
  date_rfc5322(date, time(0));
  if (!sa_cats(&tmp, date) || !sa_cats(&tmp, "\n")) die_nomem_();
  qq_put(&qq, tmp.s, tmp.len);
}

/* "Ztext (#4.x.y)" from qq_close into a reply with its status code */
static void qq_reply(const char *r)
{
  const char *code = r[0] == 'D' ? "554 " : "451 ";
  const char *h = strstr(r, "(#");
  out(code);
  if (h && h[2] && h[3] == '.') {
    const char *e = strchr(h, ')');
    if (e) {
      buf_put(&bout, h + 2, (size_t)(e - h - 2));
      out(" ");
    }
  } else {
    out(r[0] == 'D' ? "5.3.0 " : "4.3.0 ");
  }
  for (const char *x = r + 1; *x; x++) {
    char c = *x;
    buf_put(&bout, (unsigned char)c < 32 ? "?" : &c, 1);
  }
  out("\r\n");
}

static void smtp_data(const char *arg, size_t len)
{
  const char *r;
  char num[FMT_ULONG];
  if (!seenmail) { out("503 5.5.1 MAIL first (#5.5.1)\r\n"); return; }
  if (!nrcpt) { out("503 5.5.1 RCPT first (#5.5.1)\r\n"); return; }
  if (len) { out("501 5.5.4 DATA takes no argument (#5.5.4)\r\n"); return; }
  if (qq_open(&qq, true) == -1) {
    logs("unable to start qmail-queue");
    out("451 4.3.0 qqt failure (#4.3.0)\r\n");
    return;
  }
  out("354 go ahead, end with <CRLF>.<CRLF>\r\n");
  msgfilt_start(&msg, &qq, false, databytes);
  received();
  blast();
  msgfilt_end(&msg);
  if (msg.toobig) {
    const char *toobig = msg.toobig;
    qq_close(&qq); /* no envelope: qmail-queue queues nothing */
    reset();
    if (!strcmp(toobig, "hops")) {
      logs("refused message: too many hops");
      out("554 5.4.6 too many hops, this message is looping (#5.4.6)\r\n");
    } else if (!strcmp(toobig, "databytes")) {
      logs("refused message: over databytes");
      out("552 5.3.4 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n");
    } else if (!strcmp(toobig, "header")) {
      logs("refused message: header too large");
      out("552 5.3.4 sorry, the header is too large (#5.3.4)\r\n");
    } else {
      logs("refused message: line too long");
      out("552 5.3.4 sorry, a line is too long (#5.3.4)\r\n");
    }
    return;
  }
  qq_from(&qq, sender.s);
  for (size_t i = 0; i < rcpts.len; i += strlen(rcpts.s + i) + 1) qq_to(&qq, rcpts.s + i);
  r = qq_close(&qq);
  if (*r) {
    logs("qmail-queue failed: ", r + 1);
    qq_reply(r);
    reset();
    return;
  }
  out("250 2.0.0 ok ");
  num[fmt_ulong(num, (unsigned long)time(0))] = 0;
  out(num);
  out(" qp ");
  num[fmt_ulong(num, (unsigned long)qq.pid)] = 0;
  out(num);
  if (verbose) {
    char n2[FMT_ULONG], n3[FMT_ULONG], n4[FMT_ULONG];
    n2[fmt_ulong(n2, (unsigned long)qq.pid)] = 0;
    n3[fmt_ulong(n3, qq.id)] = 0;
    n4[fmt_ulong(n4, nrcpt)] = 0;
    logs("accepted message from <", sender.s, "> rcpts ", n4, " qp ", n2, " id ", n3);
  }
  if (qq.id) {
    out(" id ");
    num[fmt_ulong(num, qq.id)] = 0;
    out(num);
  }
  out("\r\n");
  reset();
}

/* ---- the command loop ---- */

/* one command line into line, without its LF and one CR before it.
 * false if it was longer than CMD_MAX: the rest up to LF is read and
 * thrown away without being stored */
static bool getcmd(void)
{
  bool toolong = false;
  line.len = 0;
  for (;;) {
    ssize_t n = buf_feed(&bin);
    char *p = buf_peek(&bin), *nl;
    size_t take;
    if (n <= 0) _exit(1);
    nl = memchr(p, '\n', (size_t)n);
    take = nl ? (size_t)(nl - p) + 1 : (size_t)n;
    if (!toolong) {
      if (take > CMD_MAX - line.len) {
        toolong = true;
        line.len = 0;
      } else if (!sa_catb(&line, p, take)) {
        die_nomem_();
      }
    }
    buf_skip(&bin, take);
    if (nl) break;
  }
  if (toolong) return false;
  --line.len;
  if (line.len && line.s[line.len - 1] == '\r') --line.len;
  return true;
}

int main(int argc, char **argv)
{
  /* other arguments are ignored, as qmail does: run files written for
   * patched versions pass more (a host name, a checkpassword program) */
  if (argc > 1 && !strcmp(argv[1], "-v")) verbose = true;
  {
    const char *v = env_get("SMTPD_VERBOSE");
    if (v && *v && strcmp(v, "0") != 0) verbose = true;
  }
  sig_ignore(SIGPIPE);
  remoteip = envdef("TCPREMOTEIP", "unknown");
  if (proc_private() == -1) {
    logs("unable to keep other processes out of the session");
    out("421 4.3.0 unable to start the session (#4.3.0)\r\n");
    leave(1);
  }
  setup();
  logs("connect host ", remotehost, relayclient ? " relayclient" : "");
  greet("220 ");
  out(" ESMTP\r\n");
  for (;;) {
    const char *arg;
    size_t alen, vl;
    if (!getcmd()) {
      logs("refused: command line too long");
      out("500 5.5.2 line too long (#5.5.2)\r\n");
      continue;
    }
    if (memchr(line.s, 0, line.len)) {
      out("501 5.5.2 NUL in command (#5.5.2)\r\n");
      continue;
    }
    vl = smtp_verb(line.s, line.len, &arg, &alen);
    if (smtp_verb_is(line.s, vl, "QUIT")) {
      greet("221 2.0.0 ");
      out("\r\n");
      logs("quit");
      leave(0);
    } else if (smtp_verb_is(line.s, vl, "HELO")) smtp_helo(arg, alen, false);
    else if (smtp_verb_is(line.s, vl, "EHLO")) smtp_helo(arg, alen, true);
    else if (smtp_verb_is(line.s, vl, "MAIL")) smtp_mail(arg, alen);
    else if (smtp_verb_is(line.s, vl, "RCPT")) smtp_rcpt(arg, alen);
    else if (smtp_verb_is(line.s, vl, "DATA")) smtp_data(arg, alen);
    else if (smtp_verb_is(line.s, vl, "RSET")) { reset(); out("250 2.0.0 flushed\r\n"); }
    else if (smtp_verb_is(line.s, vl, "NOOP")) out("250 2.0.0 ok\r\n");
    else if (smtp_verb_is(line.s, vl, "VRFY"))
      out("252 2.1.5 send some mail, I'll try my best\r\n");
    else if (smtp_verb_is(line.s, vl, "HELP"))
      out("214 2.0.0 see qmail-smtpd(8); commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY QUIT\r\n");
    else if (!vl) out("500 5.5.2 syntax error (#5.5.2)\r\n");
    else out("502 5.5.1 unimplemented (#5.5.1)\r\n");
  }
}
