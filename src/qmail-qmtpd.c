/* qmail-qmtpd: the QMTP server, run by tcpserver as qmaild with the
 * connection on fds 0 and 1 (see qmail-qmtpd(8)).
 *
 *   qmail-qmtpd [-v]
 *
 * A connection carries up to MSG_MAX packages, each netstring(message)
 * netstring(sender) netstring(netstring(recipient)...); the message's
 * first byte says whether its lines end in LF or CR LF.  Per package one
 * reply netstring per recipient (so none for a package without any: it
 * is not queued), in order, starting K, Z or D; the K and
 * the queue's own answer are given only after qmail-queue exited 0.
 * Recipients pass the same policy as in qmail-smtpd (lib/policy).
 * Malformed input closes the connection with nothing queued.  Every
 * input is bounded; nothing here needs privileges. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "buf.h"
#include "die.h"
#include "netstr.h"
#include "num.h"
#include "policy.h"
#include "proc.h"
#include "qmsrv.h"
#include "queue.h"
#include "rcpt.h"
#include "sa.h"
#include "smtp.h"

const char *PROG = "qmail-qmtpd";

/* packages per connection: a client with more reconnects */
#define MSG_MAX 1000
/* recipients per package, as qmail-smtpd; later ones get a Z reply */
#define RCPT_MAX 1000
/* the recipient list netstring: room for RCPT_MAX addresses of the
 * longest size qmail-queue takes, each framed */
#define RCPTLIST_MAX ((size_t)1 << 20)
/* the sender netstring: longer ones are not addresses at all */
#define SENDER_MAX ((size_t)64 << 10)

static policy_t pol = POLICY_INIT;
static qq_t qq;
static bool qqopen;
static msgfilt_t msg;
static sa_t sender, rlist, addr, rcpts, status;

/* per-recipient results besides acceptance (0) */
static const char *const reply[] = {
  0,
  "Dsorry, an address must be shorter than 1000 bytes and hold no NUL (#5.1.3)",
  "Dsorry, control character in address (#5.1.3)",
  "Ztoo many recipients (#4.5.3)",
  "Dsorry, empty recipient (#5.1.3)",
  "Dsorry, that address form is not accepted here (#5.7.1)",
  "Dsorry, I do not relay to address literals (#5.7.1)",
  "Zunable to read control/morercpthosts.cdb (#4.3.0)",
  "Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
  "Dsorry, address too long (#5.1.3)",
  "Dsorry, no mailbox here by that name (#5.1.1)",
  "Zunable to check the recipient (#4.3.0)",
};
enum { RC_OK, RC_BOUND, RC_CTRL, RC_MANY, RC_EMPTY, RC_TRICK, RC_LITERAL, RC_MRH, RC_RCPTHOSTS, RC_LONG,
       RC_NOMAILBOX, RC_CHECK };

static _Noreturn void nomem(void)
{
  qms_logalways("out of memory");
  qms_exit(111);
}

/* nothing of this message is queued (qq_abort: the envelope is never
 * ended) */
static void giveup(void)
{
  if (qqopen) {
    qq_abort(&qq);
    qq_close(&qq);
  }
  qqopen = false;
}

/* malformed input or a vanished client: nothing of this package is
 * queued and no reply can be in order any more.  As qmail-qmtpd, exit
 * 100 for a package that breaks the protocol (or our bounds, which no
 * retry of it will meet) and 1 when the client went away or I/O failed. */
static _Noreturn void drop(const char *what)
{
  bool bad = errno == E2BIG || errno == EPROTO;
  const char *why = errno == ENODATA ? "client disconnected in " : errno == E2BIG ? "too long: "
                    : errno == EPROTO ? "bad netstring: " : "trouble reading ";
  giveup();
  qms_log(why, what, ": dropped connection");
  qms_exit(bad ? 100 : 1);
}

static _Noreturn void drop2(const char *why)
{
  giveup();
  qms_log(why, ": dropped connection");
  qms_exit(100);
}

static bool has_ctrl(const char *a, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)a[i] < 32 || a[i] == 127) return true;
  return false;
}

/* the checks of qmail-smtpd's RCPT, in the same order; an accepted
 * address (with the RELAYCLIENT suffix) is appended to rcpts */
static int one_rcpt(const char *a, size_t len, unsigned long naccepted)
{
  static bool said_old;
  const char *why = 0;
  int r;
  if (!qms_addr_ok(a, len)) {
    qms_log_badaddr("rcpt", a, len);
    return RC_BOUND;
  }
  if (!sa_copyb(&addr, a, len) || !sa_0(&addr)) nomem();
  --addr.len;
  if (has_ctrl(a, len)) {
    qms_log("refused rcpt <", addr.s, ">: control character");
    return RC_CTRL;
  }
  if (naccepted >= RCPT_MAX) {
    qms_log("refused rcpt: too many recipients");
    return RC_MANY;
  }
  if (policy_localip(&pol, &addr) == -1) nomem();
  if (!addr.len) return RC_EMPTY;
  r = policy_relay(&pol, addr.s, addr.len, &why);
  if (r == POLICY_NOMEM) nomem();
  if (r == POLICY_TRICK) {
    qms_log("refused rcpt <", addr.s, ">: ", why);
    return RC_TRICK;
  }
  if (r == POLICY_LITERAL) {
    qms_log("refused rcpt <", addr.s, ">: address literal");
    return RC_LITERAL;
  }
  if (r == POLICY_MRHERROR) {
    qms_log("trouble reading morercpthosts.cdb");
    return RC_MRH;
  }
  if (r != POLICY_OK) {
    qms_log("refused rcpt <", addr.s, ">: domain not in rcpthosts");
    return RC_RCPTHOSTS;
  }
  if (pol.relayclient) {
    if (!sa_cats(&addr, pol.relayclient) || !sa_0(&addr)) nomem();
    --addr.len;
  }
  if (addr.len > QUEUE_ADDR_MAX) {
    qms_log_badaddr("rcpt", addr.s, addr.len);
    return RC_LONG;
  }
  r = policy_rcpt(&pol, addr.s, addr.len);
  if (r == POLICY_RCPT_NOMEM) nomem();
  if (r == POLICY_RCPT_OFF) qms_log("cannot read ", RCPT_CDB, ": recipients not checked");
  if (r == POLICY_RCPT_OLD && !said_old) {
    /* once: every recipient of the session gets the same answer */
    qms_log(RCPT_CDB, " has an older format: recipients not checked (rerun qmail-rcptcheck-rebuild)");
    said_old = true;
  }
  if (r == POLICY_RCPT_STALE)
    qms_log("accepted rcpt <", addr.s, ">: ", RCPT_CDB, " is older than ", pol.changed.s);
  if (r == POLICY_RCPT_ERROR) {
    qms_log("trouble reading ", RCPT_CDB);
    return RC_CHECK;
  }
  if (r == POLICY_RCPT_NOMAILBOX) {
    qms_log("refused rcpt <", addr.s, ">: no such mailbox");
    return RC_NOMAILBOX;
  }
  if (!sa_catb(&rcpts, addr.s, addr.len) || !sa_0(&rcpts)) nomem();
  return RC_OK;
}

/* the sender: null if acceptable, else the reply for every recipient */
static const char *sender_check(void)
{
  if (!qms_addr_ok(sender.s, sender.len)) {
    qms_log_badaddr("mail", sender.s, sender.len);
    return "Dsorry, an address must be shorter than 1000 bytes and hold no NUL (#5.1.7)";
  }
  if (!sa_0(&sender)) nomem();
  --sender.len;
  if (policy_localip(&pol, &sender) == -1) nomem();
  /* the sender reaches $SENDER of programs run from .qmail files; as in
   * qmail-smtpd, a client that may relay may leave out the domain */
  if (!smtp_sender_ok(sender.s, sender.len) &&
      !(pol.relayclient && smtp_sender_unqualified_ok(sender.s, sender.len))) {
    qms_log("refused mail <", sender.s, ">: bad sender syntax");
    return "Dsorry, bad sender address syntax (#5.1.7)";
  }
  if (policy_badmailfrom(&pol, sender.s, sender.len)) {
    qms_log("refused mail <", sender.s, ">: in badmailfrom");
    return "Dsorry, your envelope sender is in my badmailfrom list (#5.7.1)";
  }
  return 0;
}

/* reads and answers one package; false at a clean end of input */
static bool package(void)
{
  size_t len, pos, n;
  const char *all = 0, *result = 0, *body;
  unsigned long nrcpt = 0, naccepted = 0;
  char c;
  int r = netstr_getlen(&qms_in, &len, (size_t)-1);
  if (r == 0) return false;
  if (r == -1) drop("message");
  if (len == 0) drop2("empty message");
  if (buf_feed(&qms_in) <= 0) {
    errno = ENODATA;
    drop("message");
  }
  c = *buf_peek(&qms_in);
  buf_skip(&qms_in, 1);
  --len;
  if (c != '\n' && c != '\r') drop2("message starts with neither LF nor CR");

  qqopen = qq_open(&qq, true) == 0;
  if (!qqopen) qms_log("unable to start qmail-queue");
  msgfilt_start(&msg, qqopen ? &qq : 0, c == '\r', qms_databytes);
  if (qqopen) qms_received(&qq, "QMTP");
  while (len) {
    ssize_t got = buf_feed(&qms_in);
    size_t take;
    if (got <= 0) {
      errno = ENODATA;
      drop("message");
    }
    take = (size_t)got < len ? (size_t)got : len;
    msgfilt_put(&msg, buf_peek(&qms_in), take);
    buf_skip(&qms_in, take);
    len -= take;
  }
  if (netstr_getend(&qms_in) == -1) drop("message");
  msgfilt_end(&msg);

  r = netstr_get(&qms_in, &sender, SENDER_MAX);
  if (r != 1) {
    if (r == 0) errno = ENODATA;
    drop("sender");
  }
  r = netstr_get(&qms_in, &rlist, RCPTLIST_MAX);
  if (r != 1) {
    if (r == 0) errno = ENODATA;
    drop("recipients");
  }
  /* the whole list must be well-formed before anything is decided */
  for (pos = 0; (r = netstr_parse(rlist.s, rlist.len, &pos, &body, &n)) == 1;) ++nrcpt;
  if (r == -1) drop("recipient");
  if (!nrcpt) {
    /* as qmail: nothing to queue and no reply owed; on to the next */
    giveup();
    qms_log("package without recipients: nothing queued");
    return true;
  }

  if ((all = qms_msg_refusal(&msg))) {
    qms_log("refused message: ", msg.toobig);
  } else if (!qqopen) {
    all = "Zqqt failure (#4.3.0)";
  } else {
    all = sender_check();
  }
  rcpts.len = status.len = 0;
  if (!sa_ready(&status, nrcpt)) nomem();
  for (pos = 0; netstr_parse(rlist.s, rlist.len, &pos, &body, &n) == 1;) {
    int s = all ? RC_OK : one_rcpt(body, n, naccepted);
    if (s == RC_OK && !all) ++naccepted;
    status.s[status.len++] = (char)s;
  }
  if (all || !naccepted) {
    giveup();
  } else {
    char n1[FMT_ULONG], n2[FMT_ULONG], n3[FMT_ULONG];
    qq_from(&qq, sender.s);
    for (size_t i = 0; i < rcpts.len; i += strlen(rcpts.s + i) + 1) qq_to(&qq, rcpts.s + i);
    qqopen = false;
    result = qq_close(&qq);
    if (*result) {
      qms_log("qmail-queue failed: ", result + 1);
    } else {
      result = qms_ok_text(&qq);
      n1[fmt_ulong(n1, naccepted)] = 0;
      n2[fmt_ulong(n2, (unsigned long)qq.pid)] = 0;
      n3[fmt_ulong(n3, qq.id)] = 0;
      qms_log("accepted message from <", sender.s, "> rcpts ", n1, " qp ", n2, " id ", n3);
    }
  }
  for (size_t i = 0; i < status.len; i++) {
    const char *t = all ? all : status.s[i] ? reply[(unsigned char)status.s[i]] : result;
    netstr_put(&qms_out, t, strlen(t));
  }
  buf_flush(&qms_out);
  return true;
}

int main(int argc, char **argv)
{
  const char *v = env_get("QMTPD_VERBOSE");
  /* other arguments are ignored, as qmail does: run files written for
   * patched versions pass more (a host name, a checkpassword program) */
  if (argc > 1 && !strcmp(argv[1], "-v")) qms_verbose = true;
  if (v && *v && strcmp(v, "0") != 0) qms_verbose = true;
  sig_ignore(SIGPIPE);
  qms_setup(&pol, true);
  qms_log("connect host ", qms_remotehost, pol.relayclient ? " relayclient" : "");
  for (unsigned long n = 0; n < MSG_MAX; ++n)
    if (!package()) {
      qms_log("quit");
      qms_exit(0);
    }
  qms_log("too many messages in one connection: closed");
  qms_exit(0);
}
