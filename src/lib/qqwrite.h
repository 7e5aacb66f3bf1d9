/* qqwrite: the body of qmail-queue, shared by bin/qmail-queue (exec'd,
 * setuid qmailq) and the children of qmail-queued (forked, already
 * qmailq).  See qmail-queue(8) for the exit codes and INTERNALS.md for
 * the order of writes, links and fsyncs that makes acceptance durable. */
#ifndef QQWRITE_H
#define QQWRITE_H
#include <sys/types.h>

/* exit codes, as documented in qmail-queue(8) */
enum {
  QQ_ADDR = 11,    /* envelope address too long */
  QQ_ENVBIG = 31,  /* envelope over QUEUE_ENV_MAX: refused for good */
  QQ_NOMEM = 51,
  QQ_TIMEOUT = 52, /* the DEADLINE alarm */
  QQ_WRITE = 53,   /* write or fsync error, disk full */
  QQ_READ = 54,    /* cannot read message or envelope, or envelope cut short */
  QQ_HOME = 61,
  QQ_QUEUE = 62,
  QQ_PID = 63,
  QQ_MESS = 64,
  QQ_INTD = 65,
  QQ_TODO = 66,
  QQ_BUG = 81,
  QQ_FORMAT = 91   /* envelope does not follow F T* end */
};

/* Queues the message on fd 0 with the envelope on fd 1, for the caller
 * uid (how: "by alias", "from network", "for bounce", or 0 for "by uid
 * N").  Clears the signal mask, catches SIGALRM (a day's deadline),
 * ignores SIGPIPE and SIGXFSZ, sets the umask; fds 0-2 must be open.
 * Returns only when the message is queued, with the alarm off; on any
 * failure it exits with qmail-queue's code, leaving nothing behind.  The
 * answer also goes to reply if it is not -1 (qmail-queued's client
 * socket): one byte, the exit code, and after a 0 the queue id and the
 * qp (our thread id: the pid, in a single-threaded qmail-queue), each in
 * decimal and ended by a NUL; a caller that reads nothing at
 * all knows the process crashed.  With reply -1 the id goes to fd 7 if
 * that is a pipe.  Fds 0 and 1 are left as they were; a caller that goes
 * on to another message closes them first. */
void qqwrite(uid_t uid, const char *how, int reply);

#endif
