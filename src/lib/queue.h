/* queue: names inside QMAILHOME/queue, the trigger, and the client side of
 * qmail-queue (used by every program that injects: qmail-inject, sendmail,
 * qmail-smtpd, qmail-send for bounces, qmail-local for forwards).
 *
 * Layout (see qmail-queue(8)): pid/, mess/N/id, intd/N/id, todo/N/id,
 * info/N/id, local/N/id, remote/N/id, bounce/id, lock/{sendmutex,trigger,
 * tcpto}, where N = id mod conf-split and id = inode number of mess/N/id. */
#ifndef QUEUE_H
#define QUEUE_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "sa.h"

/* longest address the network servers and injectors take (bytes,
 * without the NUL) */
#define QUEUE_ADDR_MAX 1000
/* longest envelope address qmail-queue takes: 1002, as qmail's */
#define QUEUE_ENVADDR_MAX 1002
/* the whole envelope qmail-queue takes, records and NULs counted: about
 * 800,000 recipients of 20 bytes.  qmail-send holds a message's recipient
 * list in memory, under the service's softlimit. */
#define QUEUE_ENV_MAX ((size_t)16 << 20)

/* "dir/N/id" (hashed) or "dir/id" when split is false; NUL-terminated */
bool queue_name(sa_t *out, const char *dir, unsigned long id, bool split);

/* wakes qmail-send (cwd must be QMAILHOME/queue, or pass the path) */
void trigger_pull(const char *path);

/* The trigger can say where to look: trigger_hint writes a hint naming
 * todo/N (N = id mod conf-split) as two bytes, 11nnnnnn 10nnnnnn (the
 * high and low six bits of N), in one write, so that writers never mix;
 * for N of 4096 or more it pulls as trigger_pull does.  A reader feeds
 * every byte to trigger_byte with *lead = -1 at first: it returns N for
 * the second byte of a hint, TRIGGER_MORE after a first one, and
 * TRIGGER_ALL for anything else (qmail's one byte of any value, junk, a
 * first byte without its second): then only a look at every todo/N will
 * do.  A reader that finds *lead not -1 when the FIFO is empty saw a
 * first byte without its second. */
void trigger_hint(const char *path, unsigned long id);
#define TRIGGER_MORE (-2)
#define TRIGGER_ALL (-1)
int trigger_byte(int *lead, unsigned char c);

/* qmail-queued's child sends this byte once it holds the client's pipes
 * and before it reads them; its answer follows (qmail-queued(8)) */
#define QUEUED_ACK 'K'

/* the client of qmail-queue */
typedef struct {
  pid_t pid;
  int fdm;           /* message pipe (child's fd 0) */
  int fde;           /* envelope pipe (child's fd 1) */
  int fderr;         /* custom error pipe (child's fd 6), -1 if none */
  int fdid;          /* queue id pipe (child's fd 7), -1 if none */
  int sock;          /* qmail-queued's socket instead of a child, or -1 */
  unsigned long id;  /* after qq_close: the id qmail-queue reported, 0 if none */
  int failed;        /* a write failed: the result will be temporary */
  unsigned long bytes;
  buf_t b;
  char space[BUF_SIZE];
} qq_t;

/* starts $QMAILQUEUE if set and allowed, else hands the message to
 * qmail-queued (QMAILHOME/sock/qmail-queue) if that listens, else starts
 * QMAILHOME/bin/qmail-queue.
 * The caller should ignore SIGPIPE: a filter replacing qmail-queue may exit
 * (and reject) before reading the whole message; qq_close then reports its
 * exit code.  Other fds the caller has open without close-on-exec are
 * inherited by qmail-queue.  The pipes themselves are close-on-exec. */
int qq_open(qq_t *, bool allow_env);
void qq_put(qq_t *, const char *, size_t);
void qq_puts(qq_t *, const char *);
/* copies everything readable from fd into the message: 0, or -1 with
 * errno if reading failed */
int qq_copyfd(qq_t *, int fd);
/* envelope; call qq_from once, then qq_to per recipient, then qq_close */
void qq_from(qq_t *, const char *sender);
void qq_to(qq_t *, const char *recipient);
/* gives the message up (out of memory, an input that cannot be
 * queued): qq_close will not end the envelope, so nothing is queued, and
 * it reports a temporary failure */
void qq_abort(qq_t *);
/* "" on success (q->id then holds the queue id if qmail-queue reported
 * one on fd 7, see qmail-queue(8); 0 otherwise); else a report "Z text" (temporary) or "D text"
 * (permanent) describing what went wrong, from qmail-queue's exit code */
const char *qq_close(qq_t *);
/* the text qq_close gives for an exit code (exposed for tests) */
const char *qq_exit_text(int code);

#endif
