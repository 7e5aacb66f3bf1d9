/* hdr: see hdr.h.  The address parser works in two passes over bounded
 * arrays: a tokenizer (comments are skipped there, with a depth counter,
 * never recursion) and a flat parser over the tokens.  Anything outside
 * the grammar is a syntax error, never a crash: the callers decide whether
 * that is fatal. */
#include "hdr.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- lines */

static bool blank(char c) { return c == ' ' || c == '\t'; }

size_t hdr_name_len(const char *f, size_t n)
{
  const char *c = memchr(f, ':', n);
  size_t j;
  if (!c) return 0;
  j = (size_t)(c - f);
  while (j && blank(f[j - 1])) --j;
  for (size_t i = 0; i < j; i++) {
    unsigned char u = (unsigned char)f[i];
    if (u <= 32 || u >= 127) return 0;
  }
  return j;
}

size_t hdr_value_off(const char *f, size_t n)
{
  const char *c;
  if (!hdr_name_len(f, n)) return 0;
  c = memchr(f, ':', n);
  return (size_t)(c - f) + 1;
}

static int lc(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool hdr_is(const char *f, size_t n, const char *name)
{
  size_t l = hdr_name_len(f, n), k = strlen(name);
  if (!l || l != k) return false;
  for (size_t i = 0; i < l; i++)
    if (lc((unsigned char)f[i]) != lc((unsigned char)name[i])) return false;
  return true;
}

int hdr_line_kind(const char *s, size_t n)
{
  if (!n) return HDR_L_OTHER;
  if (s[0] == '\n' || (s[0] == '\r' && (n == 1 || s[1] == '\n')))
    return HDR_L_BLANK;
  if (blank(s[0])) return HDR_L_CONT;
  if (n >= 5 && !memcmp(s, "From ", 5)) return HDR_L_MBOX;
  /* a prefix without the colon yet would need a name longer than any
   * field may be: so the prefix answer is the whole line's answer */
  if (hdr_name_len(s, n)) return HDR_L_FIELD;
  return HDR_L_OTHER;
}

void hdr_rd_init(hdr_rd_t *r, buf_t *in, size_t max)
{
  r->in = in;
  r->line = (sa_t)SA_INIT;
  r->max = max;
  r->have = 0;
  r->end = 0;
}

void hdr_rd_free(hdr_rd_t *r) { sa_free(&r->line); }

/* 1 line in r->line, 0 EOF, -1 error (E2BIG: r->line holds a prefix) */
static int rd_line(hdr_rd_t *r)
{
  int x;
  r->line.len = 0;
  x = buf_getln(r->in, &r->line, '\n', r->max);
  if (x == -1) return -1;
  if (x == 0 && !r->line.len) return 0;
  return 1;
}

/* appends a line to f, turning its ending into a plain LF */
static int put_line(hdr_rd_t *r, sa_t *f)
{
  const char *s = r->line.s;
  size_t n = r->line.len;
  if (n && s[n - 1] == '\n') --n;
  if (n && s[n - 1] == '\r') --n;
  if (f->len > r->max || n + 1 > r->max - f->len) { errno = E2BIG; return -1; }
  if (!sa_catb(f, s, n) || !sa_append(f, '\n')) return -1;
  return 0;
}

int hdr_rd_next(hdr_rd_t *r, sa_t *f)
{
  int k;
  if (r->end) return 0;
  if (!r->have) {
    int x = rd_line(r);
    if (x == 0) { r->end = HDR_END_EOF; return 0; }
    if (x == -1) {
      if (errno != E2BIG) return -1;
      k = hdr_line_kind(r->line.s, r->line.len);
      if (k == HDR_L_FIELD || k == HDR_L_MBOX) return -1;
      r->have = 1; /* a long line that is no field: the body starts */
      r->end = HDR_END_LINE;
      return 0;
    }
    r->have = 1;
  }
  k = hdr_line_kind(r->line.s, r->line.len);
  if (k == HDR_L_BLANK) { r->have = 0; r->end = HDR_END_BLANK; return 0; }
  if (k != HDR_L_FIELD && k != HDR_L_MBOX) { r->end = HDR_END_LINE; return 0; }
  f->len = 0;
  if (put_line(r, f) == -1) return -1;
  r->have = 0;
  for (;;) {
    int x = rd_line(r);
    if (x == 0) { r->end = HDR_END_EOF; return 1; }
    if (x == -1) {
      if (errno != E2BIG) return -1;
      k = hdr_line_kind(r->line.s, r->line.len);
      if (k != HDR_L_OTHER) { errno = E2BIG; return -1; }
      r->have = 1;
      r->end = HDR_END_LINE;
      return 1;
    }
    r->have = 1;
    if (hdr_line_kind(r->line.s, r->line.len) != HDR_L_CONT) return 1;
    if (put_line(r, f) == -1) return -1;
    r->have = 0;
  }
}

/* ------------------------------------------------------------- tokens */

enum { T_ATOM = 1, T_QSTR, T_LIT, T_SPEC };
typedef struct {
  int type;
  char c;             /* the character of a T_SPEC */
  size_t start, end;  /* bytes of the token, quotes and brackets included */
} tok_t;

static bool atext(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  if (c >= 128) return true; /* UTF-8 (RFC 6532) and other 8-bit text */
  return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != 0;
}

static bool ctl(unsigned char c) { return c < 32 || c == 127; }

/* The scanners below start at the opening character s[i] and return the
 * index just after the closing one, or n + 1 when it never comes.  A
 * backslash quotes the next byte in all three. */
static size_t skip_comment(const char *s, size_t n, size_t i)
{
  size_t depth = 0; /* a counter, not recursion: nesting costs nothing */
  for (; i < n; i++) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '(') ++depth;
    else if (s[i] == ')' && --depth == 0) return i + 1;
  }
  return n + 1;
}

static size_t skip_quoted(const char *s, size_t n, size_t i)
{
  for (++i; i < n; i++) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return n + 1;
}

static size_t skip_literal(const char *s, size_t n, size_t i)
{
  for (++i; i < n; i++) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '[') return n + 1;
    else if (s[i] == ']') return i + 1;
  }
  return n + 1;
}

/* 1 ok, 0 syntax error, -1 ENOMEM */
static int tokenize(const char *s, size_t n, tok_t **tp, size_t *np)
{
  tok_t *t;
  size_t nt = 0, i = 0;
  *tp = 0;
  *np = 0;
  if (!n) return 1;
  /* at most one token per byte */
  t = reallocarray(0, n, sizeof *t);
  if (!t) { errno = ENOMEM; return -1; }
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t j;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { ++i; continue; }
    if (c == '(') {
      j = skip_comment(s, n, i);
      if (j > n) goto bad;
      i = j;
      continue;
    }
    t[nt].start = i;
    t[nt].c = 0;
    if (c == '"') {
      j = skip_quoted(s, n, i);
      if (j > n) goto bad;
      t[nt].type = T_QSTR;
    } else if (c == '[') {
      j = skip_literal(s, n, i);
      if (j > n) goto bad;
      t[nt].type = T_LIT;
    } else if (c && strchr("<>@,;:.", c)) {
      j = i + 1;
      t[nt].type = T_SPEC;
      t[nt].c = (char)c;
    } else if (atext(c)) {
      for (j = i + 1; j < n && atext((unsigned char)s[j]); j++) {}
      t[nt].type = T_ATOM;
    } else
      goto bad;
    t[nt++].end = j;
    i = j;
  }
  *tp = t;
  *np = nt;
  return 1;
bad:
  free(t);
  return 0;
}

static bool is(const tok_t *t, char c) { return t->type == T_SPEC && t->c == c; }
static bool word(const tok_t *t) { return t->type == T_ATOM || t->type == T_QSTR; }

/* appends a token's meaning: quoted strings unquoted (folding removed),
 * literals without folding, atoms and specials as written */
static bool cat_tok(sa_t *out, const char *s, const tok_t *t)
{
  size_t i = t->start, e = t->end;
  if (t->type == T_QSTR) { ++i; --e; }
  for (; i < e; i++) {
    char c = s[i];
    if (t->type == T_QSTR && c == '\\' && i + 1 < e) c = s[++i];
    if (c == '\r' || c == '\n') continue; /* folding, even when quoted */
    if (!sa_append(out, c)) return false;
  }
  return true;
}

/* --------------------------------------------------------- addresses */

static hdr_addr_t *alist_add(hdr_alist_t *l)
{
  hdr_addr_t *a;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap : 8;
    hdr_addr_t *p;
    if (l->cap && __builtin_mul_overflow(l->cap, 2, &cap)) { errno = ENOMEM; return 0; }
    p = reallocarray(l->a, cap, sizeof *p);
    if (!p) { errno = ENOMEM; return 0; }
    memset(p + l->cap, 0, (cap - l->cap) * sizeof *p);
    l->a = p;
    l->cap = cap;
  }
  a = l->a + l->n++;
  /* keep the strings' space for reuse, reset everything else */
  a->local.len = a->domain.len = 0;
  a->has_domain = a->angle = a->null = a->route = a->group = a->changed = false;
  a->comma = false;
  a->start = a->end = 0;
  return a;
}

/* local-part [ "@" domain ] in tokens [a, b).  1 ok, 0 bad, -1 ENOMEM */
static int spec(hdr_addr_t *x, const char *s, const tok_t *t, size_t a, size_t b)
{
  size_t at = b, i;
  for (i = a; i < b; i++)
    if (is(t + i, '@')) { if (at != b) return 0; at = i; }
  if (at == a) return 0; /* no local part */
  for (i = a; i < at; i++) {
    if (!word(t + i) && !is(t + i, '.')) return 0;
    if (i > a && word(t + i) && word(t + i - 1)) return 0; /* "joe bloggs" */
    if (!cat_tok(&x->local, s, t + i)) return -1;
  }
  if (at < b) {
    x->has_domain = true;
    if (at + 2 == b && t[at + 1].type == T_LIT) {
      if (!cat_tok(&x->domain, s, t + at + 1)) return -1;
    } else
      for (i = at + 1; i < b; i++) {
        if (t[i].type != T_ATOM && !is(t + i, '.')) return 0;
        if (!cat_tok(&x->domain, s, t + i)) return -1;
      }
  }
  x->start = t[a].start;
  x->end = t[b - 1].end;
  return 1;
}

/* the obsolete route "@a,@b:" starting at t[i]; index after the colon,
 * or 0 if it is malformed */
static size_t route(const tok_t *t, size_t nt, size_t i)
{
  for (;;) {
    if (i >= nt || !is(t + i, '@')) return 0;
    if (++i >= nt) return 0;
    if (t[i].type == T_LIT) ++i;
    else {
      if (t[i].type != T_ATOM) return 0;
      while (i < nt && (t[i].type == T_ATOM || is(t + i, '.'))) ++i;
    }
    while (i < nt && is(t + i, ',')) ++i;
    if (i < nt && is(t + i, ':')) return i + 1;
  }
}

static int parse(hdr_alist_t *l, const char *s, const tok_t *t, size_t nt)
{
  size_t i = 0;
  bool ingroup = false;
  for (;;) {
    size_t j;
    hdr_addr_t *x;
    int r;
    while (i < nt && is(t + i, ',')) ++i;
    if (i >= nt) return 1; /* an open group ends with the field */
    if (is(t + i, ';')) {
      if (!ingroup) return 0;
      ingroup = false;
      ++i;
      continue;
    }
    for (j = i; j < nt; j++)
      if (is(t + j, ',') || is(t + j, '<') || is(t + j, ':') || is(t + j, ';')) break;
    if (j < nt && is(t + j, ':')) { /* group: phrase ":" */
      if (ingroup) return 0;
      for (size_t k = i; k < j; k++)
        if (!word(t + k) && !is(t + k, '.')) return 0;
      ingroup = true;
      ++l->groups;
      i = j + 1;
      continue;
    }
    if (!(x = alist_add(l))) return -1;
    x->group = ingroup;
    if (j < nt && is(t + j, '<')) { /* [phrase] "<" [route] addr-spec ">" */
      size_t a, e;
      for (size_t k = i; k < j; k++) /* lenient: "a@b <a@b>" is common */
        if (!word(t + k) && !is(t + k, '.') && !is(t + k, '@')) return 0;
      x->angle = true;
      a = j + 1;
      if (a < nt && is(t + a, '@')) {
        if (!(a = route(t, nt, a))) return 0;
        x->route = true;
      }
      for (e = a; e < nt && !is(t + e, '>'); e++) {}
      if (e >= nt) return 0;
      if (e == a) {
        if (x->route) return 0;
        x->null = true;
        x->start = x->end = t[e].start;
      } else {
        if ((r = spec(x, s, t, a, e)) != 1) return r;
        x->start = t[j + 1].start;
      }
      j = e + 1;
    } else { /* bare addresses; a word right after a word starts the next */
      size_t a = i;
      for (size_t k = i + 1; k <= j; k++) {
        if (k < j && !(word(t + k) || t[k].type == T_LIT)) continue;
        if (k < j && !(word(t + k - 1) || t[k - 1].type == T_LIT)) continue;
        if ((r = spec(x, s, t, a, k)) != 1) return r;
        if (k == j) break;
        x->comma = true;
        if (!(x = alist_add(l))) return -1;
        x->group = ingroup;
        a = k;
      }
    }
    if (j < nt && !is(t + j, ',') && !is(t + j, ';')) return 0;
    i = j;
  }
}

int hdr_alist_parse(hdr_alist_t *l, const char *s, size_t n)
{
  tok_t *t;
  size_t nt;
  int r = tokenize(s, n, &t, &nt);
  l->n = 0;
  l->groups = 0;
  if (r != 1) return r;
  r = parse(l, s, t, nt);
  free(t);
  if (r != 1) l->n = 0;
  return r;
}

void hdr_alist_free(hdr_alist_t *l)
{
  for (size_t i = 0; i < l->cap; i++) {
    sa_free(&l->a[i].local);
    sa_free(&l->a[i].domain);
  }
  free(l->a);
  l->a = 0;
  l->n = l->cap = l->groups = 0;
}

void hdr_addr_free(hdr_addr_t *a)
{
  sa_free(&a->local);
  sa_free(&a->domain);
}

int hdr_addr_parse1(hdr_addr_t *out, const char *s, size_t n)
{
  hdr_alist_t l = HDR_ALIST_INIT;
  int r = hdr_alist_parse(&l, s, n);
  if (r == 1 && (l.n != 1 || l.groups)) r = 0;
  if (r == 1) {
    sa_t a = out->local, b = out->domain;
    *out = l.a[0];
    l.a[0].local = a; /* hand the old strings to the list to be freed */
    l.a[0].domain = b;
  }
  hdr_alist_free(&l);
  return r;
}

bool hdr_dotatom(const char *s, size_t n)
{
  if (!n || s[0] == '.' || s[n - 1] == '.') return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '.') { if (i + 1 < n && s[i + 1] == '.') return false; continue; }
    if (!atext((unsigned char)s[i])) return false;
  }
  return true;
}

bool hdr_domain_ok(const char *s, size_t n)
{
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
    for (size_t i = 1; i + 1 < n; i++) {
      unsigned char c = (unsigned char)s[i];
      if (ctl(c) || c == ' ' || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  return hdr_dotatom(s, n);
}

bool hdr_addr_fmt(sa_t *out, const hdr_addr_t *a)
{
  const char *l = a->local.s;
  size_t n = a->local.len;
  if (a->null) return true;
  if (hdr_dotatom(l, n)) {
    if (!sa_catb(out, l, n)) return false;
  } else {
    if (!sa_append(out, '"')) return false;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)l[i];
      if (ctl(c) && c != '\t') { errno = EINVAL; return false; }
      if ((c == '"' || c == '\\') && !sa_append(out, '\\')) return false;
      if (!sa_append(out, (char)c)) return false;
    }
    if (!sa_append(out, '"')) return false;
  }
  if (a->has_domain) {
    for (size_t i = 0; i < a->domain.len; i++)
      if (ctl((unsigned char)a->domain.s[i])) { errno = EINVAL; return false; }
    if (!sa_append(out, '@') || !sa_catb(out, a->domain.s, a->domain.len)) return false;
  }
  return true;
}

bool hdr_addr_env(sa_t *out, const hdr_addr_t *a)
{
  if (!a->null) {
    if ((a->local.len && memchr(a->local.s, 0, a->local.len)) ||
        (a->domain.len && memchr(a->domain.s, 0, a->domain.len))) {
      errno = EINVAL;
      return false;
    }
    if (!sa_catb(out, a->local.s, a->local.len)) return false;
    if (a->has_domain &&
        (!sa_append(out, '@') || !sa_catb(out, a->domain.s, a->domain.len)))
      return false;
  }
  return sa_0(out);
}

bool hdr_alist_render(sa_t *out, const char *s, size_t n, const hdr_alist_t *l,
                      size_t max)
{
  size_t pos = 0, base = out->len;
  for (size_t i = 0; i < l->n; i++) {
    const hdr_addr_t *a = l->a + i;
    if ((!a->changed && !a->comma) || a->start < pos || a->end > n) continue;
    if (!sa_catb(out, s + pos, a->start - pos)) return false;
    if (a->changed ? !hdr_addr_fmt(out, a) : !sa_catb(out, s + a->start, a->end - a->start))
      return false;
    if (a->comma && !sa_append(out, ',')) return false;
    pos = a->end;
    if (out->len - base > max) { errno = E2BIG; return false; }
  }
  if (!sa_catb(out, s + pos, n - pos)) return false;
  if (out->len - base > max) { errno = E2BIG; return false; }
  return true;
}

bool hdr_qualify(hdr_addr_t *a, const hdr_qual_t *q)
{
  sa_t *d = &a->domain;
  if (a->null) return true;
  if (a->has_domain && d->len == 2 && !memcmp(d->s, "[]", 2)) return true;
  if (a->route) { a->route = false; a->changed = true; }
  while (a->has_domain && d->len && d->s[d->len - 1] == '.') {
    --d->len;
    a->changed = true;
  }
  if (a->has_domain && !d->len) { a->has_domain = false; a->changed = true; }
  if (!a->has_domain) {
    if (!q->defaulthost || !*q->defaulthost) return true;
    if (!sa_copys(d, q->defaulthost)) return false;
    a->has_domain = true;
    a->changed = true;
  }
  if (d->len && d->s[0] == '[') return true;
  if (d->s[d->len - 1] == '+') {
    --d->len;
    a->changed = true;
    if (q->plusdomain && *q->plusdomain) {
      if (d->len && !sa_append(d, '.')) return false;
      if (!sa_cats(d, q->plusdomain)) return false;
    }
    if (!d->len) a->has_domain = false;
  } else if (!memchr(d->s, '.', d->len) && q->defaultdomain && *q->defaultdomain) {
    if (!sa_append(d, '.') || !sa_cats(d, q->defaultdomain)) return false;
    a->changed = true;
  }
  return true;
}
