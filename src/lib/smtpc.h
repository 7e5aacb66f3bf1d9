/* smtpc: the client side of SMTP, the parts worth testing alone: reading
 * (multiline) replies, the EHLO keywords we use, and the DATA writer. */
#ifndef SMTPC_H
#define SMTPC_H
#include <stddef.h>
#include "buf.h"
#include "sa.h"

/* a reply line longer than this is a protocol error (RFC 5321 says 512;
 * servers in the wild send longer ones) */
#define SMTPC_LINE_MAX 4096
/* and a whole reply, all its lines */
#define SMTPC_REPLY_MAX 65536

/* reads one reply: its lines (CR LF removed) joined by '\n' into text.
 * Returns the code (200..599 etc.), -1 on read error, timeout or end of
 * input (errno; 0 at end of input), -2 on a malformed or oversized reply. */
int smtpc_reply(buf_t *in, sa_t *text);

typedef struct {
  int pipelining;
  int eightbitmime;
  int size;                  /* SIZE offered */
  unsigned long long maxsize; /* its limit; 0 = none given */
} smtpc_ext_t;
/* the keywords of an EHLO reply's text (as smtpc_reply left it) */
void smtpc_ehlo(const sa_t *text, smtpc_ext_t *ext);

/* DATA writer.  Turns every LF, every CR LF and every lone CR of the
 * stored message into CR LF, and dot-stuffs every line start it emits,
 * including the ones its own CR conversion makes: the stored "abc\r.\n"
 * goes out as "abc\r\n..\r\n", never as a line holding just ".".
 * With out null it only counts: n is the number of bytes that would be
 * sent, eight tells whether the message has bytes above 127. */
typedef struct {
  int bol;                 /* at the start of an output line */
  int cr;                  /* a CR is pending (is it part of CR LF?) */
  int eight;
  unsigned long long n;
} smtpc_data_t;
void smtpc_data_init(smtpc_data_t *);
int smtpc_data(smtpc_data_t *, buf_t *out, const char *s, size_t len);
/* ends the last line if needed and writes the final ".\r\n" */
int smtpc_data_end(smtpc_data_t *, buf_t *out);

/* report text: each byte outside printable ASCII but LF becomes '?'; LF,
 * which ends a line of the report as it ends one of a reply, is kept; at
 * most max bytes appended to out (then "...") */
int smtpc_clean(sa_t *out, const char *s, size_t len, size_t max);
#endif
