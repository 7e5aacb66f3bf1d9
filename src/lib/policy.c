/* policy: see policy.h.  The logic moved here from qmail-smtpd unchanged,
 * so that every server applies the same rules. */
#include "policy.h"
#include <errno.h>
#include <string.h>
#include "cdbx.h"
#include "rcpt.h"
#include "smtp.h"

int policy_load(policy_t *p)
{
  sa_t rc = SA_INIT;
  int r;
  switch (control_readfile(&p->rcpthosts_l, "rcpthosts", 0)) {
  case -1: return -1;
  case 1: p->have_rcpthosts = true; break;
  }
  if (cmap_init(&p->rcpthosts, &p->rcpthosts_l, 0) == -1) return -2;
  if (control_readfile(&p->badmf_l, "badmailfrom", 0) == -1) return -1;
  if (cmap_init(&p->badmf, &p->badmf_l, 0) == -1) return -2;
  if (control_rldef(&p->localiphost, "localiphost", 1, 0) == -1) return -1;
  r = control_readline(&rc, "rcptcheck");
  if (r == 1 && rc.len && rc.s[0] == '0') p->rcptcheck = false;
  sa_free(&rc);
  if (r == -1) return -1;
  if (rewrite_load(&p->rw) == -1) return -1;
  return 0;
}

int policy_localip(policy_t *p, sa_t *a)
{
  char ip[16];
  size_t at = smtp_last_at(a->s, a->len);
  if (at == a->len || !p->localiphost.len || !p->localip) return 0;
  if (!smtp_ipv4_literal(a->s + at + 1, a->len - at - 1, ip) || strcmp(ip, p->localip) != 0)
    return 0;
  a->len = at + 1;
  if (!sa_cat(a, &p->localiphost) || !sa_0(a)) return -1;
  --a->len;
  return 0;
}

bool policy_badmailfrom(const policy_t *p, const char *a, size_t len)
{
  size_t at;
  if (!p->badmf.n || !len) return false;
  if (cmap_get(&p->badmf, a, len)) return true;
  at = smtp_last_at(a, len);
  return at < len && cmap_get(&p->badmf, a + at, len - at) != 0;
}

/* the domain (lowercased copy) in rcpthosts, as "domain" or ".suffix",
 * or in control/morercpthosts.cdb the same way: 1, 0, -1 cdb trouble,
 * -2 out of memory */
static int in_rcpthosts(policy_t *p, const char *d, size_t len)
{
  sa_t *dom = &p->dom;
  if (!sa_copyb(dom, d, len)) return -2;
  sa_lower(dom);
  for (size_t i = 0; i < dom->len; i++) {
    if (i > 0 && dom->s[i] != '.') continue;
    if (cmap_get(&p->rcpthosts, dom->s + i, dom->len - i)) return 1;
  }
  for (size_t i = 0; i < dom->len; i++) {
    int r;
    if (i > 0 && dom->s[i] != '.') continue;
    errno = 0;
    r = cdbx_lookup("control/morercpthosts.cdb", dom->s + i, dom->len - i, 0);
    if (r == -1 && errno != ENOENT) return -1;
    if (r == 1) return 1;
    if (r == 0 && errno == ENOENT) break;
  }
  return 0;
}

int policy_relay(policy_t *p, const char *a, size_t len, const char **why)
{
  size_t at;
  int r;
  if (p->relayclient) return POLICY_OK;
  *why = smtp_relay_trick(a, len);
  if (*why) return POLICY_TRICK;
  at = smtp_last_at(a, len);
  if (at == len) return POLICY_OK; /* postmaster */
  if (a[at + 1] == '[') return POLICY_LITERAL;
  /* no rcpthosts at all counts as an empty one (qmail-control(5)): a
   * forgotten file never makes an open relay */
  r = p->have_rcpthosts ? in_rcpthosts(p, a + at + 1, len - at - 1) : 0;
  if (r == -2) return POLICY_NOMEM;
  if (r == -1) return POLICY_MRHERROR;
  return r ? POLICY_OK : POLICY_NOTRCPTHOST;
}

int policy_rcpt(policy_t *p, const char *a, size_t len)
{
  size_t at;
  int r;
  if (!p->rcptcheck) return POLICY_RCPT_OK;
  r = rewrite_addr(&p->rw, a, len, &p->tmp);
  if (r == -1) return POLICY_RCPT_NOMEM;
  if (r == 0) return POLICY_RCPT_OK;
  at = smtp_last_at(p->tmp.s, p->tmp.len);
  if (at == 0) return POLICY_RCPT_OK; /* empty local part: qmail-lspawn's trash */
  r = rcpt_lookup(RCPT_CDB, p->tmp.s, at, &p->changed);
  if (r == RCPT_YES) return POLICY_RCPT_OK;
  if (r == RCPT_OLD) return POLICY_RCPT_OLD;
  if (r == RCPT_STALE) return POLICY_RCPT_STALE;
  if (r == -1) {
    if (errno == ENOENT) return POLICY_RCPT_OK;
    if (errno == EACCES) {
      p->rcptcheck = false;
      return POLICY_RCPT_OFF;
    }
    return POLICY_RCPT_ERROR;
  }
  return POLICY_RCPT_NOMAILBOX;
}
