/* msgfilt: a message body on its way to qmail-queue, as the mail servers
 * (qmail-smtpd, qmail-qmtpd, qmail-qmqpd) store it: bytes are copied to
 * the qq client while databytes, header size, line lengths and hops are
 * counted, so memory use never depends on the client.
 *
 * Limits: databytes (stored bytes, after any CR LF conversion; 0 = none),
 * MSGFILT_HDRLINE_MAX per header line, MSGFILT_HDR_MAX for the header,
 * MSGFILT_LINE_MAX for any other line, and fewer than MSGFILT_MAXHOPS
 * Received/Delivered header lines (qmail's rule: 100 or more is a loop).  Once a limit is passed nothing more
 * is stored or counted, and toobig names it: "databytes", "header",
 * "line" or (at the end) "hops". */
#ifndef MSGFILT_H
#define MSGFILT_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "queue.h"

#define MSGFILT_HDRLINE_MAX ((unsigned long)64 << 10)
#define MSGFILT_HDR_MAX ((unsigned long)1 << 20)
#define MSGFILT_LINE_MAX ((unsigned long)1 << 20)
#define MSGFILT_MAXHOPS 100

typedef struct {
  qq_t *qq;           /* null: count only, store nothing */
  bool crmode;        /* CR LF line ends: turn CR LF into LF */
  bool cr;            /* a CR is pending (crmode) */
  bool inhdr, discard;
  const char *toobig; /* why the message is refused, or null */
  unsigned long databytes, stored, hops, linelen, hdrbytes;
  size_t qlen;
  char lstart[9];
  char qbuf[BUF_SIZE];
} msgfilt_t;

void msgfilt_start(msgfilt_t *, qq_t *, bool crmode, unsigned long databytes);
/* one byte of the message as stored (line ends already LF) */
void msgfilt_byte(msgfilt_t *, char);
/* bytes as the client sent them (CR LF turned into LF in crmode) */
void msgfilt_put(msgfilt_t *, const char *, size_t);
/* flushes to the qq client and checks the hop count */
void msgfilt_end(msgfilt_t *);

#endif
