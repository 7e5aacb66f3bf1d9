/* rcpt: see rcpt.h */
#include "rcpt.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "fdio.h"
#include "num.h"

/* a local part longer than any address: never a key */
#define KEY_MAX 0xffffu

void rcpt_map(char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.' || c == '/') c = ':';
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    s[i] = c;
  }
}

static void lower(char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] - 'A' + 'a');
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

/* ---- lookup ---- */

typedef struct {
  struct cdb c;
  sa_t k, v;
} db_t;

/* the key tag + id (if nonzero) + s: 1 found (value in d->v), 0 not, -1 */
static int get(db_t *d, const char *tag, unsigned long id, const char *s, size_t n)
{
  int r;
  d->k.len = 0;
  if (!sa_cats(&d->k, tag) || (id && (!sa_catulong(&d->k, id) || !sa_append(&d->k, ':'))) ||
      !sa_catb(&d->k, s, n))
    return -1;
  if (d->k.len > KEY_MAX) return 0;
  r = cdb_find(&d->c, d->k.s, (unsigned)d->k.len);
  if (r <= 0) {
    if (r < 0) errno = EIO;
    return r;
  }
  if (!sa_ready(&d->v, (size_t)cdb_datalen(&d->c) + 1)) return -1;
  if (cdb_read(&d->c, d->v.s, cdb_datalen(&d->c), cdb_datapos(&d->c)) != 0) {
    errno = EIO;
    return -1;
  }
  d->v.len = cdb_datalen(&d->c);
  d->v.s[d->v.len] = 0;
  return 1;
}

/* the owner: id (0: nobody), its extension in ext (as delivery gives it,
 * unmapped); basic is set for the basic address of a passwd account */
typedef struct {
  unsigned long id;
  sa_t ext;
  bool basic;
  bool fallback; /* the alias account or nobody: no user claims it */
  size_t pwlen;  /* a password-database owner: its name's length, else 0 */
} owner_t;

/* an owner value: id, then optionally NUL and the extension's start */
static int take(db_t *d, owner_t *o, const char *rest, size_t rlen)
{
  size_t n = scan_ulong(d->v.s, &o->id);
  if (!n || !o->id) { errno = EPROTO; return -1; }
  if (!sa_copys(&o->ext, n < d->v.len ? d->v.s + n + 1 : "") || !sa_catb(&o->ext, rest, rlen))
    return -1;
  return 1;
}

/* 1. users/cdb, as users_lookup: exact, then the longest prefix ending in
 * a byte of the "u" set, then the empty prefix */
static int owner_users(db_t *d, const char *local, const char *low, size_t len, owner_t *o)
{
  sa_t set = SA_INIT;
  int r = get(d, "u=", 0, low, len);
  if (r != 0) return r == 1 ? take(d, o, "", 0) : -1;
  if ((r = get(d, "u", 0, "", 0)) == -1) return -1;
  if (r == 1 && !sa_copy(&set, &d->v)) return -1;
  for (size_t i = len + 1; i-- > 0;) {
    if (i > 0 && !memchr(set.s ? set.s : "", low[i - 1], set.len)) continue;
    r = get(d, "u+", 0, low, i);
    if (r != 0) {
      if (r == 1) r = take(d, o, local + i, len - i);
      break;
    }
  }
  sa_free(&set);
  return r;
}

/* 2. the password database, as qmail-getpw: the longest prefix ending at
 * a conf-break character (or all of local) naming an account */
static int owner_passwd(db_t *d, const char *local, const char *low, size_t len, owner_t *o)
{
  for (size_t i = len + 1; i-- > 1;) {
    int r;
    if (i < len && (!local[i] || !strchr(auto_break, local[i]))) continue;
    if (i > RCPT_NAME_MAX) continue;
    r = get(d, "p", 0, low, i);
    if (r != 1) {
      if (r == -1) return -1;
      continue;
    }
    if (take(d, o, "", 0) == -1) return -1;
    o->basic = i == len;
    o->pwlen = i;
    return sa_copyb(&o->ext, i < len ? local + i + 1 : "", i < len ? len - i - 1 : 0) ? 1 : -1;
  }
  return 0;
}

static int find_owner(db_t *d, const char *local, const char *low, size_t len, owner_t *o)
{
  int r;
  o->id = 0;
  o->basic = false;
  o->fallback = false;
  o->pwlen = 0;
  if ((r = owner_users(d, local, low, len, o)) != 0) return r;
  if ((r = owner_passwd(d, local, low, len, o)) != 0) return r;
  /* 3. the alias account takes the whole local part */
  o->fallback = true;
  if ((r = get(d, "A", 0, "", 0)) != 1) return r;
  return take(d, o, local, len);
}

static bool is_break(char c)
{
  return c == '-' || (c && strchr(auto_break, c));
}

/* what qmail-local does with the owner's extension */
static int owner_takes(db_t *d, const owner_t *o)
{
  sa_t m = SA_INIT;
  const char *ext = o->ext.s ? o->ext.s : "";
  size_t elen = o->ext.len;
  bool alias;
  int r;
  if (o->basic) return RCPT_YES;
  if ((r = get(d, "a", o->id, "", 0)) != 1) {
    /* an id without its account: not a cdb of ours */
    if (r == 0) errno = EPROTO;
    return -1;
  }
  /* the flags end at the first NUL */
  if (strchr(d->v.s, RCPT_ALL)) return RCPT_YES;
  alias = strchr(d->v.s, RCPT_ALIAS) != 0;
  if (!sa_copyb(&m, ext, elen) || !sa_catb(&m, "default", 7)) return -1;
  rcpt_map(m.s, elen);
  r = get(d, "n", o->id, m.s, elen);
  if (r == 0 && alias) r = get(d, "L", 0, m.s, elen);
  /* the -default search, longest first */
  for (size_t i = elen; r == 0;) {
    while (i > 0 && !is_break(ext[i - 1])) --i;
    memmove(m.s + i, "default", 7);
    r = get(d, "n", o->id, m.s, i + 7);
    if (i == 0) break;
    --i;
  }
  sa_free(&m);
  return r == -1 ? -1 : r ? RCPT_YES : RCPT_NO;
}

/* path changed since t (mtime in the same second counts), or cannot be
 * stat()ed, or is a home delivery waits on (sticky: its user is editing
 * .qmail files; writable by others): then it goes to changed.  1, 0, -1 */
static int newer(const char *path, time_t t, sa_t *changed)
{
  struct stat st;
  if (stat(path, &st) == 0 && st.st_mtime < t && !(st.st_mode & (S_ISVTX | S_IWOTH))) return 0;
  return sa_copys(changed, path) && sa_0(changed) ? 1 : -1;
}

/* the "S" entries: a '+' path changed or vanished, a '-' path appeared */
static int sources_changed(const sa_t *s, time_t t, sa_t *changed)
{
  for (size_t i = 0; i + 1 < s->len;) {
    const char *p = s->s + i + 1;
    const char *end = memchr(p, 0, s->len - i - 1);
    struct stat st;
    int r = 0;
    if (!end) break;
    if (s->s[i] == '+') r = newer(p, t, changed);
    else if (stat(p, &st) == 0 || errno != ENOENT)
      r = sa_copys(changed, p) && sa_0(changed) ? 1 : -1;
    if (r != 0) return r;
    i = (size_t)(end - s->s) + 1;
  }
  return 0;
}

/* an account of the password file that qmail-getpw did not take at
 * build time because of its home ("h" name -> uid ":" home), whose name
 * is a prefix of the local part longer than min ending at a break
 * character: its home is now its own (or cannot be looked at, and
 * qmail-getpw would defer).  1 (changed filled), 0, -1 */
static int home_appeared(db_t *d, const char *low, size_t len, size_t min, sa_t *changed)
{
  for (size_t i = len + 1; i-- > min + 1;) {
    unsigned long uid;
    struct stat st;
    size_t n;
    int r;
    if (i < len && !strchr(auto_break, low[i])) continue;
    if (i > RCPT_NAME_MAX) continue;
    if ((r = get(d, "h", 0, low, i)) != 1) {
      if (r == -1) return -1;
      continue;
    }
    n = scan_ulong(d->v.s, &uid);
    if (!n || d->v.s[n] != ':') continue;
    if (stat(d->v.s + n + 1, &st) == 0 ? st.st_uid != uid : errno == ENOENT || errno == ENOTDIR)
      continue;
    return sa_copys(changed, d->v.s + n + 1) && sa_0(changed) ? 1 : -1;
  }
  return 0;
}

#define PASSWD "/etc/passwd"
/* the password file, read only when it changed since the build */
#define PASSWD_MAX ((size_t)64 << 20)

/* is name (len bytes) an account in the password file, as qmail-getpw
 * takes one: uid not 0, home owned by it?  A home we may not stat counts
 * as yes.  1, 0 */
static int passwd_has(const sa_t *pw, const char *name, size_t len)
{
  for (size_t i = 0; i < pw->len;) {
    const char *l = pw->s + i, *nl = memchr(l, '\n', pw->len - i);
    size_t n = nl ? (size_t)(nl - l) : pw->len - i;
    const char *f[7];
    size_t fl[7], nf = 0, pos = 0;
    unsigned long uid;
    struct stat st;
    char home[4096];
    i += n + 1;
    if (n <= len || memcmp(l, name, len) != 0 || l[len] != ':') continue;
    /* name:passwd:uid:gid:gecos:home:shell */
    while (nf < 7) {
      const char *c = memchr(l + pos, ':', n - pos);
      size_t e = c ? (size_t)(c - l) : n;
      f[nf] = l + pos;
      fl[nf++] = e - pos;
      if (!c) break;
      pos = e + 1;
    }
    if (nf < 6 || !fl[2] || scan_ulong(f[2], &uid) != fl[2] || uid == 0) continue;
    if (!fl[5] || fl[5] >= sizeof home) continue;
    memcpy(home, f[5], fl[5]);
    home[fl[5]] = 0;
    if (stat(home, &st) == 0 ? st.st_uid == uid : errno != ENOENT && errno != ENOTDIR) return 1;
  }
  return 0;
}

/* An account added to the password file since the build.  The file's
 * mtime alone would turn every refusal into an acceptance after any
 * change to it (another account's, a chfn); so it is then searched for
 * the names qmail-getpw would try: the longest prefix of the local part
 * ending at a break character, in lower case.  The file is read, not
 * asked through NSS (qmail-smtpd loads no modules): accounts of other
 * sources are seen at the next rebuild.  1 (changed filled), 0, -1 */
static int new_account(const char *low, size_t len, size_t min, time_t t, sa_t *changed)
{
  struct stat st;
  sa_t pw = SA_INIT;
  int found = 0;
  if (stat(PASSWD, &st) == 0 && st.st_mtime < t) return 0;
  if (read_file(PASSWD, &pw, PASSWD_MAX) != 1) {
    sa_free(&pw);
    /* gone or unreadable: we cannot tell */
    return sa_copys(changed, PASSWD) && sa_0(changed) ? 1 : -1;
  }
  for (size_t i = len + 1; !found && i-- > min + 1;) {
    if (i < len && !strchr(auto_break, low[i])) continue;
    if (i > RCPT_NAME_MAX || memchr(low, ':', i) || memchr(low, '\n', i)) continue;
    found = passwd_has(&pw, low, i);
  }
  sa_free(&pw);
  if (!found) return 0;
  return sa_copys(changed, PASSWD) && sa_0(changed) ? 1 : -1;
}

/* for a refusal: did what the answer came from change since the build?
 * 1 (changed filled), 0, -1 */
static int stale(db_t *d, const owner_t *o, const char *low, size_t len, sa_t *changed)
{
  sa_t src = SA_INIT;
  unsigned long t = 0;
  int r = get(d, "T", 0, "", 0);
  if (r == -1) return -1;
  /* no build time: anything may have changed */
  if (r == 1) scan_ulong(d->v.s, &t);
  if (o->id) {
    if ((r = get(d, "a", o->id, "", 0)) != 1) return r == 0 ? 0 : -1;
    if (strlen(d->v.s) < d->v.len && d->v.s[strlen(d->v.s) + 1] &&
        (r = newer(d->v.s + strlen(d->v.s) + 1, (time_t)t, changed)) != 0)
      return r;
  }
  /* a new account whose name is a longer prefix than the owner's takes
   * the local part from it */
  if (o->pwlen && ((r = new_account(low, len, o->pwlen, (time_t)t, changed)) != 0 ||
                   (r = home_appeared(d, low, len, o->pwlen, changed)) != 0))
    return r;
  if (!o->fallback) return 0;
  if ((r = new_account(low, len, 0, (time_t)t, changed)) != 0 ||
      (r = home_appeared(d, low, len, 0, changed)) != 0)
    return r;
  if ((r = get(d, "S", 0, "", 0)) != 1) return r;
  if (!sa_copy(&src, &d->v)) return -1;
  r = sources_changed(&src, (time_t)t, changed);
  sa_free(&src);
  return r;
}

int rcpt_lookup(const char *path, const char *local, size_t len, sa_t *changed)
{
  db_t d = {.k = SA_INIT, .v = SA_INIT};
  sa_t low = SA_INIT;
  owner_t o = {0, SA_INIT, false, false, 0};
  int fd, r, e;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return -1;
  if (cdb_init(&d.c, fd) != 0) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  r = get(&d, "V", 0, "", 0);
  if (r == 0 || (r == 1 && strcmp(d.v.s, RCPT_VERSION) != 0)) {
    r = RCPT_OLD;
    goto out;
  }
  if (r == -1) goto out;
  r = -1;
  if (!sa_copyb(&low, local, len)) goto out;
  lower(low.s, len);
  r = find_owner(&d, local, low.s, len, &o);
  if (r == 1) r = owner_takes(&d, &o);
  if (r == RCPT_NO) {
    int c = stale(&d, &o, low.s, len, changed);
    if (c != 0) r = c == 1 ? RCPT_STALE : -1;
  }
out:
  e = errno;
  cdb_free(&d.c);
  close(fd);
  sa_free(&d.k);
  sa_free(&d.v);
  sa_free(&low);
  sa_free(&o.ext);
  errno = e;
  return r;
}

/* ---- writing ---- */

static int put(rcpt_make_t *m, const char *v, size_t vlen)
{
  if (m->k.len > KEY_MAX || vlen > KEY_MAX) return 0; /* longer than any address */
  return cdb_make_add(&m->cm, m->k.s, (unsigned)m->k.len, v, (unsigned)vlen) == 0 ? 0 : -1;
}

/* the key in m->k is new: 1 yes, 0 taken already, -1 */
static int fresh(rcpt_make_t *m)
{
  int r;
  if (m->k.len > KEY_MAX) return 0;
  r = cdb_make_exists(&m->cm, m->k.s, (unsigned)m->k.len);
  return r < 0 ? -1 : !r;
}

/* adds the owner key in m->k with a new id and tail: 1, 0 (taken), -1 */
static int owner(rcpt_make_t *m, const char *tail, size_t tlen, unsigned long *id)
{
  char num[FMT_ULONG];
  int r = fresh(m);
  if (r != 1) return r;
  *id = ++m->nextid;
  m->v.len = 0;
  if (!sa_catb(&m->v, num, fmt_ulong(num, *id))) return -1;
  if (tail && (!sa_append(&m->v, 0) || !sa_catb(&m->v, tail, tlen))) return -1;
  return put(m, m->v.s, m->v.len) == 0 ? 1 : -1;
}

int rcpt_make_start(rcpt_make_t *m, int fd, time_t start)
{
  char num[FMT_ULONG];
  memset(m->lastch, 0, sizeof m->lastch);
  m->nextid = 0;
  m->k = (sa_t)SA_INIT;
  m->v = (sa_t)SA_INIT;
  m->sources = (sa_t)SA_INIT;
  if (cdb_make_start(&m->cm, fd) != 0) return -1;
  if (!sa_copys(&m->k, "V") || put(m, RCPT_VERSION, strlen(RCPT_VERSION)) != 0) return -1;
  if (!sa_copys(&m->k, "T")) return -1;
  return put(m, num, fmt_ulong(num, start < 0 ? 0 : (unsigned long)start));
}

int rcpt_make_users(rcpt_make_t *m, const char *prefix, size_t plen, bool exact,
                    const char *ext, unsigned long *id)
{
  if (!sa_copys(&m->k, exact ? "u=" : "u+") || !sa_catb(&m->k, prefix, plen)) return -1;
  lower(m->k.s + 2, plen);
  if (!exact && plen) m->lastch[(unsigned char)m->k.s[m->k.len - 1]] = 1;
  return owner(m, ext, strlen(ext), id);
}

int rcpt_make_passwd(rcpt_make_t *m, const char *name, unsigned long *id)
{
  if (!sa_copys(&m->k, "p") || !sa_cats(&m->k, name)) return -1;
  lower(m->k.s + 1, m->k.len - 1);
  return owner(m, 0, 0, id);
}

int rcpt_make_alias(rcpt_make_t *m, unsigned long *id)
{
  if (!sa_copys(&m->k, "A")) return -1;
  return owner(m, 0, 0, id);
}

int rcpt_make_account(rcpt_make_t *m, unsigned long id, const char *flags, const char *dir)
{
  m->k.len = 0;
  if (!sa_cats(&m->k, "a") || !sa_catulong(&m->k, id) || !sa_append(&m->k, ':')) return -1;
  if (!sa_copys(&m->v, flags) || !sa_append(&m->v, 0) || !sa_cats(&m->v, dir)) return -1;
  return put(m, m->v.s, m->v.len);
}

int rcpt_make_source(rcpt_make_t *m, const char *path)
{
  struct stat st;
  char status = stat(path, &st) == 0 ? '+' : '-';
  return sa_append(&m->sources, status) && sa_cats(&m->sources, path) && sa_0(&m->sources) ? 0 : -1;
}

int rcpt_make_home(rcpt_make_t *m, const char *name, unsigned long uid, const char *home)
{
  if (!sa_copys(&m->k, "h") || !sa_cats(&m->k, name)) return -1;
  lower(m->k.s + 1, m->k.len - 1);
  m->v.len = 0;
  if (!sa_catulong(&m->v, uid) || !sa_append(&m->v, ':') || !sa_cats(&m->v, home)) return -1;
  return put(m, m->v.s, m->v.len);
}

int rcpt_make_name(rcpt_make_t *m, unsigned long id, const char *x, size_t xlen)
{
  size_t at;
  m->k.len = 0;
  if (!sa_cats(&m->k, "n") || !sa_catulong(&m->k, id) || !sa_append(&m->k, ':')) return -1;
  at = m->k.len;
  if (!sa_catb(&m->k, x, xlen)) return -1;
  rcpt_map(m->k.s + at, xlen);
  return put(m, "", 0);
}

int rcpt_make_aliasname(rcpt_make_t *m, const char *x, size_t xlen)
{
  if (!xlen) return 0; /* the empty key is never an alias */
  if (!sa_copys(&m->k, "L") || !sa_catb(&m->k, x, xlen)) return -1;
  rcpt_map(m->k.s + 1, xlen);
  return put(m, "", 0);
}

int rcpt_make_finish(rcpt_make_t *m)
{
  char set[256];
  size_t n = 0;
  for (int c = 1; c < 256; c++)
    if (m->lastch[c]) set[n++] = (char)c;
  if (!sa_copys(&m->k, "u") || put(m, set, n) != 0) return -1;
  if (!sa_copys(&m->k, "S") || put(m, m->sources.s ? m->sources.s : "", m->sources.len) != 0)
    return -1;
  return cdb_make_finish(&m->cm) == 0 ? 0 : -1;
}

void rcpt_make_free(rcpt_make_t *m)
{
  sa_free(&m->k);
  sa_free(&m->v);
  sa_free(&m->sources);
}
