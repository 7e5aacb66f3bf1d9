/* envelope: the NUL-terminated records the queue is made of.
 * A record is one letter, then (usually) an address, then a NUL:
 *   qmail-queue's input on fd 1:  F<sender>\0 T<rcpt>\0 ... \0  (an empty
 *                                 record ends the envelope)
 *   intd/N/id, todo/N/id:         u<uid>\0 p<pid>\0 F<sender>\0 T<rcpt>\0 ...
 *   info/N/id:                    F<sender>\0
 *   local/N/id, remote/N/id:      T<addr>\0 (pending) or D<addr>\0 (done)
 * Everything here works on a record at a time, so memory stays bounded
 * however many recipients an envelope has.  Records handed back exclude
 * the NUL and include the letter. */
#ifndef ENVELOPE_H
#define ENVELOPE_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "queue.h"
#include "sa.h"

/* the longest record qmail-queue accepts: a letter and QUEUE_ENVADDR_MAX
 * address bytes */
#define ENV_REC_MAX (1 + QUEUE_ENVADDR_MAX)

/* results of envelope_get besides 1 (a record) and 0 (EOF at a boundary) */
#define ENV_ERR (-1)   /* read error, errno set */
#define ENV_LONG (-2)  /* longer than max: rec holds the first max bytes */
#define ENV_TRUNC (-3) /* EOF inside a record (no NUL after the last bytes) */

/* reads one record into rec (replacing its contents), at most max bytes
 * not counting the NUL.  Returns 1, 0, ENV_ERR, ENV_LONG or ENV_TRUNC.
 * After ENV_LONG the rest of the overlong record is still unread. */
int envelope_get(buf_t *, sa_t *rec, size_t max);

/* writes letter, the address and the NUL.  0 or -1 (errno). */
int envelope_put(buf_t *, char letter, const char *addr, size_t len);

/* walking the records of a file held in memory */
typedef struct {
  const char *s;
  size_t len, pos;
} envelope_walk_t;

void envelope_walk_init(envelope_walk_t *, const char *s, size_t len);
/* 1 and the next record in *rec and *reclen, 0 at the end, ENV_TRUNC if the
 * last bytes have no NUL (they are then not returned) */
int envelope_walk(envelope_walk_t *, const char **rec, size_t *reclen);

/* the grammar of qmail-queue's input: F once, then any number of T, then
 * the empty record.  Feed records in order; the result says what the
 * record was, or ENV_QQ_BAD for anything out of order (a second F, no F,
 * an unknown letter, a record after the end).  The caller decides what
 * ENV_QQ_BAD means (qmail-queue exits 91). */
enum { ENV_QQ_BAD = 0, ENV_QQ_FROM, ENV_QQ_TO, ENV_QQ_END };
typedef struct {
  int state; /* 0 want F, 1 want T or end, 2 ended */
} envelope_qq_t;
#define ENV_QQ_INIT {0}
int envelope_qq_next(envelope_qq_t *, const char *rec, size_t reclen);

/* the numeric value of a u or p record ("u1000"): 1 ok, 0 not a number */
bool envelope_num(const char *rec, size_t reclen, unsigned long *u);

/* appends a printable copy of s to out: bytes outside 32..126 become '_'
 * (what qmail-qread and log lines show of an address) */
bool envelope_printable(sa_t *out, const char *s, size_t len);

#endif
