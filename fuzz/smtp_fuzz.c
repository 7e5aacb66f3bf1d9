/* libFuzzer target for the SMTP parsers (src/lib/smtp.c): the command
 * verb split, MAIL/RCPT paths and parameters, and the address checks.
 * The first byte picks the keyword, the rest is one command line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "smtp.h"

const char *PROG = "smtp_fuzz";

/* what every sender that passes must be free of: it reaches $SENDER of
 * programs run by .qmail files (the 2014 shell-function attack) */
static void sender_clean(const char *a, size_t len)
{
  if (len > SMTP_ADDR_MAX) __builtin_trap();
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)a[i];
    if (c < 33 || c == 127 || strchr("\"()\\", c)) __builtin_trap();
  }
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static sa_t addr;
  const char *arg, *params, *k, *v;
  size_t alen, plen, kl, vl, vlen;
  smtp_params_t p;
  char ip[16];
  if (!size) return 0;
  const char *kw = data[0] & 1 ? "TO:" : "FROM:";
  const char *line = (const char *)data + 1;
  size_t len = size - 1;
  vlen = smtp_verb(line, len, &arg, &alen);
  if (vlen > len || arg < line || arg + alen != line + len) __builtin_trap();
  (void)smtp_verb_is(line, vlen, "MAIL");
  if (smtp_path(arg, alen, kw, &addr, &params, &plen) == SMTP_PATH_OK) {
    if (addr.len > SMTP_ADDR_MAX || addr.s[addr.len] != 0) __builtin_trap();
    if (smtp_sender_ok(addr.s, addr.len)) sender_clean(addr.s, addr.len);
    if (smtp_sender_unqualified_ok(addr.s, addr.len)) {
      sender_clean(addr.s, addr.len);
      if (memchr(addr.s, '@', addr.len)) __builtin_trap();
    }
    (void)smtp_relay_trick(addr.s, addr.len);
    size_t at = smtp_last_at(addr.s, addr.len);
    if (at < addr.len) {
      (void)smtp_domain_ok(addr.s + at + 1, addr.len - at - 1);
      (void)smtp_ipv4_literal(addr.s + at + 1, addr.len - at - 1, ip);
    }
    smtp_params_init(&p, params, plen);
    while (smtp_params_next(&p, &k, &kl, &v, &vl))
      if (k < params || k + kl > params + plen) __builtin_trap();
  }
  (void)smtp_domain_ok(line, len);
  if (smtp_sender_ok(line, len)) sender_clean(line, len);
  if (smtp_sender_unqualified_ok(line, len)) sender_clean(line, len);
  return 0;
}
