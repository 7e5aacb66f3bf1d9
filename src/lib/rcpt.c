/* rcpt: see rcpt.h */
#include "rcpt.h"
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void rcpt_map(char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.' || c == '/') c = ':';
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    s[i] = c;
  }
}

int rcpt_qmail_dir(const char *home, const char *dash, sa_t *dir, sa_t *prefix)
{
  const char *slash = strrchr(dash, '/');
  bool ok;
  if (slash)
    ok = sa_copys(dir, home) && sa_cats(dir, "/.qmail") &&
         sa_catb(dir, dash, (size_t)(slash - dash)) && sa_copys(prefix, slash + 1);
  else
    ok = sa_copys(dir, home) && sa_copys(prefix, ".qmail") && sa_cats(prefix, dash);
  if (!ok || !sa_0(dir) || !sa_0(prefix)) return 0;
  --dir->len;
  --prefix->len;
  return 1;
}

/* 1 found, 0 not, -1 error */
static int find(struct cdb *c, sa_t *k, char kind, const char *m, size_t len)
{
  int r;
  k->len = 0;
  if (!sa_append(k, kind) || !sa_catb(k, m, len)) return -1;
  if (k->len > 0xffffffffUL) return 0;
  r = cdb_find(c, k->s, (unsigned)k->len);
  if (r < 0) {
    errno = EIO;
    return -1;
  }
  return r > 0;
}

int rcpt_lookup(const char *path, const char *local, size_t len)
{
  struct cdb c;
  sa_t m = SA_INIT, k = SA_INIT, last = SA_INIT;
  int fd, r;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return -1;
  if (cdb_init(&c, fd) != 0) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  r = -1;
  if (!sa_copyb(&m, local, len)) goto out;
  rcpt_map(m.s, m.len);
  if ((r = find(&c, &k, '=', m.s, m.len)) != 0) goto out;
  /* the set of last bytes of the wildcard prefixes */
  r = cdb_find(&c, "", 0);
  if (r < 0) { errno = EIO; r = -1; goto out; }
  if (r > 0) {
    unsigned dl = cdb_datalen(&c);
    if (!sa_ready(&last, dl + 1)) { r = -1; goto out; }
    if (cdb_read(&c, last.s, dl, cdb_datapos(&c)) != 0) { errno = EIO; r = -1; goto out; }
    last.len = dl;
  }
  for (size_t i = m.len; i > 0; i--) {
    if (!memchr(last.s ? last.s : "", m.s[i - 1], last.len)) continue;
    if ((r = find(&c, &k, '+', m.s, i)) != 0) goto out;
  }
  r = find(&c, &k, '+', "", 0);
out:
  cdb_free(&c);
  close(fd);
  sa_free(&m);
  sa_free(&k);
  sa_free(&last);
  return r;
}

static int emit2(rcpt_emit_fn emit, void *ctx, sa_t *k, char kind, const char *prefix,
                 size_t plen, const char *tail, size_t tlen)
{
  k->len = 0;
  if (!sa_append(k, kind) || !sa_catb(k, prefix, plen) || !sa_catb(k, tail, tlen)) return -1;
  rcpt_map(k->s + 1, k->len - 1);
  return emit(ctx, k->s, k->len);
}

int rcpt_account_keys(const char *prefix, size_t plen, int exact, const char *pre,
                      const char *dash, const char *names, size_t nlen, rcpt_emit_fn emit,
                      void *ctx)
{
  sa_t k = SA_INIT, mp = SA_INIT;
  char kind = exact ? '=' : '+';
  int r = 0;
  /* without a dash qmail-local has no -default search and falls back to
   * the default delivery: everything this account gets is deliverable */
  if (!*dash) {
    r = emit2(emit, ctx, &k, kind, prefix, plen, "", 0);
    sa_free(&k);
    return r;
  }
  if (!sa_copys(&mp, pre)) { r = -1; goto out; }
  rcpt_map(mp.s, mp.len);
  for (size_t i = 0; i < nlen;) {
    const char *x = names + i;
    const char *end = memchr(x, 0, nlen - i);
    size_t xl = end ? (size_t)(end - x) : nlen - i;
    i += xl + 1;
    /* .qmail<dash>X used for the extension X itself */
    if (exact) {
      if (xl == mp.len && memcmp(x, mp.s, xl) == 0 &&
          (r = emit2(emit, ctx, &k, '=', prefix, plen, "", 0)) != 0)
        goto out;
    } else if (xl >= mp.len && memcmp(x, mp.s, mp.len) == 0 &&
               (r = emit2(emit, ctx, &k, '=', prefix, plen, x + mp.len, xl - mp.len)) != 0) {
      goto out;
    }
    /* .qmail<dash>Pdefault, P empty or ending in '-': every extension
     * starting with P */
    if (xl >= 7 && memcmp(x + xl - 7, "default", 7) == 0) {
      size_t pl = xl - 7;
      if (pl > 0 && x[pl - 1] != '-') continue;
      if (pl <= mp.len) {
        if (memcmp(mp.s, x, pl) == 0 &&
            (r = emit2(emit, ctx, &k, kind, prefix, plen, "", 0)) != 0)
          goto out;
      } else if (!exact && memcmp(x, mp.s, mp.len) == 0 &&
                 (r = emit2(emit, ctx, &k, '+', prefix, plen, x + mp.len, pl - mp.len)) != 0) {
        goto out;
      }
    }
  }
out:
  sa_free(&k);
  sa_free(&mp);
  return r;
}
