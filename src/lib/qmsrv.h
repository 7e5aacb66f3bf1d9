/* qmsrv: what the netstring mail servers qmail-qmtpd and qmail-qmqpd
 * share: the environment tcpserver gives them, control files, timed I/O
 * on fds 0/1, the -v log, the Received line, and the message filter that
 * counts databytes and hops while copying the body to qmail-queue.
 *
 * Limits applied to every message (as qmail-smtpd does): databytes
 * (stored bytes, after any CR LF conversion), QMS_HDRLINE_MAX per header
 * line, QMS_HDR_MAX for the header, QMS_LINE_MAX for any other line, and
 * at most QMS_MAXHOPS Received/Delivered header lines. */
#ifndef QMSRV_H
#define QMSRV_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "policy.h"
#include "queue.h"

#define QMS_HDRLINE_MAX ((unsigned long)64 << 10)
#define QMS_HDR_MAX ((unsigned long)1 << 20)
#define QMS_LINE_MAX ((unsigned long)1 << 20)
#define QMS_MAXHOPS 100

extern buf_t qms_in, qms_out;  /* fd 0 and fd 1, with the timeout */
extern bool qms_verbose;
extern unsigned long qms_timeout, qms_databytes;
extern const char *qms_remoteip, *qms_remotehost, *qms_remoteinfo, *qms_localip,
    *qms_localhost;

/* chdir QMAILHOME, control_init, control/timeoutsmtpd, control/databytes
 * ($DATABYTES overrides), the TCP environment, and policy_load(pol) if pol
 * is not null (with RELAYCLIENT and TCPLOCALIP set in it).  On failure
 * logs (always) and exits 111: the client sees the connection close. */
void qms_setup(policy_t *pol);

/* with qms_verbose: "PROG: pid P from IP: parts..." on fd 2, bytes
 * outside printable ASCII as '?' */
void qms_log_(const char *s, ...);
#define qms_log(...) qms_log_(__VA_ARGS__, (const char *)0)
/* the same line whatever qms_verbose says */
void qms_logalways_(const char *s, ...);
#define qms_logalways(...) qms_logalways_(__VA_ARGS__, (const char *)0)

/* flushes qms_out (ignoring errors) and exits */
_Noreturn void qms_exit(int code);

/* the Received line, "with proto", into the message */
void qms_received(qq_t *, const char *proto);

/* a message body on its way to qmail-queue */
typedef struct {
  qq_t *qq;           /* null: count only, store nothing */
  bool crmode;        /* CR LF line ends: turn CR LF into LF */
  bool cr;            /* a CR is pending (crmode) */
  bool inhdr, discard;
  const char *toobig; /* why the message is refused, or null */
  unsigned long stored, hops, linelen, hdrbytes;
  size_t qlen;
  char lstart[9];
  char qbuf[BUF_SIZE];
} qms_msg_t;

void qms_msg_start(qms_msg_t *, qq_t *, bool crmode);
void qms_msg_put(qms_msg_t *, const char *, size_t);
void qms_msg_end(qms_msg_t *);
/* after qms_msg_end: null, or the D reply refusing the message */
const char *qms_msg_refusal(const qms_msg_t *);

/* NUL-free and shorter than QUEUE_ADDR_MAX bytes (qmail's bound for
 * addresses over QMTP and QMQP: 1000 bytes or more are refused) */
bool qms_addr_ok(const char *, size_t);

/* "Kok <time> qp <pid>[ id <id>]" for a message qq_close accepted */
const char *qms_ok_text(const qq_t *);

#endif
