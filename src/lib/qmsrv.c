/* qmsrv: see qmsrv.h */
#include "qmsrv.h"
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "control.h"
#include "date.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"

bool qms_verbose;
unsigned long qms_timeout = 1200, qms_databytes;
const char *qms_remoteip = "unknown", *qms_remotehost, *qms_remoteinfo, *qms_localip,
           *qms_localhost;

static ssize_t rd(int, void *, size_t);
static ssize_t wr(int, void *, size_t);
static char inspace[BUF_SIZE], outspace[BUF_SIZE];
buf_t qms_in = BUF_INIT(rd, 0, inspace, sizeof inspace);
buf_t qms_out = BUF_INIT(wr, 1, outspace, sizeof outspace);
static sa_t logbuf;

static void logpart(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    sa_append(&logbuf, c < 32 || c > 126 ? '?' : (char)c);
  }
}

static void vlog(const char *s, va_list ap)
{
  char num[FMT_ULONG];
  logbuf.len = 0;
  sa_cats(&logbuf, PROG);
  sa_cats(&logbuf, ": pid ");
  sa_catb(&logbuf, num, fmt_ulong(num, (unsigned long)getpid()));
  sa_cats(&logbuf, " from ");
  logpart(qms_remoteip, strlen(qms_remoteip));
  sa_cats(&logbuf, ": ");
  for (; s; s = va_arg(ap, const char *)) logpart(s, strlen(s));
  sa_append(&logbuf, '\n');
  buf_putsa(buf2, &logbuf);
  buf_flush(buf2);
}

void qms_log_(const char *s, ...)
{
  va_list ap;
  if (!qms_verbose) return;
  va_start(ap, s);
  vlog(s, ap);
  va_end(ap);
}

void qms_logalways_(const char *s, ...)
{
  va_list ap;
  va_start(ap, s);
  vlog(s, ap);
  va_end(ap);
}

_Noreturn void qms_exit(int code)
{
  buf_flush(&qms_out);
  _exit(code);
}

/* replies are written only when a package is complete, so output is
 * flushed by the callers, not on every read */
static ssize_t rd(int fd, void *b, size_t n)
{
  ssize_t r = read_timeout(fd, b, n, (unsigned)qms_timeout);
  if (r == -1 && errno == ETIMEDOUT) {
    qms_log("timeout");
    _exit(1);
  }
  if (r == -1) {
    qms_log("read error");
    _exit(1);
  }
  return r;
}

static ssize_t wr(int fd, void *b, size_t n)
{
  ssize_t r = write_timeout(fd, b, n, (unsigned)qms_timeout);
  if (r <= 0) {
    qms_log("write error or timeout");
    _exit(1);
  }
  return r;
}

static const char *envdef(const char *name, const char *def)
{
  const char *v = env_get(name);
  return v ? v : def;
}

void qms_setup(policy_t *pol, bool ctl_databytes)
{
  unsigned long u;
  const char *x;
  qms_remoteip = envdef("TCPREMOTEIP", "unknown");
  qms_remotehost = envdef("TCPREMOTEHOST", "unknown");
  qms_remoteinfo = env_get("TCPREMOTEINFO");
  qms_localip = envdef("TCPLOCALIP", "unknown");
  qms_localhost = envdef("TCPLOCALHOST", qms_localip);
  if (proc_private() == -1) {
    qms_logalways("unable to keep other processes out of the session");
    _exit(111);
  }
  if (chdir(auto_qmail) == -1 || control_init() == -1 ||
      control_readint(&qms_timeout, "timeoutsmtpd") == -1 ||
      (ctl_databytes && control_readint(&qms_databytes, "databytes") == -1))
    goto fail;
  if (qms_timeout == 0) qms_timeout = 1;
  x = env_get("DATABYTES");
  /* as qmail reads it: its leading digits, none (or too many) being 0,
   * no limit */
  if (x) {
    u = 0;
    scan_ulong(x, &u);
    qms_databytes = u;
  }
  if (pol) {
    int r;
    pol->relayclient = env_get("RELAYCLIENT");
    pol->localip = qms_localip;
    r = policy_load(pol);
    if (r == -2) {
      qms_logalways("out of memory");
      _exit(111);
    }
    if (r == -1) goto fail;
  }
  return;
fail:
  qms_logalways("unable to read controls");
  _exit(111);
}

/* the client's names as they appear in the Received line: anything but
 * letters, digits and .@%+/=:-[] becomes '?' */
static bool cat_safe(sa_t *s, const char *x)
{
  for (; *x; x++) {
    char c = *x;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".@%+/=:-[]", c);
    if (!sa_append(s, ok ? c : '?')) return false;
  }
  return true;
}

void qms_received(qq_t *qq, const char *proto)
{
  static sa_t t;
  char date[DATE_LEN];
  bool ok;
  t.len = 0;
  ok = sa_cats(&t, "Received: from ") && cat_safe(&t, qms_remotehost) && sa_cats(&t, " (");
  if (ok && qms_remoteinfo) ok = cat_safe(&t, qms_remoteinfo) && sa_cats(&t, "@");
  ok = ok && cat_safe(&t, qms_remoteip) && sa_cats(&t, ")\n  by ") &&
       cat_safe(&t, qms_localhost) && sa_cats(&t, " with ") && sa_cats(&t, proto) &&
       sa_cats(&t, "; ");
  date_rfc5322(date, time(0));
  ok = ok && sa_cats(&t, date) && sa_cats(&t, "\n");
  /* a Received line we could not build would make a message that lies
   * about its origin: fail the queueing instead */
  if (!ok) {
    qq->failed = 1;
    return;
  }
  qq_put(qq, t.s, t.len);
}

const char *qms_msg_refusal(const msgfilt_t *m)
{
  if (!m->toobig) return 0;
  if (!strcmp(m->toobig, "hops")) return "Dtoo many hops, this message is looping (#5.4.6)";
  if (!strcmp(m->toobig, "databytes"))
    return "Dsorry, that message size exceeds my databytes limit (#5.3.4)";
  if (!strcmp(m->toobig, "header")) return "Dsorry, the header is too large (#5.3.4)";
  return "Dsorry, a line is too long (#5.3.4)";
}

bool qms_addr_ok(const char *a, size_t len)
{
  return len < QUEUE_ADDR_MAX && !memchr(a, 0, len);
}

void qms_log_badaddr(const char *kind, const char *a, size_t len)
{
  static sa_t shown;
  bool cut = len > QMS_LOGADDR_MAX;
  if (!qms_verbose) return;
  /* NUL would end the string: '?' as vlog shows other unprintables */
  shown.len = 0;
  for (size_t i = 0; i < len && i < QMS_LOGADDR_MAX; i++)
    if (!sa_append(&shown, a[i] ? a[i] : '?')) return;
  if ((cut && !sa_cats(&shown, "...")) || !sa_0(&shown)) return;
  qms_log("refused ", kind, " <", shown.s, ">: ",
          len >= QUEUE_ADDR_MAX ? "address of 1000 bytes or more" : "NUL in address");
}

const char *qms_ok_text(const qq_t *qq)
{
  static sa_t t;
  t.len = 0;
  if (!sa_cats(&t, "Kok ") || !sa_catulong(&t, (unsigned long)time(0)) || !sa_cats(&t, " qp ") ||
      !sa_catulong(&t, (unsigned long)qq->pid))
    return "Kok";
  if (qq->id && (!sa_cats(&t, " id ") || !sa_catulong(&t, qq->id))) return "Kok";
  if (!sa_0(&t)) return "Kok";
  return t.s;
}
