/* qmail-inject: reads a message on stdin, completes its header (Date,
 * Message-ID, From, qualified addresses; Bcc and friends removed), picks
 * the envelope and hands both to qmail-queue.
 *
 * Memory: only the header is held (it must be: the generated fields go in
 * front of it, and header recipients are only known at its end); it is
 * bounded by HDR_FIELD_MAX per field and HEADER_MAX in all.  The body is
 * streamed through a fixed buffer, byte for byte (NULs included). */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "control.h"
#include "date.h"
#include "die.h"
#include "fdio.h"
#include "hdr.h"
#include "num.h"
#include "proc.h"
#include "queue.h"
#include "quote.h"
#include "sa.h"

const char *PROG = "qmail-inject";

#define USAGE "qmail-inject [-nNaAhH] [-fsender] [-Fname] [--] [recipient ...]"
/* the kept header fields after rewriting, all together */
#define HEADER_MAX ((size_t)8 << 20)
/* every envelope address, all together: qualification can make a short
 * "a,b,c" header list much longer, so the header limit alone is not one */
#define ENVELOPE_MAX ((size_t)16 << 20)
/* a configured host name (DNS names stop at 253) */
#define HOST_MAX 255

static _Noreturn void die_read(void) { die_sys(111, "unable to read message"); }
static _Noreturn void die_write(void) { die_sys(111, "unable to write output"); }

/* ---- settings */
static bool flagqueue = true;
enum { R_DEFAULT, R_ARGS, R_HEADER, R_BOTH };
static int strategy = R_DEFAULT;
static bool use_args, use_header;
/* QMAILINJECT letters */
static bool name_comment, drop_returnpath, drop_from, drop_msgid, verp_rcpt, verp_mess;

static const char *mailuser, *mailhost, *mailsuser, *mailshost;
static sa_t fullname = SA_INIT;
static sa_t defaulthost = SA_INIT, defaultdomain = SA_INIT, plusdomain = SA_INIT,
            idhost = SA_INIT;
static hdr_qual_t qual;
static struct timeval start;

/* ---- state */
static qq_t qq;
static sa_t sender = SA_INIT;
static bool have_sender;
static bool sender_given; /* by -f: taken as it is, never given the VERP suffix */
/* NUL-terminated address lists */
static sa_t rcpt_args = SA_INIT, rcpt_hdr = SA_INIT, rcpt_resent = SA_INIT,
            rcpt_tocc = SA_INIT;
static size_t envelope_bytes;
static sa_t saved = SA_INIT; /* the kept header fields */

static bool mft;             /* QMAILMFTFILE given */
static sa_t mftlist = SA_INIT;
static cmap_t mftmap;

/* ---- header field types */
enum {
  F_OTHER, F_TO, F_CC, F_BCC, F_APPTO, F_RTO, F_RCC, F_RBCC,
  F_RETPATH, F_SENDER, F_FROM, F_REPLYTO, F_RRT, F_ERRTO,
  F_RSENDER, F_RFROM, F_RREPLYTO, F_DATE, F_MSGID, F_RDATE, F_RMSGID,
  F_CLEN, F_MFT, F_NUM
};
static const char *const fname[F_NUM] = {
  [F_TO] = "to", [F_CC] = "cc", [F_BCC] = "bcc", [F_APPTO] = "apparently-to",
  [F_RTO] = "resent-to", [F_RCC] = "resent-cc", [F_RBCC] = "resent-bcc",
  [F_RETPATH] = "return-path", [F_SENDER] = "sender", [F_FROM] = "from",
  [F_REPLYTO] = "reply-to", [F_RRT] = "return-receipt-to", [F_ERRTO] = "errors-to",
  [F_RSENDER] = "resent-sender", [F_RFROM] = "resent-from",
  [F_RREPLYTO] = "resent-reply-to", [F_DATE] = "date", [F_MSGID] = "message-id",
  [F_RDATE] = "resent-date", [F_RMSGID] = "resent-message-id",
  [F_CLEN] = "content-length", [F_MFT] = "mail-followup-to",
};
static bool seen[F_NUM];

static int ftype(const char *f, size_t n)
{
  for (int i = 1; i < F_NUM; i++)
    if (hdr_is(f, n, fname[i])) return i;
  return F_OTHER;
}

static bool is_rcpt(int t) { return t >= F_TO && t <= F_RBCC; }
static bool is_addr(int t) { return t >= F_TO && t <= F_RREPLYTO; }

/* ---- output: qmail-queue, or stdout with -n */
static void put(const char *s, size_t n)
{
  if (flagqueue) qq_put(&qq, s, n);
  else if (buf_put(buf1, s, n) == -1) die_write();
}
static void puts_(const char *s) { put(s, strlen(s)); }
static void putsa(const sa_t *x) { if (x->len) put(x->s, x->len); }

/* ---- addresses */

static bool ctl_in(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 32 || s[i] == 127) return true;
  return false;
}

/* appends a's envelope form to list, within the limits */
static void add_env(sa_t *list, const hdr_addr_t *a)
{
  size_t before = list->len;
  if (!hdr_addr_env(list, a)) {
    if (errno == EINVAL) die_perm("address contains a NUL byte");
    die_nomem();
  }
  if (list->len - before - 1 > QUEUE_ADDR_MAX)
    die_perm("address longer than 1000 bytes: ", list->s + before);
  envelope_bytes += list->len - before;
  if (envelope_bytes > ENVELOPE_MAX) die_perm("too many recipients");
}

/* an address given on the command line or with -f: taken literally (it is
 * no header text), split at the last "@", then qualified */
static void literal_addr(hdr_addr_t *a, const char *s, const char *what)
{
  size_t n = strlen(s);
  const char *at;
  if (n >= 2 && s[0] == '<' && s[n - 1] == '>') { ++s; n -= 2; }
  if (!n) die_perm("empty ", what, " address");
  if (ctl_in(s, n)) die_perm(what, " address contains control characters");
  /* a stray bracket is a quoting mistake; taken literally it would only
   * bounce later */
  if (memchr(s, '<', n) || memchr(s, '>', n))
    die_perm("unbalanced <> in ", what, " address: ", s);
  at = memrchr(s, '@', n);
  a->local.len = a->domain.len = 0;
  a->has_domain = a->null = a->route = a->angle = a->group = false;
  if (!sa_catb(&a->local, s, at ? (size_t)(at - s) : n)) die_nomem();
  if (at) {
    a->has_domain = true;
    if (!sa_catb(&a->domain, at + 1, n - (size_t)(at - s) - 1)) die_nomem();
  }
  if (!hdr_qualify(a, &qual)) die_nomem();
  if (a->has_domain && !hdr_domain_ok(a->domain.s, a->domain.len))
    die_perm("invalid host name in ", what, " address: ", s);
}

static void add_arg(const char *s)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  literal_addr(&a, s, "recipient");
  add_env(&rcpt_args, &a);
  hdr_addr_free(&a);
}

static void set_sender(const char *s)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  sender.len = 0;
  have_sender = sender_given = true;
  if (!*s || !strcmp(s, "<>")) { /* the null sender */
    if (!sa_0(&sender)) die_nomem();
    --sender.len;
    return;
  }
  literal_addr(&a, s, "sender");
  add_env(&sender, &a);
  --sender.len; /* keep the NUL out of len */
  hdr_addr_free(&a);
}

/* QMAILSUSER@QMAILSHOST (default: the From user and host) */
static void default_sender(void)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  if (!sa_copys(&a.local, mailsuser)) die_nomem();
  if (verp_mess) { /* a return address unique to this message */
    if (!sa_append(&a.local, '-') || !sa_catulong(&a.local, (unsigned long)start.tv_sec) ||
        !sa_append(&a.local, '.') || !sa_catulong(&a.local, (unsigned long)getpid()))
      die_nomem();
  }
  if (verp_rcpt && !sa_append(&a.local, '-')) die_nomem();
  if (mailshost) {
    a.has_domain = true;
    if (!sa_copys(&a.domain, mailshost)) die_nomem();
  }
  if (!hdr_qualify(&a, &qual)) die_nomem();
  sender.len = 0;
  add_env(&sender, &a);
  --sender.len;
  have_sender = true;
  hdr_addr_free(&a);
}

/* ---- header fields */

static hdr_alist_t al = HDR_ALIST_INIT;
static sa_t newf = SA_INIT;

/* the field's name, printable and short, for messages */
static const char *field_name(const sa_t *f)
{
  static char b[65];
  size_t n = hdr_name_len(f->s, f->len);
  if (n > sizeof b - 1) n = sizeof b - 1;
  memcpy(b, f->s, n);
  b[n] = 0;
  return b;
}

static void do_field(sa_t *f)
{
  int t;
  const sa_t *out = f;
  if (hdr_line_kind(f->s, f->len) == HDR_L_MBOX) {
    /* an mbox "From " line in the header is kept, made a valid field */
    newf.len = 0;
    if (!sa_cats(&newf, "MBOX-Line: ") || !sa_cat(&newf, f)) die_nomem();
    out = &newf;
    t = F_OTHER;
  } else
    t = ftype(f->s, f->len);
  if ((t == F_FROM && drop_from) || (t == F_MSGID && drop_msgid) ||
      (t == F_RETPATH && drop_returnpath))
    return;
  seen[t] = true;
  if (is_addr(t)) {
    size_t off = hdr_value_off(f->s, f->len);
    bool rcpt = is_rcpt(t);
    int r = hdr_alist_parse(&al, f->s + off, f->len - off);
    if (r == -1) die_nomem();
    if (r == 0) {
      /* a sender field must be right; a recipient field only when we
       * take recipients from it, else it goes on untouched */
      if (!rcpt || use_header) die_perm("unable to parse header field ", field_name(f));
    } else {
      for (size_t i = 0; i < al.n; i++) {
        hdr_addr_t *a = al.a + i;
        if (!hdr_qualify(a, &qual)) die_nomem();
        if (rcpt && !a->null) {
          if (use_header)
            add_env(t >= F_RTO ? &rcpt_resent : &rcpt_hdr, a);
          if (mft && (t == F_TO || t == F_CC)) add_env(&rcpt_tocc, a);
        }
        if (t == F_RETPATH && !have_sender) { /* the first one wins */
          sender.len = 0;
          add_env(&sender, a);
          --sender.len;
          have_sender = true;
        }
      }
      newf.len = 0;
      if (!sa_catb(&newf, f->s, off)) die_nomem();
      if (!hdr_alist_render(&newf, f->s + off, f->len - off, &al, HEADER_MAX)) {
        if (errno == E2BIG) die_perm("header longer than 8388608 bytes");
        if (errno == EINVAL) die_perm("unable to write an address of field ", field_name(f));
        die_nomem();
      }
      out = &newf;
    }
  }
  if (t == F_BCC || t == F_RBCC || t == F_RETPATH || t == F_CLEN) return;
  if (saved.len + out->len > HEADER_MAX) die_perm("header longer than 8388608 bytes");
  if (!sa_cat(&saved, out)) die_nomem();
}

/* ---- generated fields */

static void put_date(const char *pre)
{
  char d[DATE_LEN];
  size_t n = date_rfc5322_local(d, start.tv_sec);
  puts_(pre);
  puts_("Date: ");
  put(d, n);
  puts_("\n");
}

/* <YYYYMMDDhhmmss.uuuuuu.PID.qmail@idhost>: the microseconds make two
 * messages from reused pids in one second distinct */
static void put_msgid(const char *pre)
{
  struct tm tm;
  char b[FMT_ULONG * 8];
  size_t n = 0;
  time_t t = start.tv_sec;
  if (!gmtime_r(&t, &tm)) memset(&tm, 0, sizeof tm);
  n += fmt_ulong0(b + n, (unsigned long)(tm.tm_year + 1900) % 10000, 4);
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_mon + 1, 2);
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_mday, 2);
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_hour, 2);
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_min, 2);
  n += fmt_ulong0(b + n, (unsigned long)tm.tm_sec, 2);
  b[n++] = '.';
  n += fmt_ulong0(b + n, (unsigned long)start.tv_usec, 6);
  b[n++] = '.';
  n += fmt_ulong(b + n, (unsigned long)getpid());
  puts_(pre);
  puts_("Message-ID: <");
  put(b, n);
  puts_(".qmail@");
  putsa(&idhost);
  puts_(">\n");
}

static void put_from(const char *pre)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  sa_t v = SA_INIT;
  if (!sa_copys(&a.local, mailuser)) die_nomem();
  if (mailhost) {
    a.has_domain = true;
    if (!sa_copys(&a.domain, mailhost)) die_nomem();
  }
  if (!hdr_qualify(&a, &qual)) die_nomem();
  if (fullname.len && !name_comment) {
    if (!sa_append(&v, '"')) die_nomem();
    for (size_t i = 0; i < fullname.len; i++) {
      char c = fullname.s[i];
      if ((c == '"' || c == '\\') && !sa_append(&v, '\\')) die_nomem();
      if (!sa_append(&v, c)) die_nomem();
    }
    if (!sa_cats(&v, "\" <")) die_nomem();
  }
  if (!hdr_addr_fmt(&v, &a)) {
    if (errno == EINVAL) die_perm("the user name cannot be written in a From field");
    die_nomem();
  }
  if (fullname.len && !name_comment && !sa_append(&v, '>')) die_nomem();
  if (fullname.len && name_comment) {
    if (!sa_cats(&v, " (")) die_nomem();
    for (size_t i = 0; i < fullname.len; i++) {
      char c = fullname.s[i];
      if ((c == '(' || c == ')' || c == '\\') && !sa_append(&v, '\\')) die_nomem();
      if (!sa_append(&v, c)) die_nomem();
    }
    if (!sa_append(&v, ')')) die_nomem();
  }
  puts_(pre);
  puts_("From: ");
  putsa(&v);
  puts_("\n");
  sa_free(&v);
  hdr_addr_free(&a);
}

/* Mail-Followup-To: when a To/Cc address is one of the lists named in
 * $QMAILMFTFILE, replies should go to all of To and Cc */
static void put_mft(void)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  sa_t v = SA_INIT;
  size_t i;
  bool hit = false;
  if (!mft || seen[F_MFT]) return;
  for (i = 0; i < rcpt_tocc.len; i += strlen(rcpt_tocc.s + i) + 1)
    if (cmap_get(&mftmap, rcpt_tocc.s + i, strlen(rcpt_tocc.s + i))) { hit = true; break; }
  if (!hit) return;
  for (i = 0; i < rcpt_tocc.len; i += strlen(rcpt_tocc.s + i) + 1) {
    const char *s = rcpt_tocc.s + i, *at = strrchr(s, '@');
    size_t n = strlen(s);
    a.local.len = a.domain.len = 0;
    a.has_domain = at != 0;
    if (!sa_catb(&a.local, s, at ? (size_t)(at - s) : n)) die_nomem();
    if (at && !sa_cats(&a.domain, at + 1)) die_nomem();
    if (v.len && !sa_cats(&v, ",\n  ")) die_nomem();
    if (!hdr_addr_fmt(&v, &a)) die_nomem(); /* control characters were refused before */
  }
  puts_("Mail-Followup-To: ");
  putsa(&v);
  puts_("\n");
  sa_free(&v);
  hdr_addr_free(&a);
}

static size_t count(const sa_t *l)
{
  size_t c = 0;
  for (size_t i = 0; i < l->len; i++) if (!l->s[i]) ++c;
  return c;
}

static const sa_t *header_rcpts;

static void finish_header(void)
{
  bool resent = seen[F_RSENDER] || seen[F_RFROM] || seen[F_RREPLYTO] ||
                seen[F_RTO] || seen[F_RCC] || seen[F_RBCC] || seen[F_RDATE] ||
                seen[F_RMSGID];
  const char *pre = resent ? "Resent-" : "";
  /* with Resent- fields the message is being resent: the Resent- fields
   * name its new recipients, the old To/Cc are history */
  header_rcpts = resent ? &rcpt_resent : &rcpt_hdr;
  if (!have_sender) default_sender();
  /* QMAILINJECT=r marks the default sender or a Return-Path one for
   * VERP; a -f sender is the caller's exact choice (a list's bounce
   * address must stay what it is) */
  if (verp_rcpt && !sender_given && sender.len && !sa_cats(&sender, "-@[]")) die_nomem();
  if (flagqueue) {
    size_t n = (use_args ? count(&rcpt_args) : 0) + (use_header ? count(header_rcpts) : 0);
    if (!n) die_perm("no recipients");
    if (qq_open(&qq, true) == -1) die_sys(111, "unable to run qmail-queue");
  } else {
    /* as an RFC 5321 path, the way qmail writes it: "a b"@h.org */
    sa_t q = SA_INIT;
    if (!sa_0(&sender)) die_nomem();
    --sender.len;
    if (!quote_addr(&q, sender.s)) die_nomem();
    puts_("Return-Path: <");
    putsa(&q);
    puts_(">\n");
    sa_free(&q);
  }
  if (!seen[resent ? F_RDATE : F_DATE]) put_date(pre);
  if (!seen[resent ? F_RMSGID : F_MSGID]) put_msgid(pre);
  if (!seen[resent ? F_RFROM : F_FROM]) put_from(pre);
  if (!seen[resent ? F_RTO : F_TO] && !seen[resent ? F_RCC : F_CC]) {
    puts_(pre);
    puts_("Cc: recipient list not shown: ;\n");
  }
  if (!resent) put_mft();
  putsa(&saved);
}

static void finish(void)
{
  const char *r;
  if (!flagqueue) {
    if (buf_flush(buf1) == -1) die_write();
    _exit(0);
  }
  qq_from(&qq, sender.s);
  if (use_args)
    for (size_t i = 0; i < rcpt_args.len; i += strlen(rcpt_args.s + i) + 1)
      qq_to(&qq, rcpt_args.s + i);
  if (use_header)
    for (size_t i = 0; i < header_rcpts->len; i += strlen(header_rcpts->s + i) + 1)
      qq_to(&qq, header_rcpts->s + i);
  r = qq_close(&qq);
  if (!*r) _exit(0);
  if (*r == 'D') die_perm(r + 1);
  die_temp(r + 1);
}

/* ---- configuration */

static void mft_init(void)
{
  const char *fn = env_get("QMAILMFTFILE");
  sa_t raw = SA_INIT;
  size_t i = 0;
  int r;
  if (!fn) return;
  r = read_file(fn, &raw, CONTROL_MAX);
  if (r == -1) die_sys(111, "unable to read ", fn);
  if (r == 0) return;
  while (i < raw.len) {
    const char *nl = memchr(raw.s + i, '\n', raw.len - i);
    size_t e = nl ? (size_t)(nl - raw.s) : raw.len, k = e;
    while (k > i && (raw.s[k - 1] == ' ' || raw.s[k - 1] == '\t' || raw.s[k - 1] == '\r')) --k;
    if (k > i && raw.s[i] != '#')
      if (!sa_catb(&mftlist, raw.s + i, k - i) || !sa_0(&mftlist)) die_nomem();
    i = e + 1;
  }
  sa_free(&raw);
  if (cmap_init(&mftmap, &mftlist, 0) == -1) die_nomem();
  mft = true;
}

/* a host name from control/<fn>, $env overriding when set and not empty.
 * An empty (or blank) file counts as absent: control/me, else the file's
 * own name, as qmail falls back; one stray empty file must not make every
 * injection fail. */
static void host_setting(sa_t *out, const char *fn, const char *env)
{
  const char *x = env_get(env);
  int r;
  if (x && *x) {
    if (!sa_copys(out, x)) die_nomem();
  } else {
    r = control_readline(out, fn);
    if (r == -1) die_sys(111, "unable to read control/", fn);
    if (r == 0 || !out->len) {
      x = control_me();
      if (!sa_copys(out, *x ? x : fn)) die_nomem();
    }
  }
  if (!sa_0(out)) die_nomem();
  --out->len;
  if (out->len > HOST_MAX || !hdr_domain_ok(out->s, out->len))
    die_perm("invalid host name in control/", fn, " or $", env);
}

/* the first of the variables that is set; with skip_empty, the first
 * that is set and not empty */
static const char *env_first(bool skip_empty, const char *a, const char *b, const char *c,
                             const char *d)
{
  const char *const v[] = {a, b, c, d};
  for (size_t i = 0; i < sizeof v / sizeof *v && v[i]; i++) {
    const char *x = env_get(v[i]);
    if (x && (*x || !skip_empty)) return x;
  }
  return 0;
}

/* controls are turned into spaces: a name must not break the header */
static void set_name(const char *s)
{
  fullname.len = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!sa_append(&fullname, (char)(c < 32 || c == 127 ? ' ' : c))) die_nomem();
  }
}

/* a host name from the environment, without the trailing dot that an
 * address may have (qualification drops it there too); 0 if none is left */
static const char *env_host(sa_t *b, const char *x)
{
  size_t n = x ? strlen(x) : 0;
  while (n && x[n - 1] == '.') --n;
  if (!n) return 0;
  if (!sa_copyb(b, x, n) || !sa_0(b)) die_nomem();
  return b->s;
}

static void identity(const char *fopt_name)
{
  static sa_t hbuf = SA_INIT, shbuf = SA_INIT;
  struct passwd *pw = getpwuid(getuid());
  const char *name;
  mailuser = env_first(true, "QMAILUSER", "MAILUSER", "USER", "LOGNAME");
  if (!mailuser && pw) mailuser = pw->pw_name;
  if (!mailuser || !*mailuser) mailuser = "anonymous";
  mailhost = env_host(&hbuf, env_first(true, "QMAILHOST", "MAILHOST", 0, 0));
  mailsuser = env_get("QMAILSUSER");
  if (!mailsuser || !*mailsuser) mailsuser = mailuser;
  mailshost = env_host(&shbuf, env_get("QMAILSHOST"));
  if (!mailshost) mailshost = mailhost;
  if (mailhost && (strlen(mailhost) > HOST_MAX || !hdr_domain_ok(mailhost, strlen(mailhost))))
    die_perm("invalid host name in $QMAILHOST or $MAILHOST");
  if (mailshost && (strlen(mailshost) > HOST_MAX || !hdr_domain_ok(mailshost, strlen(mailshost))))
    die_perm("invalid host name in $QMAILSHOST");
  if (ctl_in(mailuser, strlen(mailuser)) || ctl_in(mailsuser, strlen(mailsuser)))
    die_perm("control characters in the user name");
  /* a set variable wins even when empty (that means: no name) */
  name = fopt_name ? fopt_name : env_first(false, "QMAILNAME", "MAILNAME", "NAME", 0);
  if (!name && pw && pw->pw_gecos && !strcmp(pw->pw_name, mailuser)) {
    /* the passwd comment up to its first comma is the full name */
    static sa_t g = SA_INIT;
    const char *c = strchr(pw->pw_gecos, ',');
    if (!sa_copyb(&g, pw->pw_gecos, c ? (size_t)(c - pw->pw_gecos) : strlen(pw->pw_gecos)) ||
        !sa_0(&g))
      die_nomem();
    name = g.s;
  }
  if (name) set_name(name);
}

int main(int argc, char **argv)
{
  const char *x, *fopt = 0, *Fopt = 0;
  hdr_rd_t rd;
  sa_t f = SA_INIT;
  char last = '\n'; /* the last byte written of the body, if any */
  int c, r;

  sig_ignore(SIGPIPE);
  gettimeofday(&start, 0);
  for (x = env_get("QMAILINJECT"); x && *x; x++)
    switch (*x) {
    case 'c': name_comment = true; break;
    case 's': drop_returnpath = true; break;
    case 'f': drop_from = true; break;
    case 'i': drop_msgid = true; break;
    case 'r': verp_rcpt = true; break;
    case 'm': verp_mess = true; break;
    }

  opterr = 0;
  while ((c = getopt(argc, argv, "+nNaAhHf:F:")) != -1)
    switch (c) {
    case 'n': flagqueue = false; break;
    case 'N': flagqueue = true; break;
    case 'a': strategy = R_ARGS; break;
    case 'A': strategy = R_DEFAULT; break;
    case 'h': strategy = R_HEADER; break;
    case 'H': strategy = R_BOTH; break;
    case 'f': fopt = optarg; break;
    case 'F': Fopt = optarg; break;
    default: die_usage(USAGE);
    }
  argv += optind;
  if (strategy == R_DEFAULT) strategy = *argv ? R_ARGS : R_HEADER;
  use_args = strategy == R_ARGS || strategy == R_BOTH;
  use_header = strategy == R_HEADER || strategy == R_BOTH;

  identity(Fopt);
  mft_init(); /* its file name is relative to the caller's directory */
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to switch to ", auto_qmail);
  if (control_init() == -1) die_sys(111, "unable to read control/me");
  host_setting(&defaulthost, "defaulthost", "QMAILDEFAULTHOST");
  host_setting(&defaultdomain, "defaultdomain", "QMAILDEFAULTDOMAIN");
  host_setting(&plusdomain, "plusdomain", "QMAILPLUSDOMAIN");
  host_setting(&idhost, "idhost", "QMAILIDHOST");
  qual.defaulthost = defaulthost.s;
  qual.defaultdomain = defaultdomain.s;
  qual.plusdomain = plusdomain.s;

  if (use_args)
    for (; *argv; argv++) add_arg(*argv);
  if (fopt) set_sender(fopt);

  hdr_rd_init(&rd, buf0, HDR_FIELD_MAX);
  while ((r = hdr_rd_next(&rd, &f)) == 1) do_field(&f);
  if (r == -1) {
    if (errno == E2BIG) die_perm("header field longer than 1048576 bytes");
    die_read();
  }
  finish_header();

  if (rd.end == HDR_END_BLANK)
    puts_("\n");
  else if (rd.end == HDR_END_LINE) {
    /* the header ended at a line that is no field: keep a separator */
    puts_("\n");
    putsa(&rd.line);
    if (rd.line.len) last = rd.line.s[rd.line.len - 1];
  }
  for (;;) {
    ssize_t n = buf_feed(buf0);
    if (n < 0) die_read();
    if (n == 0) break;
    put(buf_peek(buf0), (size_t)n);
    last = buf_peek(buf0)[n - 1];
    buf_skip(buf0, (size_t)n);
  }
  if (last != '\n') puts_("\n"); /* every line ends in LF */
  finish();
  return 0;
}
