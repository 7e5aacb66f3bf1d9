/* hdr: RFC 5322 message headers, as qmail-inject needs them.
 *
 * 1. Splitting: hdr_rd_* reads a header from a buf_t one field at a time
 *    (a field = its first line plus continuation lines), with a hard limit
 *    on the bytes of one field, and stops at the end of the header without
 *    ever reading a body line whole (so a huge first body line costs no
 *    memory).
 * 2. Address lists: hdr_alist_parse splits the value of an address field
 *    (To, Cc, From, ...) into mailboxes: display names, comments, quoted
 *    strings, groups ("undisclosed-recipients:;"), route-addrs and
 *    addresses without a domain are understood.  It never recurses, so
 *    deep nesting costs nothing.  Bare addresses separated by blanks
 *    instead of commas ("joe fred") are taken as a list, as qmail does.
 *    hdr_alist_render writes the value back with only the changed
 *    addresses replaced (and missing commas added); everything else
 *    (names, comments, folding) stays byte for byte.
 * 3. hdr_qualify applies qmail-inject's completion rules (defaulthost,
 *    defaultdomain, plusdomain) to one address. */
#ifndef HDR_H
#define HDR_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "sa.h"

/* one header field, all its lines together, at most this many bytes: far
 * beyond anything legitimate (RFC 5322 allows 998 per line) but a fixed
 * bound, so a header line without end cannot take all memory */
#define HDR_FIELD_MAX ((size_t)1 << 20)

/* ---- splitting ---- */

/* what a physical line is, judged from its first bytes (the whole line,
 * or a long line's prefix, give the same answer) */
enum { HDR_L_OTHER, HDR_L_FIELD, HDR_L_CONT, HDR_L_BLANK, HDR_L_MBOX };
int hdr_line_kind(const char *s, size_t n);

/* how the header ended */
enum { HDR_END_EOF = 1, HDR_END_BLANK, HDR_END_LINE };

typedef struct {
  buf_t *in;
  sa_t line;    /* lookahead line; after HDR_END_LINE: the first body line,
                 * possibly only its beginning (the rest is still in in) */
  size_t max;   /* bytes per field */
  int have;     /* line holds a lookahead */
  int end;      /* 0 while in the header, else HDR_END_* */
} hdr_rd_t;

void hdr_rd_init(hdr_rd_t *, buf_t *in, size_t max);
/* Next field into f (replacing its contents): its lines, each ending in
 * LF (a CR before the LF is dropped, a missing final LF added).  A line
 * starting "From " (an mbox separator) counts as a field.
 * Returns 1 field, 0 end of header (r->end says how; with HDR_END_LINE the
 * header ended at a line that is no field, which is in r->line and must be
 * written out before the rest of r->in), -1 error: errno E2BIG when a
 * field exceeds max, else the read error. */
int hdr_rd_next(hdr_rd_t *, sa_t *f);
void hdr_rd_free(hdr_rd_t *);

/* ---- field names ---- */

/* length of the field name (without blanks before the colon), 0 if the
 * text does not start with a valid field name and a colon */
size_t hdr_name_len(const char *f, size_t n);
/* offset of the value: just after the colon (0 if no field) */
size_t hdr_value_off(const char *f, size_t n);
/* the field's name is name (case-insensitive) */
bool hdr_is(const char *f, size_t n, const char *name);

/* ---- addresses ---- */

typedef struct {
  sa_t local;      /* local part, unquoted */
  sa_t domain;     /* domain as written, without the "@" ("[1.2.3.4]" for
                    * a literal); empty when has_domain is false */
  bool has_domain; /* "@" present */
  bool angle;      /* written as <...> */
  bool null;       /* "<>": the null address */
  bool route;      /* an obsolete source route "<@a,@b:u@h>" was present */
  bool group;      /* inside a group "name: ... ;" */
  bool changed;    /* set by whoever edits it: render writes it anew */
  bool comma;      /* a comma was missing after it ("joe fred"): render adds one */
  size_t start, end; /* span of the text replaced by render */
} hdr_addr_t;

#define HDR_ADDR_INIT {.local = SA_INIT, .domain = SA_INIT}

typedef struct {
  hdr_addr_t *a;
  size_t n, cap;
  size_t groups;   /* number of groups seen */
} hdr_alist_t;

#define HDR_ALIST_INIT {0, 0, 0, 0}

/* Parses an address-list value (the bytes after "To:", folding included).
 * Empty elements and empty groups are fine; a missing ";" at the very end
 * closes an open group.  Returns 1 ok, 0 syntax error, -1 out of memory. */
int hdr_alist_parse(hdr_alist_t *, const char *s, size_t n);
/* appends s with every address marked changed replaced by hdr_addr_fmt
 * of it and the missing commas added;
 * stops with false and errno E2BIG if out would exceed max bytes, EINVAL
 * if an address cannot be written (control characters), ENOMEM */
bool hdr_alist_render(sa_t *out, const char *s, size_t n, const hdr_alist_t *,
                      size_t max);
void hdr_alist_free(hdr_alist_t *);

/* appends the header form: local part (quoted when it is not a dot-atom),
 * "@domain" if it has one.  false: EINVAL (local part or domain holds
 * control characters or NUL) or ENOMEM */
bool hdr_addr_fmt(sa_t *out, const hdr_addr_t *);
/* appends the envelope form (unquoted local@domain; "" for <>) and a NUL.
 * false: EINVAL (NUL inside) or ENOMEM */
bool hdr_addr_env(sa_t *out, const hdr_addr_t *);

/* a domain fit to be written without quoting: dot-separated atoms, or a
 * [literal] without controls; n > 0 */
bool hdr_domain_ok(const char *s, size_t n);
/* a local part writable as a bare dot-atom */
bool hdr_dotatom(const char *s, size_t n);

/* parses a single address (for command-line arguments): exactly one
 * mailbox, no group.  1 ok, 0 syntax error, -1 out of memory */
int hdr_addr_parse1(hdr_addr_t *out, const char *s, size_t n);
void hdr_addr_free(hdr_addr_t *);

/* qmail-inject's completion of an address (see qmail-inject(8)):
 * <> and <x@[]> stay; a route is dropped; a trailing dot of the domain
 * and an "@" with nothing after it go; no domain -> defaulthost; a domain
 * ending in "+" -> the "+" becomes "." plusdomain; a domain without a dot
 * (not a literal) gets "." defaultdomain.  Sets changed when it changed
 * something.  false only on ENOMEM. */
typedef struct {
  const char *defaulthost, *defaultdomain, *plusdomain;
} hdr_qual_t;
bool hdr_qualify(hdr_addr_t *, const hdr_qual_t *);

#endif
