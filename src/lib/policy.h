/* policy: who may send to which recipients, shared by the servers that
 * accept mail from the network (qmail-smtpd, qmail-qmtpd):
 *
 *   relaying   RELAYCLIENT set: anything goes.  Otherwise a recipient's
 *              domain must be in control/rcpthosts (exactly or by a
 *              ".suffix" line) or control/morercpthosts.cdb, after
 *              refusing address tricks (smtp_relay_trick) and address
 *              literals.  No rcpthosts file counts as an empty one.
 *   validation users/rcptcheck.cdb (qmail-rcptcheck-rebuild(8)), for
 *              addresses qmail-send will deliver locally, unless
 *              control/rcptcheck starts with 0.
 *   senders    control/badmailfrom: whole addresses or "@domain".
 *   literals   "u@[a.b.c.d]" naming the address the client connected to
 *              becomes "u@" control/localiphost (default: control/me).
 *
 * The functions return what happened; the servers choose reply texts and
 * log lines, so each protocol keeps its own wording. */
#ifndef POLICY_H
#define POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include "control.h"
#include "sa.h"
#include "send_rewrite.h"

typedef struct {
  const char *relayclient; /* $RELAYCLIENT, or null */
  const char *localip;     /* $TCPLOCALIP, for localiphost */
  bool have_rcpthosts;
  bool rcptcheck;          /* validation on (cleared when the cdb is unreadable) */
  sa_t rcpthosts_l, badmf_l, localiphost, dom, tmp;
  cmap_t rcpthosts, badmf;
  rewrite_t rw;
  sa_t changed;            /* after POLICY_RCPT_STALE: what changed */
} policy_t;

#define POLICY_INIT {0, 0, false, true, SA_INIT, SA_INIT, SA_INIT, SA_INIT, SA_INIT, \
                     {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, REWRITE_INIT, SA_INIT}

/* reads control/{rcpthosts,badmailfrom,localiphost,rcptcheck} and what
 * rewriting needs (cwd QMAILHOME, control_init() done), in that order.
 * 0 ok; -1 a control file could not be read (errno); -2 out of memory
 * building the lookup tables. */
int policy_load(policy_t *);

/* the localiphost rewrite above, in place (a stays NUL-terminated, the NUL
 * not counted).  0, or -1 out of memory */
int policy_localip(policy_t *, sa_t *a);

/* the sender (len bytes) is in badmailfrom; the empty sender never is */
bool policy_badmailfrom(const policy_t *, const char *a, size_t len);

enum {
  POLICY_OK = 0,
  POLICY_TRICK,       /* *why says which (smtp_relay_trick) */
  POLICY_LITERAL,     /* an address literal, and no RELAYCLIENT */
  POLICY_NOTRCPTHOST, /* domain not in rcpthosts or morercpthosts.cdb */
  POLICY_MRHERROR,    /* morercpthosts.cdb could not be read */
  POLICY_NOMEM
};
/* may the client send to a (len bytes, NUL-terminated)?  One of the above */
int policy_relay(policy_t *, const char *a, size_t len, const char **why);

enum {
  POLICY_RCPT_OK = 0,
  POLICY_RCPT_NOMAILBOX, /* local delivery has nobody by that name */
  POLICY_RCPT_ERROR,     /* the cdb could not be read (temporary) */
  POLICY_RCPT_OFF,       /* accepted: the cdb is not readable by us, so
                          * validation is now off for this process */
  POLICY_RCPT_NOMEM,
  POLICY_RCPT_OLD,       /* accepted: the cdb has an older format (made by
                          * an older qmail-rcptcheck-rebuild) */
  POLICY_RCPT_STALE      /* accepted: not in the cdb, but the directory or
                          * file that decides (p->changed, NUL-terminated)
                          * changed since the cdb was built */
};
/* recipient validation of a (len bytes, after any RELAYCLIENT suffix) */
int policy_rcpt(policy_t *, const char *a, size_t len);

#endif
