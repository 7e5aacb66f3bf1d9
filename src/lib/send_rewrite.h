/* send_rewrite: how qmail-send turns an envelope recipient into a local or
 * a remote delivery address, and how it expands VERP senders.
 *
 * Rewriting, in this order (qmail-send(8)):
 *   1. no '@' at all: "@" envnoathost is appended;
 *   2. percenthack: while the domain is listed, the last '%' of the local
 *      part becomes the '@' and the old domain is dropped;
 *   3. locals: domain listed (case-insensitive, exact) -> local, unchanged;
 *   4. virtualdomains: the first key found among the whole address, the
 *      domain, its dot-suffixes from longest to shortest (".b.c", ".c"),
 *      and "" decides; an empty value is an exception (remote), a value P
 *      makes the address local as "P-local@domain";
 *   5. anything else is remote. */
#ifndef SEND_REWRITE_H
#define SEND_REWRITE_H
#include <stddef.h>
#include "control.h"
#include "sa.h"

typedef struct {
  sa_t envnoathost;            /* NUL-terminated */
  sa_t locals_l, pct_l, vd_l;  /* the lists the maps point into */
  cmap_t locals, pct, vd;
} rewrite_t;

#define REWRITE_INIT {SA_INIT, SA_INIT, SA_INIT, SA_INIT, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}

/* builds rw from lists of NUL-terminated lines (as control_readfile gives
 * them); the lists' memory moves into rw (the callers' sa_t become empty).
 * 0 ok, -1 out of memory (rw is then empty, lists are freed) */
int rewrite_set(rewrite_t *rw, const char *envnoathost, sa_t *locals, sa_t *percenthack,
                sa_t *virtualdomains);
/* reads control/{envnoathost,locals,percenthack,virtualdomains}; cwd must
 * be QMAILHOME and control_init() done.  0 ok, -1 error (errno) */
int rewrite_load(rewrite_t *rw);
void rewrite_free(rewrite_t *rw);

/* rewrites addr (len bytes, may contain anything but is treated as bytes);
 * out receives the delivery address, NUL-terminated (the NUL not counted
 * in out->len).  1 local, 0 remote, -1 out of memory. */
int rewrite_addr(const rewrite_t *rw, const char *addr, size_t len, sa_t *out);

/* the address a local delivery address was rewritten from: strips a
 * virtualdomain prepend "P-" when the current virtualdomains would have
 * added exactly that prepend; otherwise copies addr.  NUL-terminated.
 * 0 ok, -1 out of memory. */
int rewrite_unprepend(const rewrite_t *rw, const char *addr, sa_t *out);

/* VERP: a sender "pre@host-@[]" becomes "pre-rlocal=rdomain@host" for the
 * recipient "rlocal@rdomain" (split at its last '@'; no '@': rdomain is
 * empty).  Other senders are copied unchanged.  NUL-terminated.
 * 0 ok, -1 out of memory. */
int verp_sender(const char *sender, const char *rcpt, sa_t *out);

/* the length of sender without a VERP "-@[]" suffix (one with an '@'
 * before it): "pre@host-@[]" -> that of "pre@host"; else sl */
size_t verp_base(const char *sender, size_t sl);

#endif
