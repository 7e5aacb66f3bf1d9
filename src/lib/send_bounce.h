/* send_bounce: the texts qmail-send writes: log sanitising, the failure
 * paragraphs collected in queue/bounce/<id>, and the bounce message
 * itself (QSBMF, see qmail-send(8)). */
#ifndef SEND_BOUNCE_H
#define SEND_BOUNCE_H
#include <stddef.h>
#include "sa.h"

/* in place: LF -> '/', bytes < 33, > 126 and '%' -> '_' (qmail-log(5)) */
void text_logsafe(char *s, size_t len);

/* the envelope of the bounce for a message from sender */
enum { BOUNCE_NORMAL = 1, BOUNCE_DOUBLE = 2, BOUNCE_TRIPLE = 3 };
#define BOUNCE_DOUBLE_SENDER "#@[]"
/* from/to become NUL-terminated (NUL not counted).  NORMAL: from "", to =
 * sender with a VERP "-@[]" suffix reduced ("pre@host-@[]" -> "pre@host").
 * DOUBLE (sender ""): from "#@[]", to dbto@dbhost.  TRIPLE (sender
 * "#@[]"): nothing to send.  Returns the kind, -1 out of memory. */
int bounce_envelope(const char *sender, const char *dbto, const char *dbhost, sa_t *from,
                    sa_t *to);

/* appends one failure paragraph for bounce/<id>: "<addr>:\n" (LF in addr
 * -> '_') then the report text (without its K/Z/D letter) with trailing
 * LFs dropped and each LF that follows an LF turned into '/' (as qmail:
 * "a\n\nb" -> "a\n/b"), then "\n\n".
 * 0 ok, -1 out of memory. */
int bounce_paragraph(sa_t *out, const char *addr, const char *text, size_t len);

/* the header and intro paragraph, up to the per-recipient paragraphs.
 * date is an RFC 5322 date; to is the header recipient.  From: and To:
 * get their local parts quoted if need be.  0 / -1 nomem */
int bounce_head(sa_t *out, int kind, const char *date, const char *bouncefrom,
                const char *bouncehost, const char *to);
/* the break line and the Return-Path of the returned message: the sender
 * without a VERP "-@[]" suffix, quoted if need be.  0 / -1 */
int bounce_tail(sa_t *out, int kind, const char *orig_sender);

/* copies a message from fd to put(): the header (up to and including the
 * first empty line) always whole, then at most maxbody bytes of body (0 =
 * no limit), cut after the last LF within the limit; the copy always ends
 * with LF.  put returns 0 or -1.  Returns 0, -1 read error (errno), -2 put
 * failed. */
int bounce_copy(int fd, size_t maxbody, int (*put)(void *, const char *, size_t), void *arg);

#endif
