/* qmail-qmqpd: the QMQP server, run by tcpserver as qmaild with the
 * connection on fds 0 and 1 (see qmail-qmqpd(8)).
 *
 *   qmail-qmqpd [-v]
 *
 * One package per connection: a netstring holding netstring(message),
 * netstring(sender) and one netstring per recipient (none is fine, as
 * in qmail: queued for nobody, K).  One reply netstring
 * (K, Z or D), given after qmail-queue exited.  It relays to any address:
 * tcpserver's rules must let only trusted clients (null clients running
 * qmail-qmqpc) reach it.  Malformed input closes the connection with
 * nothing queued. */
#include <errno.h>
#include <string.h>
#include "buf.h"
#include "die.h"
#include "netstr.h"
#include "num.h"
#include "proc.h"
#include "qmsrv.h"
#include "queue.h"
#include "sa.h"

const char *PROG = "qmail-qmqpd";

/* what follows the message inside the package: the sender and the
 * recipients, held in memory (thousands of addresses); a longer one is
 * read, thrown away and refused */
#define ENV_MAX ((size_t)1 << 20)

static qq_t qq;
static bool qqopen;
static msgfilt_t msg;
static sa_t env, sender, addr;

/* as qmail-qmtpd: 100 for a package that breaks the protocol or our
 * bounds, 1 when the client went away or I/O failed */
static _Noreturn void drop(const char *what)
{
  bool bad = errno == E2BIG || errno == EPROTO;
  const char *why = errno == ENODATA ? "client disconnected in " : errno == E2BIG ? "too long: "
                    : errno == EPROTO ? "bad netstring: " : "trouble reading ";
  if (qqopen) qq_close(&qq); /* no envelope: nothing is queued */
  qms_log(why, what, ": dropped connection");
  qms_exit(bad ? 100 : 1);
}

static _Noreturn void answer(const char *t)
{
  netstr_put(&qms_out, t, strlen(t));
  qms_exit(0);
}

int main(int argc, char **argv)
{
  size_t outer, mlen, mtotal, pos, n, nrcpt = 0;
  const char *body, *refusal = 0, *r;
  char num[FMT_ULONG];
  const char *v = env_get("QMQPD_VERBOSE");
  int k;
  /* other arguments are ignored, as qmail does: run files written for
   * patched versions pass more (a host name, a checkpassword program) */
  if (argc > 1 && !strcmp(argv[1], "-v")) qms_verbose = true;
  if (v && *v && strcmp(v, "0") != 0) qms_verbose = true;
  sig_ignore(SIGPIPE);
  /* not control/databytes, as in qmail: it is the limit for SMTP
   * clients, and refusing a null client's mail here bounces it */
  qms_setup(0, false);
  qms_log("connect host ", qms_remotehost);

  k = netstr_getlen(&qms_in, &outer, (size_t)-1);
  if (k == 0) errno = ENODATA;
  if (k != 1) drop("package");
  k = netstr_getlen(&qms_in, &mlen, outer);
  if (k == 0) errno = ENODATA;
  if (k != 1) drop("message");
  /* lengths have no leading zeros, so the prefix just read is exactly
   * as long as the one netstr_size counts */
  if (!netstr_size(mlen, &mtotal) || mtotal > outer) {
    errno = EPROTO; /* lengths that do not add up */
    drop("message");
  }
  qqopen = qq_open(&qq, true) == 0;
  if (!qqopen) qms_log("unable to start qmail-queue");
  msgfilt_start(&msg, qqopen ? &qq : 0, false, qms_databytes);
  if (qqopen) qms_received(&qq, "QMQP");
  while (mlen) {
    ssize_t got = buf_feed(&qms_in);
    size_t take;
    if (got <= 0) {
      errno = ENODATA;
      drop("message");
    }
    take = (size_t)got < mlen ? (size_t)got : mlen;
    msgfilt_put(&msg, buf_peek(&qms_in), take);
    buf_skip(&qms_in, take);
    mlen -= take;
  }
  if (netstr_getend(&qms_in) == -1) drop("message");
  msgfilt_end(&msg);

  outer -= mtotal;
  if (outer > ENV_MAX) {
    if (netstr_skip(&qms_in, outer) == -1) drop("envelope");
    refusal = "Dsorry, too many recipients (#5.5.3)";
  } else {
    if (!sa_ready(&env, outer)) {
      qms_logalways("out of memory");
      qms_exit(111);
    }
    env.len = 0;
    while (env.len < outer) {
      ssize_t got = buf_get(&qms_in, env.s + env.len, outer - env.len);
      if (got <= 0) {
        errno = ENODATA;
        drop("envelope");
      }
      env.len += (size_t)got;
    }
  }
  if (netstr_getend(&qms_in) == -1) drop("package");

  if (!refusal) {
    /* the sender, then the recipients, and nothing else.  No recipient
     * at all is allowed, as in qmail: qmail-queue takes such an
     * envelope and qmail-send has nothing to do with it.  A refusal would
     * only make the client (qmail-qmqpc) retry the package forever. */
    pos = 0;
    if (netstr_parse(env.s, env.len, &pos, &body, &n) != 1) {
      errno = EPROTO;
      drop("sender");
    }
    if (!sa_copyb(&sender, body, n) || !sa_0(&sender)) {
      qms_logalways("out of memory");
      qms_exit(111);
    }
    --sender.len;
    for (size_t p = pos; (k = netstr_parse(env.s, env.len, &p, &body, &n)) == 1;) {
      ++nrcpt;
      if (!qms_addr_ok(body, n)) {
        qms_log_badaddr("rcpt", body, n);
        refusal = "Dsorry, an address must be shorter than 1000 bytes and hold no NUL (#5.1.3)";
      }
    }
    if (k == -1) drop("recipient");
    if (!qms_addr_ok(sender.s, sender.len)) {
      qms_log_badaddr("mail", sender.s, sender.len);
      refusal = "Dsorry, an address must be shorter than 1000 bytes and hold no NUL (#5.1.7)";
    }
  }
  if (qms_msg_refusal(&msg)) {
    refusal = qms_msg_refusal(&msg);
    qms_log("refused message: ", msg.toobig);
  }
  if (!refusal && !qqopen) refusal = "Zqqt failure (#4.3.0)";
  if (refusal) {
    if (qqopen) qq_close(&qq);
    answer(refusal);
  }
  qq_from(&qq, sender.s);
  for (; netstr_parse(env.s, env.len, &pos, &body, &n) == 1;) {
    if (!sa_copyb(&addr, body, n) || !sa_0(&addr)) {
      qq_abort(&qq);
      break;
    }
    qq_to(&qq, addr.s);
  }
  r = qq_close(&qq);
  if (*r) {
    qms_log("qmail-queue failed: ", r + 1);
    answer(r);
  }
  num[fmt_ulong(num, nrcpt)] = 0;
  {
    char n2[FMT_ULONG], n3[FMT_ULONG];
    n2[fmt_ulong(n2, (unsigned long)qq.pid)] = 0;
    n3[fmt_ulong(n3, qq.id)] = 0;
    qms_log("accepted message from <", sender.s, "> rcpts ", num, " qp ", n2, " id ", n3);
  }
  answer(qms_ok_text(&qq));
}
