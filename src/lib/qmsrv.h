/* qmsrv: what the netstring mail servers qmail-qmtpd and qmail-qmqpd
 * share: the environment tcpserver gives them, control files, timed I/O
 * on fds 0/1, the -v log, the Received line, and the refusal texts of
 * the message filter (lib/msgfilt.h, shared with qmail-smtpd). */
#ifndef QMSRV_H
#define QMSRV_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "msgfilt.h"
#include "policy.h"
#include "queue.h"


extern buf_t qms_in, qms_out;  /* fd 0 and fd 1, with the timeout */
extern bool qms_verbose;
extern unsigned long qms_timeout, qms_databytes;
extern const char *qms_remoteip, *qms_remotehost, *qms_remoteinfo, *qms_localip,
    *qms_localhost;

/* chdir QMAILHOME, control_init, control/timeoutsmtpd, control/databytes
 * if ctl_databytes ($DATABYTES overrides it; without ctl_databytes only
 * $DATABYTES sets a limit), the TCP environment, and policy_load(pol) if
 * pol is not null (with RELAYCLIENT and TCPLOCALIP set in it).  On
 * failure logs (always) and exits 111: the client sees the connection
 * close. */
void qms_setup(policy_t *pol, bool ctl_databytes);

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

/* after msgfilt_end: null, or the D reply refusing the message */
const char *qms_msg_refusal(const msgfilt_t *);

/* NUL-free and shorter than QUEUE_ADDR_MAX bytes (qmail's bound for
 * addresses over QMTP and QMQP: 1000 bytes or more are refused) */
bool qms_addr_ok(const char *, size_t);

/* with qms_verbose, logs "refused KIND <address>: why" for an address
 * qms_addr_ok (or a later length check) refused; kind is "rcpt" or
 * "mail".  The address is shown sanitised and cut at QMS_LOGADDR_MAX
 * bytes, followed by "..." when cut */
#define QMS_LOGADDR_MAX 200
void qms_log_badaddr(const char *kind, const char *a, size_t len);

/* "Kok <time> qp <pid>[ id <id>]" for a message qq_close accepted */
const char *qms_ok_text(const qq_t *);

#endif
