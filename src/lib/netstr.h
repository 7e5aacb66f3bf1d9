/* netstr: netstrings, the framing of QMTP and QMQP: the length in decimal
 * ASCII digits, ':', that many bytes, ','.  "12:hello world!," holds
 * "hello world!"; "0:," is the empty string.
 *
 * Reading is strict, because these lengths come from the network: one or
 * more digits and nothing else before the ':' (no sign, no spaces, no
 * leading zero except the length 0 itself), every step overflow-checked,
 * and the caller's maximum applied digit by digit, so a length that is too
 * big is an error before its ':' is even read and nothing is buffered for
 * it.  After the body the ',' is required.
 *
 * Errors (-1) set errno: EPROTO malformed, E2BIG over the maximum,
 * ENODATA end of input inside a netstring; else the read's own errno. */
#ifndef NETSTR_H
#define NETSTR_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "sa.h"

/* reads "len:" from b: 1 and *len; 0 if b was at end of input before the
 * first byte (a clean end of a stream of netstrings); -1 (errno above).
 * The caller then takes exactly *len body bytes from b and calls
 * netstr_getend. */
int netstr_getlen(buf_t *b, size_t *len, size_t max);
/* reads the ',' that ends a netstring: 0, or -1 (errno above) */
int netstr_getend(buf_t *b);
/* skips n body bytes: 0, or -1 (errno above) */
int netstr_skip(buf_t *b, size_t n);
/* a whole netstring of at most max bytes into out (replacing what it
 * held; not NUL-terminated): 1, 0 clean end of input, -1 */
int netstr_get(buf_t *b, sa_t *out, size_t max);

/* the same rules on bytes in memory: parses the netstring starting at
 * s[*pos] (s has len bytes): 1, body and blen pointing into s and *pos
 * moved past the ','; 0 if *pos == len; -1 malformed or cut short (errno
 * EPROTO; *pos unchanged) */
int netstr_parse(const char *s, size_t len, size_t *pos, const char **body, size_t *blen);

/* the size of the netstring holding n bytes, in *total: false on overflow */
bool netstr_size(size_t n, size_t *total);
/* writes the length prefix "n:" (the caller writes the body, then ",") */
int netstr_putlen(buf_t *b, size_t n);
/* writes a whole netstring: 0 or -1 (buf_put's errors) */
int netstr_put(buf_t *b, const char *s, size_t n);
/* appends a whole netstring to out: false out of memory */
bool netstr_cat(sa_t *out, const char *s, size_t n);

#endif
