/* libFuzzer target for the netstring readers (src/lib/netstr.c), the
 * framing of every QMTP and QMQP byte from the network, and for the
 * address check both servers apply (qms_addr_ok).
 *
 * The first byte sets the maximum length and the size of the reads the
 * stream reader is fed in; the rest is the input.  The in-memory parser
 * (netstr_parse, what qmail-qmqpd uses on a package) and the stream reader
 * (netstr_get, what qmail-qmtpd uses) must agree on every netstring, and
 * what either accepts must come back unchanged through netstr_cat. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "buf.h"
#include "netstr.h"
#include "qmsrv.h"
#include "sa.h"

const char *PROG = "netstr_fuzz";
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in;
static size_t inlen, inpos, chunk;

/* reads from the fuzz input, chunk bytes at a time */
static ssize_t memread(int fd, void *p, size_t n)
{
  (void)fd;
  if (n > chunk) n = chunk;
  if (n > inlen - inpos) n = inlen - inpos;
  memcpy(p, in + inpos, n);
  inpos += n;
  return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static sa_t got, again;
  char space[64];
  buf_t b;
  size_t max, pos = 0, blen, p2;
  const char *body, *body2;
  if (!size) return 0;
  max = (size_t)(data[0] & 0x0f) * 40; /* 0 .. 600 */
  chunk = 1 + (data[0] >> 4);          /* 1 .. 16 */
  in = data + 1;
  inlen = size - 1;
  inpos = 0;
  buf_init(&b, memread, 0, space, sizeof space);
  for (;;) {
    int m = netstr_parse((const char *)in, inlen, &pos, &body, &blen);
    if (m == -1 && errno != EPROTO) __builtin_trap();
    int s = netstr_get(&b, &got, max);
    if (m == 1) {
      if (body < (const char *)in || blen > inlen || body + blen > (const char *)in + inlen) __builtin_trap();
      /* the stream reader sees the same netstring, unless it is over max */
      if (blen <= max && (s != 1 || got.len != blen || memcmp(got.s, body, blen))) __builtin_trap();
      if (blen > max && (s != -1 || errno != E2BIG)) __builtin_trap();
      /* it encodes back to the very bytes it came from */
      again.len = 0;
      if (!netstr_cat(&again, body, blen)) return 0;
      p2 = 0;
      if (netstr_parse(again.s, again.len, &p2, &body2, &blen) != 1 || p2 != again.len) __builtin_trap();
      (void)qms_addr_ok(body, blen);
      if (s != 1) break;
      continue;
    }
    /* the end, or the stream reader stops where the parser does */
    if (m == 0 && s != 0) __builtin_trap();
    if (m == -1 && s == 1) __builtin_trap();
    break;
  }
  return 0;
}
