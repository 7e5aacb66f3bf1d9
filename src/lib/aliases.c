/* aliases: see aliases.h */
#include "aliases.h"
#include <cdb.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "cdbx.h"
#include "fdio.h"
#include "queue.h"

struct ctx {
  struct cdb_make cm;
  const char *defhost;
  aliases_err_t *err;
  size_t total; /* bytes of all files read so far */
  sa_t val;     /* the value of the alias being built */
  sa_t tok;     /* the current target, unquoted */
};

static int fail(struct ctx *c, const char *file, unsigned long line, const char *why)
{
  c->err->line = line;
  c->err->why = why;
  c->err->temp = 0;
  if (!sa_copys(&c->err->file, file) || !sa_0(&c->err->file)) {
    c->err->temp = 1;
    return -1;
  }
  return -2;
}

static int sysfail(struct ctx *c, const char *file, const char *why)
{
  int e = errno;
  c->err->line = 0;
  c->err->why = why;
  c->err->temp = 1;
  c->err->file.len = 0;
  if (sa_copys(&c->err->file, file)) (void)sa_0(&c->err->file);
  errno = e;
  return -1;
}

static int blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }
static char lower(char ch) { return ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch; }

static int put(struct ctx *c, char type, const char *s, size_t n)
{
  if (c->val.len > ALIASES_VALUE_MAX || n > ALIASES_VALUE_MAX - c->val.len) return 0;
  return sa_append(&c->val, type) && sa_catb(&c->val, s, n) && sa_0(&c->val);
}

static int do_include(struct ctx *c, const char *path, int depth);

/* one target (already unquoted) */
static int target(struct ctx *c, const char *file, unsigned long line, const char *t, size_t n, int depth)
{
  size_t i;
  for (i = 0; i < n; i++)
    if ((unsigned char)t[i] < 32 && t[i] != '\t') return fail(c, file, line, "control character in a target");
  if (t[0] == '|') {
    for (i = 1; i < n && blank(t[i]); i++) ;
    if (i == n) return fail(c, file, line, "empty command after |");
    if (!put(c, ALIASES_PROG, t + i, n - i)) goto toolong;
    return 0;
  }
  if (t[0] == '/') {
    if (!put(c, ALIASES_FILE, t, n)) goto toolong;
    return 0;
  }
  if (n >= 9 && strncasecmp(t, ":include:", 9) == 0) {
    sa_t p = SA_INIT;
    int r;
    for (i = 9; i < n && blank(t[i]); i++) ;
    if (i == n || t[i] != '/') return fail(c, file, line, ":include: needs an absolute path");
    if (depth >= ALIASES_DEPTH) return fail(c, file, line, "includes nested more than 10 deep (a loop?)");
    if (!sa_copyb(&p, t + i, n - i) || !sa_0(&p)) return sysfail(c, file, "out of memory");
    r = do_include(c, p.s, depth + 1);
    sa_free(&p);
    return r;
  }
  /* an address */
  if (t[0] == '\\') { ++t; --n; } /* sendmail's "no further aliasing" mark */
  if (n >= 2 && t[0] == '<' && t[n - 1] == '>') { ++t; n -= 2; }
  if (n == 0) return fail(c, file, line, "empty address");
  for (i = 0; i < n; i++)
    if (blank(t[i]) || strchr("<>()\",;:\\", t[i]))
      return fail(c, file, line, "address contains a space or one of <>()\",;:\\ (quote programs and files)");
  if (t[0] == '@' || t[n - 1] == '@') return fail(c, file, line, "malformed address");
  c->tok.len = 0;
  if (!sa_catb(&c->tok, t, n)) return sysfail(c, file, "out of memory");
  if (!memchr(t, '@', n)) {
    if (!c->defhost || !*c->defhost)
      return fail(c, file, line, "bare name, and no default host to qualify it");
    if (!sa_append(&c->tok, '@') || !sa_cats(&c->tok, c->defhost)) return sysfail(c, file, "out of memory");
  }
  if (c->tok.len > QUEUE_ADDR_MAX) return fail(c, file, line, "address too long");
  if (!put(c, ALIASES_ADDR, c->tok.s, c->tok.len)) goto toolong;
  return 0;
toolong:
  return fail(c, file, line, "too many targets for one alias");
}

/* a comma-separated list of targets; *count gets the number of non-empty
 * items seen (an include of an empty file counts as one) */
static int list(struct ctx *c, const char *file, unsigned long line, const char *s, size_t n,
                int depth, size_t *count)
{
  size_t i = 0;
  while (i < n) {
    size_t start, end;
    int inq = 0;
    while (i < n && blank(s[i])) i++;
    start = i;
    for (; i < n; i++) {
      if (inq && s[i] == '\\' && i + 1 < n) { i++; continue; }
      if (s[i] == '"') inq = !inq;
      else if (s[i] == ',' && !inq) break;
    }
    if (inq) return fail(c, file, line, "unterminated quote");
    end = i;
    if (i < n) i++; /* the comma */
    while (end > start && blank(s[end - 1])) end--;
    if (end == start) continue;
    ++*count;
    if (s[start] == '"') {
      /* a quoted target: the closing quote must end it */
      size_t j;
      c->tok.len = 0;
      for (j = start + 1; j < end && s[j] != '"'; j++) {
        if (s[j] == '\\' && j + 1 < end) j++;
        if (!sa_append(&c->tok, s[j])) return sysfail(c, file, "out of memory");
      }
      if (j != end - 1) return fail(c, file, line, "text after a quoted target");
      {
        /* target() may reuse tok, so hand it a copy */
        sa_t q = SA_INIT;
        int r;
        if (c->tok.len == 0) return fail(c, file, line, "empty quoted target");
        if (!sa_copy(&q, &c->tok)) return sysfail(c, file, "out of memory");
        r = target(c, file, line, q.s, q.len, depth);
        sa_free(&q);
        if (r) return r;
      }
    } else {
      int r = target(c, file, line, s + start, end - start, depth);
      if (r) return r;
    }
  }
  return 0;
}

/* reads a whole source file, counting it against the total */
static int slurp(struct ctx *c, const char *path, sa_t *out)
{
  int r = read_file(path, out, ALIASES_FILE_MAX);
  if (r == 0) return fail(c, path, 0, "no such file");
  if (r == -1) {
    if (errno == E2BIG) return fail(c, path, 0, "file too large");
    return sysfail(c, path, "unable to read");
  }
  if (out->len > ALIASES_TOTAL_MAX - c->total)
    return fail(c, path, 0, "files too large in total (an include loop?)");
  c->total += out->len;
  if (memchr(out->s, 0, out->len)) {
    unsigned long ln = 1;
    const char *z = memchr(out->s, 0, out->len);
    for (const char *p = out->s; p < z; p++) ln += *p == '\n';
    return fail(c, path, ln, "NUL byte");
  }
  return 0;
}

/* an include file: targets separated by commas and newlines */
static int do_include(struct ctx *c, const char *path, int depth)
{
  sa_t f = SA_INIT;
  size_t i = 0, count = 0;
  unsigned long ln = 0;
  int r = slurp(c, path, &f);
  while (!r && i < f.len) {
    const char *nl = memchr(f.s + i, '\n', f.len - i);
    size_t end = nl ? (size_t)(nl - f.s) : f.len, j = i;
    ++ln;
    while (j < end && blank(f.s[j])) j++;
    if (j < end && f.s[j] != '#') r = list(c, path, ln, f.s + j, end - j, depth, &count);
    i = end + 1;
  }
  sa_free(&f);
  return r;
}

/* the targets of an alias are parsed line by line as they come (so errors
 * name the right line); this adds the finished alias */
static int flush(struct ctx *c, const char *file, unsigned long line, const sa_t *name, size_t count)
{
  int r;
  if (count == 0) return fail(c, file, line, "alias has no targets");
  r = cdb_make_exists(&c->cm, name->s, (unsigned)name->len);
  if (r < 0) return sysfail(c, file, "unable to read back the cdb");
  if (r > 0) return fail(c, file, line, "duplicate alias name");
  if (c->val.len > 0xffffffffu - 4096 ||
      cdb_make_add(&c->cm, name->s, (unsigned)name->len, c->val.s, (unsigned)c->val.len) != 0)
    return sysfail(c, file, "unable to write the cdb");
  c->val.len = 0;
  return 0;
}

int aliases_compile(const char *path, int fd, const char *defhost, aliases_err_t *err)
{
  struct ctx c = {.defhost = defhost, .err = err};
  sa_t f = SA_INIT, name = SA_INIT;
  size_t i = 0, count = 0;
  unsigned long ln = 0, entry = 0;
  int r;
  err->line = 0;
  err->why = "";
  err->temp = 0;
  if (cdb_make_start(&c.cm, fd) != 0) return sysfail(&c, path, "unable to start the cdb");
  r = slurp(&c, path, &f);
  while (!r && i < f.len) {
    const char *nl = memchr(f.s + i, '\n', f.len - i);
    size_t end = nl ? (size_t)(nl - f.s) : f.len, j = i;
    ++ln;
    while (j < end && blank(f.s[j])) j++;
    if (j == end || f.s[j] == '#') {
      /* blank lines and comments are skipped without ending an entry */
    } else if (j > i) {
      if (!entry) r = fail(&c, path, ln, "continuation line without an alias name");
      else r = list(&c, path, ln, f.s + j, end - j, 0, &count);
    } else {
      const char *colon = memchr(f.s + i, ':', end - i);
      size_t k, nlen;
      if (entry) r = flush(&c, path, entry, &name, count);
      if (r) break;
      entry = ln;
      count = 0;
      if (!colon) { r = fail(&c, path, ln, "missing colon after the alias name"); break; }
      nlen = (size_t)(colon - (f.s + i));
      while (nlen && blank(f.s[i + nlen - 1])) nlen--;
      if (nlen == 0) { r = fail(&c, path, ln, "empty alias name"); break; }
      if (nlen > QUEUE_ADDR_MAX) { r = fail(&c, path, ln, "alias name too long"); break; }
      if (!sa_copyb(&name, f.s + i, nlen)) { r = sysfail(&c, path, "out of memory"); break; }
      for (k = 0; k < nlen; k++) {
        char ch = name.s[k];
        if ((unsigned char)ch <= 32 || ch == 127 || strchr("@\"<>,\\", ch)) {
          r = fail(&c, path, ln, "alias name contains a space, control character or one of @\"<>,\\");
          break;
        }
        name.s[k] = lower(ch);
      }
      if (r) break;
      r = list(&c, path, ln, colon + 1, (size_t)(f.s + end - colon - 1), 0, &count);
    }
    i = end + 1;
  }
  if (!r && entry) r = flush(&c, path, entry, &name, count);
  /* finish even after an error: it frees libcdb's tables */
  if (cdb_make_finish(&c.cm) != 0 && !r) r = sysfail(&c, path, "unable to write the cdb");
  sa_free(&f);
  sa_free(&name);
  sa_free(&c.val);
  sa_free(&c.tok);
  return r;
}

void aliases_err_free(aliases_err_t *e) { sa_free(&e->file); }

int aliases_lookup(const char *cdbpath, const char *name, size_t len, sa_t *out)
{
  sa_t k = SA_INIT;
  int r, e;
  if (len == 0) return 0;
  if (!sa_copyb(&k, name, len)) return -1;
  for (size_t i = 0; i < len; i++) k.s[i] = lower(k.s[i]);
  r = cdbx_lookup(cdbpath ? cdbpath : ALIASES_CDB, k.s, k.len, out);
  e = errno;
  sa_free(&k);
  errno = e;
  return r;
}

void aliases_walk_init(aliases_walk_t *w, const char *s, size_t len)
{
  w->s = s;
  w->len = len;
  w->pos = 0;
}

int aliases_walk(aliases_walk_t *w, char *type, const char **text, size_t *tlen)
{
  const char *p, *z;
  if (w->pos >= w->len) return 0;
  p = w->s + w->pos;
  z = memchr(p, 0, w->len - w->pos);
  if (!z || z - p < 2) return -1;
  if (*p != ALIASES_ADDR && *p != ALIASES_PROG && *p != ALIASES_FILE) return -1;
  *type = *p;
  *text = p + 1;
  *tlen = (size_t)(z - p - 1);
  w->pos += (size_t)(z - p) + 1;
  return 1;
}
