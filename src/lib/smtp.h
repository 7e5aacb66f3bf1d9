/* smtp: parsing for the SMTP server (qmail-smtpd(8)): command lines, the
 * MAIL/RCPT path and its parameters, and the syntax rules applied to
 * addresses before they go anywhere.  Pure functions on counted bytes, no
 * I/O, so that fuzz/smtp_fuzz.c and tests/unit/smtp_test.c can drive them. */
#ifndef SMTP_H
#define SMTP_H
#include <stdbool.h>
#include <stddef.h>
#include "sa.h"

/* longest address accepted in MAIL/RCPT (bytes, after unquoting): below
 * qmail-queue's QUEUE_ADDR_MAX so that a RELAYCLIENT suffix still fits */
#define SMTP_ADDR_MAX 900

/* splits a command line (line end already removed) into the verb (the
 * bytes before the first space) and the argument (after the spaces that
 * follow it).  Returns the verb's length. */
size_t smtp_verb(const char *line, size_t len, const char **arg, size_t *alen);
/* the verb (vlen bytes) is word, ignoring ASCII case */
bool smtp_verb_is(const char *verb, size_t vlen, const char *word);

enum {
  SMTP_PATH_OK = 0,
  SMTP_PATH_SYNTAX = -1,  /* 501/555: malformed */
  SMTP_PATH_TOOLONG = -2, /* address longer than SMTP_ADDR_MAX */
  SMTP_PATH_BADCHAR = -3  /* a control character or NUL in the address */
};
/* parses the argument of MAIL or RCPT: keyword ("FROM:" or "TO:", any
 * case) then optional spaces, then either <path> or a bare address ending
 * at a space.  Inside <>, "\x" escapes x and '"' toggles quoting; both
 * marks are removed.  A source route ("@a,@b:") in front of the address is
 * dropped.  addr gets the address, NUL-terminated (not counted in len);
 * params/plen the text after the path (spaces skipped). */
int smtp_path(const char *arg, size_t len, const char *keyword, sa_t *addr, const char **params,
              size_t *plen);

/* walks "KEY=VALUE KEY ..." parameters: 1 and the next one (value null if
 * there is no '='), 0 at the end */
typedef struct {
  const char *s;
  size_t len, pos;
} smtp_params_t;
void smtp_params_init(smtp_params_t *, const char *s, size_t len);
int smtp_params_next(smtp_params_t *, const char **key, size_t *klen, const char **val,
                     size_t *vlen);

/* a domain: dot-separated labels of letters, digits, '-' and '_', none
 * empty, at most 63 bytes each, 255 in all (so no leading, trailing or
 * double dot); or an address literal "[a.b.c.d]" / "[IPv6:...]" */
bool smtp_domain_ok(const char *d, size_t len);
/* "[a.b.c.d]" with four decimal parts 0..255; ip (16 bytes) gets "a.b.c.d" */
bool smtp_ipv4_literal(const char *d, size_t len, char ip[16]);

/* the sender syntax every MAIL must pass: empty, or local@domain with a
 * non-empty local part of RFC 5322 atext and dots, in any place and
 * number (no spaces, double quotes, parentheses, backslashes or control
 * characters: the address reaches $SENDER of programs run by .qmail
 * files), and a domain as smtp_domain_ok but with labels of any length;
 * at most SMTP_ADDR_MAX bytes in all */
bool smtp_sender_ok(const char *a, size_t len);
/* an unqualified sender ("root"): a local part as above and no '@'.
 * Only for clients that may relay (qmail-smtpd(8)). */
bool smtp_sender_unqualified_ok(const char *a, size_t len);

/* why a recipient from a client that may not relay is refused before any
 * rcpthosts lookup, or null if it is plain local@domain: more than one
 * '@', '%' or '!' in the local part, no '@' (except "postmaster"), an
 * empty local part, a bad domain (trailing dot etc.).  IP literals pass
 * here; the caller decides about them. */
const char *smtp_relay_trick(const char *a, size_t len);

/* the byte offset of the last '@' in a, or len if there is none */
size_t smtp_last_at(const char *a, size_t len);

#endif
