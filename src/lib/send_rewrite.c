/* send_rewrite: see send_rewrite.h */
#include "send_rewrite.h"
#include <errno.h>
#include <string.h>

static void clear(rewrite_t *rw)
{
  cmap_free(&rw->locals);
  cmap_free(&rw->pct);
  cmap_free(&rw->vd);
  sa_free(&rw->envnoathost);
  sa_free(&rw->locals_l);
  sa_free(&rw->pct_l);
  sa_free(&rw->vd_l);
}

void rewrite_free(rewrite_t *rw) { clear(rw); }

static void take(sa_t *to, sa_t *from)
{
  *to = *from;
  from->s = 0;
  from->len = from->a = 0;
}

int rewrite_set(rewrite_t *rw, const char *envnoathost, sa_t *locals, sa_t *pct, sa_t *vd)
{
  memset(rw, 0, sizeof *rw);
  take(&rw->locals_l, locals);
  take(&rw->pct_l, pct);
  take(&rw->vd_l, vd);
  if (!sa_copys(&rw->envnoathost, envnoathost) ||
      cmap_init(&rw->locals, &rw->locals_l, 0) == -1 ||
      cmap_init(&rw->pct, &rw->pct_l, 0) == -1 ||
      cmap_init(&rw->vd, &rw->vd_l, 1) == -1) {
    clear(rw);
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

int rewrite_load(rewrite_t *rw)
{
  sa_t env = SA_INIT, loc = SA_INIT, pct = SA_INIT, vd = SA_INIT;
  int r = -1;
  if (control_rldef(&env, "envnoathost", 1, "envnoathost") == -1) goto out;
  if (!sa_0(&env)) goto out;
  if (control_readfile(&loc, "locals", 1) == -1) goto out;
  if (control_readfile(&pct, "percenthack", 0) == -1) goto out;
  if (control_readfile(&vd, "virtualdomains", 0) == -1) goto out;
  r = rewrite_set(rw, env.s, &loc, &pct, &vd);
out:
  sa_free(&env);
  sa_free(&loc);
  sa_free(&pct);
  sa_free(&vd);
  return r;
}

static size_t last_at(const char *s, size_t len)
{
  size_t i = len;
  while (i > 0) if (s[--i] == '@') return i;
  return len;
}

/* the virtualdomains value deciding for s (len bytes, '@' at at), or 0 */
static const char *vd_find(const rewrite_t *rw, const char *s, size_t len, size_t at)
{
  for (size_t i = 0; i <= len; i++) {
    if (i == 0 || i == at + 1 || i == len || (i > at && s[i] == '.')) {
      const char *v = cmap_get(&rw->vd, s + i, len - i);
      if (v) return v;
    }
  }
  return 0;
}

int rewrite_addr(const rewrite_t *rw, const char *addr, size_t len, sa_t *out)
{
  size_t at;
  const char *v;
  if (!sa_copyb(out, addr, len)) return -1;
  at = last_at(out->s, out->len);
  if (at == out->len) {
    if (!sa_append(out, '@') || !sa_catb(out, rw->envnoathost.s, strlen(rw->envnoathost.s)))
      return -1;
  }
  /* each round shortens the address, so this ends */
  while (cmap_get(&rw->pct, out->s + at + 1, out->len - at - 1)) {
    size_t p = at;
    while (p > 0 && out->s[p - 1] != '%') --p;
    if (p == 0) break;
    --p;
    out->s[p] = '@';
    out->len = at;
    out->s[out->len] = 0;
    at = p;
  }
  if (cmap_get(&rw->locals, out->s + at + 1, out->len - at - 1)) return 1;
  v = vd_find(rw, out->s, out->len, at);
  if (!v || !*v) return 0;
  {
    sa_t tmp = SA_INIT;
    if (!sa_copys(&tmp, v) || !sa_append(&tmp, '-') || !sa_cat(&tmp, out)) {
      sa_free(&tmp);
      return -1;
    }
    sa_free(out);
    *out = tmp;
  }
  return 1;
}

int rewrite_unprepend(const rewrite_t *rw, const char *addr, sa_t *out)
{
  size_t len = strlen(addr), at = last_at(addr, len);
  if (at < len && !cmap_get(&rw->locals, addr + at + 1, len - at - 1)) {
    for (size_t j = 1; j < at; j++) {
      const char *v;
      if (addr[j] != '-') continue;
      v = vd_find(rw, addr + j + 1, len - j - 1, at - j - 1);
      if (v && strlen(v) == j && memcmp(v, addr, j) == 0)
        return sa_copyb(out, addr + j + 1, len - j - 1) ? 0 : -1;
    }
  }
  return sa_copyb(out, addr, len) ? 0 : -1;
}

size_t verp_base(const char *sender, size_t sl)
{
  if (sl >= 4 && !memcmp(sender + sl - 4, "-@[]", 4) && memchr(sender, '@', sl - 4)) return sl - 4;
  return sl;
}

int verp_sender(const char *sender, const char *rcpt, sa_t *out)
{
  size_t sl = strlen(sender), rl = strlen(rcpt), at, rat;
  if (verp_base(sender, sl) == sl) return sa_copyb(out, sender, sl) ? 0 : -1;
  at = last_at(sender, sl - 4);
  rat = last_at(rcpt, rl);
  /* qmail's form: "pre-@host-@[]" becomes "pre-box=rhost@host"; the
   * dash is the sender's own (qmail-local's local-owner-@, ezmlm's
   * list-return-n-@), nothing is inserted */
  if (!sa_copyb(out, sender, at) || !sa_catb(out, rcpt, rat) ||
      !sa_append(out, '='))
    return -1;
  if (rat < rl && !sa_catb(out, rcpt + rat + 1, rl - rat - 1)) return -1;
  return sa_catb(out, sender + at, sl - 4 - at) ? 0 : -1;
}
