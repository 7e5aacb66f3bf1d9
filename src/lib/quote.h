/* quote: an envelope address as RFC 5321 wants it written between < and >.
 *
 * The local part (everything before the last '@') is written as a quoted
 * string when it is not a dot-atom: when it is empty, holds a byte that is
 * not atext or '.', a byte of 128 or more, or starts or ends with a dot or
 * has two in a row.  Inside the quotes '"', '\', CR and LF get a
 * backslash.  The domain is left alone, and so is the empty address.
 * So "a b@x" becomes "\"a b\"@x", as qmail writes it in MAIL FROM, RCPT
 * TO and Return-Path. */
#ifndef QUOTE_H
#define QUOTE_H
#include <stdbool.h>
#include "sa.h"

/* true if the local part s[0..n) must be quoted */
bool quote_need(const char *s, size_t n);

/* appends addr, quoted as above, to out; false if out of memory */
bool quote_addr(sa_t *out, const char *addr);

#endif
