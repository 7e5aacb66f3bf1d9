/* hdr_test: header splitting, address lists, qualification, garbage. */
#include "t.h"
#include <errno.h>
#include <stdint.h>
#include "hdr.h"

/* ---- a buf_t reading from memory, in small random-ish chunks so that
 * line joining across reads is exercised */
static const char *mem_s;
static size_t mem_n, mem_pos, mem_chunk;

static ssize_t mem_op(int fd, void *p, size_t n)
{
  size_t k = mem_n - mem_pos;
  (void)fd;
  if (k > n) k = n;
  if (mem_chunk && k > mem_chunk) k = mem_chunk;
  memcpy(p, mem_s + mem_pos, k);
  mem_pos += k;
  return (ssize_t)k;
}

static char space[64];

/* test names must stay on one TAP line */
static const char *tname(char *name)
{
  for (char *p = name; *p; p++)
    if ((unsigned char)*p < 32) *p = '~';
  return name;
}
static buf_t memb;

static void mem_set(const char *s, size_t n, size_t chunk)
{
  mem_s = s;
  mem_n = n;
  mem_pos = 0;
  mem_chunk = chunk;
  buf_init(&memb, mem_op, 0, space, sizeof space);
}

/* splits s, returns fields joined by "|" then "#end" and the rest of the
 * input (the first body line and whatever follows) */
static const char *split(const char *s, size_t chunk, size_t max)
{
  static sa_t out = SA_INIT;
  sa_t f = SA_INIT;
  hdr_rd_t r;
  int x;
  out.len = 0;
  mem_set(s, strlen(s), chunk);
  hdr_rd_init(&r, &memb, max);
  while ((x = hdr_rd_next(&r, &f)) == 1) {
    sa_catb(&out, f.s, f.len);
    sa_cats(&out, "|");
  }
  if (x == -1) {
    sa_cats(&out, errno == E2BIG ? "#E2BIG" : "#error");
  } else {
    sa_cats(&out, r.end == HDR_END_EOF ? "#eof" : r.end == HDR_END_BLANK ? "#blank" : "#line:");
    if (r.end == HDR_END_LINE) sa_catb(&out, r.line.s, r.line.len);
    for (;;) {
      char c;
      if (buf_get(&memb, &c, 1) != 1) break;
      sa_append(&out, c);
    }
  }
  sa_0(&out);
  hdr_rd_free(&r);
  sa_free(&f);
  return out.s;
}

static void test_split(void)
{
  static const struct { const char *in, *want; } c[] = {
    {"", "#eof"},
    {"\n", "#blank"},
    {"\r\nbody\n", "#blankbody\n"},
    {"To: a\n\nbody\n", "To: a\n|#blankbody\n"},
    {"To: a\r\nCc: b\r\n\r\nx", "To: a\n|Cc: b\n|#blankx"},
    {"To: a,\n b,\n\tc\nSubject: s\n\n", "To: a,\n b,\n\tc\n|Subject: s\n|#blank"},
    {"To: a", "To: a\n|#eof"},
    {"To: a\n", "To: a\n|#eof"},
    {"To: a\n folded", "To: a\n folded\n|#eof"},
    {"To: a\nno field here\nmore\n", "To: a\n|#line:no field here\nmore\n"},
    {" leading blank\n", "#line: leading blank\n"},
    {"From joe Mon Jan  1 00:00:00 2024\nTo: a\n\n",
     "From joe Mon Jan  1 00:00:00 2024\n|To: a\n|#blank"},
    {"X-Odd-Name!  : v\n\n", "X-Odd-Name!  : v\n|#blank"},
    {"Bad Name: v\n", "#line:Bad Name: v\n"},
    {": empty name\n", "#line:: empty name\n"},
    {"A:\n:\n", "A:\n|#line::\n"},
    {"X: a\0b\n\nc\0d", "X: a"}, /* NUL: strlen stops; checked below */
  };
  for (size_t i = 0; i < sizeof c / sizeof *c; i++)
    for (size_t chunk = 0; chunk < 4; chunk++) {
      char name[128];
      snprintf(name, sizeof name, "split %zu chunk %zu", i, chunk);
      if (i == sizeof c / sizeof *c - 1) continue;
      EQ_STR(split(c[i].in, chunk, 1000), c[i].want, name);
    }
}

static void test_split_nul(void)
{
  static const char in[] = "X: a\0b\n\nc\0d";
  sa_t f = SA_INIT;
  hdr_rd_t r;
  char rest[16];
  ssize_t k;
  mem_set(in, sizeof in - 1, 3);
  hdr_rd_init(&r, &memb, 1000);
  OK(hdr_rd_next(&r, &f) == 1, "NUL in field: read");
  EQ_MEM(f.s, f.len, "X: a\0b\n", 7, "NUL in field kept");
  OK(hdr_rd_next(&r, &f) == 0 && r.end == HDR_END_BLANK, "NUL: blank end");
  k = buf_get(&memb, rest, sizeof rest);
  OK(k >= 1, "NUL: body readable");
  hdr_rd_free(&r);
  sa_free(&f);
}

static void test_split_limits(void)
{
  sa_t big = SA_INIT;
  const char *got;
  /* a field over the limit: error */
  sa_cats(&big, "Subject: ");
  for (int i = 0; i < 5000; i++) sa_append(&big, 'x');
  sa_cats(&big, "\n\nbody\n");
  got = split(big.s, 0, 1000);
  EQ_STR(got, "#E2BIG", "long field: E2BIG");
  /* continuation lines summing past the limit */
  big.len = 0;
  sa_cats(&big, "To: a\n");
  for (int i = 0; i < 200; i++) sa_cats(&big, " bbbbbbbbbb\n");
  sa_cats(&big, "\n");
  EQ_STR(split(big.s, 7, 1000), "#E2BIG", "long folded field: E2BIG");
  /* exactly at the limit is fine */
  big.len = 0;
  sa_cats(&big, "S: ");
  for (int i = 0; i < 996; i++) sa_append(&big, 'y');
  sa_cats(&big, "\n\n");
  got = split(big.s, 0, 1000);
  OK(strlen(got) == 1000 + 1 + 6 && !strcmp(got + 1001, "#blank"), "field of max bytes ok");
  /* a long line that is no field ends the header; its bytes survive */
  big.len = 0;
  sa_cats(&big, "To: a\n");
  for (int i = 0; i < 5000; i++) sa_append(&big, 'z');
  sa_cats(&big, "\nend\n");
  got = split(big.s, 5, 1000);
  OK(!strncmp(got, "To: a\n|#line:zzz", 16) && strlen(got) == 6 + 1 + 6 + 5000 + 5,
     "long body line after header kept whole");
  /* the same as the very first line */
  got = split(big.s + 6, 0, 1000);
  OK(!strncmp(got, "#line:zz", 8) && strlen(got) == 6 + 5000 + 5, "long first line is body");
  /* a long continuation after a good field is an error */
  big.len = 0;
  sa_cats(&big, "To: a\n ");
  for (int i = 0; i < 5000; i++) sa_append(&big, 'c');
  sa_cats(&big, "\n");
  EQ_STR(split(big.s, 0, 1000), "#E2BIG", "long continuation: E2BIG");
  sa_free(&big);
}

static void test_names(void)
{
  OK(hdr_is("To: x", 5, "to"), "hdr_is to");
  OK(hdr_is("tO  :x", 6, "To"), "hdr_is blanks before colon");
  OK(!hdr_is("Tox: x", 6, "to"), "hdr_is longer name");
  OK(!hdr_is("T: x", 4, "to"), "hdr_is shorter name");
  OK(!hdr_is("To x: y", 7, "to"), "hdr_is space inside name");
  OK(hdr_is("Resent-Cc:", 10, "resent-cc"), "hdr_is resent");
  OK(hdr_value_off("To: x", 5) == 3, "value offset");
  OK(hdr_value_off("To x", 4) == 0, "no colon: no value");
  OK(hdr_name_len("\x7f:", 2) == 0, "DEL not in name");
  OK(hdr_line_kind("\r", 1) == HDR_L_BLANK, "lone CR at EOF is blank");
  OK(hdr_line_kind("\tx", 2) == HDR_L_CONT, "tab continues");
}

/* parses, returns "env1 env2 ...;groups=N" or "ERR" / "NOMEM" */
static const char *alist(const char *in)
{
  static sa_t out = SA_INIT;
  hdr_alist_t l = HDR_ALIST_INIT;
  int r = hdr_alist_parse(&l, in, strlen(in));
  out.len = 0;
  if (r == 0) sa_cats(&out, "ERR");
  else if (r == -1) sa_cats(&out, "NOMEM");
  else {
    for (size_t i = 0; i < l.n; i++) {
      if (i) sa_append(&out, ' ');
      if (l.a[i].null) sa_cats(&out, "<>");
      else {
        size_t at = out.len;
        hdr_addr_env(&out, l.a + i);
        --out.len; /* the NUL */
        (void)at;
      }
      if (l.a[i].group) sa_append(&out, 'G');
      if (l.a[i].route) sa_append(&out, 'R');
    }
    sa_cats(&out, ";");
    sa_catulong(&out, l.groups);
  }
  sa_0(&out);
  hdr_alist_free(&l);
  return out.s;
}

static void test_alist(void)
{
  static const struct { const char *in, *want; } c[] = {
    {"", ";0"},
    {"   ", ";0"},
    {" a@b.c", "a@b.c;0"},
    {" a@b.c, d@e", "a@b.c d@e;0"},
    {" joe", "joe;0"},
    {" joe (Joe Bloggs)", "joe;0"},
    {" Joe Bloggs <joe@x.y>", "joe@x.y;0"},
    {" \"Bloggs, Joe\" <joe@x.y>, ann@z", "joe@x.y ann@z;0"},
    {" \"joe bloggs\"@x.y", "joe bloggs@x.y;0"},
    {" \"a\\\"b\"@x", "a\"b@x;0"},
    {" <joe@x.y>", "joe@x.y;0"},
    {" <>", "<>;0"},
    {" <@r1,@r2:joe@x.y>", "joe@x.yR;0"},
    {" <@r1:joe@x.y>", "joe@x.yR;0"},
    {" <@r1,,@r2:joe@x.y>", "joe@x.yR;0"},
    {" undisclosed-recipients:;", ";1"},
    {" undisclosed-recipients: ;", ";1"},
    {" friends: a@b, c@d;, e@f", "a@bG c@dG e@f;1"},
    {" friends: a@b, Joe <c@d>;", "a@bG c@dG;1"},
    {" g1:;, g2: x;", "xG;2"},
    {" open group: a@b", "a@bG;1"},
    {" a@[1.2.3.4]", "a@[1.2.3.4];0"},
    {" a@b.c,,, d@e,", "a@b.c d@e;0"},
    {" joe . bloggs @ x . y", "joe.bloggs@x.y;0"},
    {" a(c1)@(c2)b(c3).c", "a@b.c;0"},
    {" (only a comment)", ";0"},
    {" J. Random <jr@x>", "jr@x;0"},
    {" jr@x <jr@x>", "jr@x;0"},
    {" =?UTF-8?Q?J=C3=B6rg?= <j@x>", "j@x;0"},
    {" J\xc3\xb6rg <j\xc3\xb6@x>", "j\xc3\xb6@x;0"},
    {" user@", "user@;0"},
    {" a@b.c,\n d@e.f", "a@b.c d@e.f;0"},
    {" \"fold\n ed\"@x", "fold ed@x;0"},
    {" (nested (comment) here) a@b", "a@b;0"},
    {" a@b (tail comment)", "a@b;0"},
    {" a@b.", "a@b.;0"},
    {" a..b@c", "a..b@c;0"},
    /* errors */
    {" joe bloggs", "joe bloggs;0"}, /* qmail: a missing comma is inserted */
    {" a@b.c d@e \"x y\"@f g@[1.2.3.4] h", "a@b.c d@e x y@f g@[1.2.3.4] h;0"},
    {" l: a b;", "aG bG;1"},
    {" <joe bloggs@x>", "ERR"},
    {" a b@c@d", "ERR"},
    {" a@b@c", "ERR"},
    {" <a@b", "ERR"},
    {" a@b>", "ERR"},
    {" \"unterminated@x", "ERR"},
    {" (unterminated a@b", "ERR"},
    {" a@[1.2", "ERR"},
    {" a@[1[2]", "ERR"},
    {" a@b;", "ERR"},
    {" g1: g2: a;;", "ERR"},
    {" <@r1>", "ERR"},
    {" <@:a@b>", "ERR"},
    {" @b", "ERR"},
    {" a\\b@c", "ERR"},
    {" a@b <c@d>", "c@d;0"}, /* lenient: the phrase holds an address */
    {" <a@b> trailing", "ERR"},
    {" a@b\x01", "ERR"},
    {" a@b)", "ERR"},
    {" a]@b", "ERR"},
    {" a@\"q\"", "ERR"},
    {" <<a@b>>", "ERR"},
  };
  for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
    char name[160];
    snprintf(name, sizeof name, "alist %zu: %.60s", i, c[i].in);
    EQ_STR(alist(c[i].in), c[i].want, tname(name));
  }
}

static const hdr_qual_t q = {"dhost", "ddom.example", "pdom.example"};

/* qualifies every address; returns the rendered value then " => " and the
 * envelope forms */
static const char *qual(const char *in, const hdr_qual_t *qq)
{
  static sa_t out = SA_INIT;
  hdr_alist_t l = HDR_ALIST_INIT;
  int r = hdr_alist_parse(&l, in, strlen(in));
  out.len = 0;
  if (r != 1) { sa_cats(&out, "ERR"); goto done; }
  for (size_t i = 0; i < l.n; i++) hdr_qualify(l.a + i, qq);
  if (!hdr_alist_render(&out, in, strlen(in), &l, 10000)) { sa_cats(&out, "RENDERERR"); goto done; }
  sa_cats(&out, " =>");
  for (size_t i = 0; i < l.n; i++) {
    sa_append(&out, ' ');
    hdr_addr_env(&out, l.a + i);
    --out.len;
  }
done:
  sa_0(&out);
  hdr_alist_free(&l);
  return out.s;
}

static void test_qualify(void)
{
  static const struct { const char *in, *want; } c[] = {
    {" joe", " joe@dhost.ddom.example => joe@dhost.ddom.example"},
    {" joe@host", " joe@host.ddom.example => joe@host.ddom.example"},
    {" joe@host.org", " joe@host.org => joe@host.org"},
    {" joe@host+", " joe@host.pdom.example => joe@host.pdom.example"},
    {" joe@a.b+", " joe@a.b.pdom.example => joe@a.b.pdom.example"},
    {" joe@[1.2.3.4]", " joe@[1.2.3.4] => joe@[1.2.3.4]"},
    {" joe@[]", " joe@[] => joe@[]"},
    {" <>", " <> => "},
    {" joe@host.org.", " joe@host.org => joe@host.org"},
    {" joe@", " joe@dhost.ddom.example => joe@dhost.ddom.example"},
    {" Joe Bloggs <joe>, (c) ann (Ann)", " Joe Bloggs <joe@dhost.ddom.example>, (c) ann@dhost.ddom.example (Ann)"
     " => joe@dhost.ddom.example ann@dhost.ddom.example"},
    {" <@r1,@r2:joe@x.org>", " <joe@x.org> => joe@x.org"},
    {" \"a b\"", " \"a b\"@dhost.ddom.example => a b@dhost.ddom.example"},
    {" \"ab\"@x.org", " \"ab\"@x.org => ab@x.org"},
    {" a@x.org,\n\tb", " a@x.org,\n\tb@dhost.ddom.example => a@x.org b@dhost.ddom.example"},
    {" list: a, b@c.d;", " list: a@dhost.ddom.example, b@c.d; => a@dhost.ddom.example b@c.d"},
    {" undisclosed-recipients:;", " undisclosed-recipients:; =>"},
    {" x . y @ h . org", " x . y @ h . org => x.y@h.org"},
    {" x . y @ h", " x.y@h.ddom.example => x.y@h.ddom.example"},
    {" joe fred@x.org  (c) ann", " joe@dhost.ddom.example, fred@x.org,  (c) ann@dhost.ddom.example"
     " => joe@dhost.ddom.example fred@x.org ann@dhost.ddom.example"},
  };
  for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
    char name[160];
    snprintf(name, sizeof name, "qualify %zu: %.60s", i, c[i].in);
    EQ_STR(qual(c[i].in, &q), c[i].want, tname(name));
  }
  {
    hdr_qual_t plusdh = {"me+", "dd", "pd.org"};
    EQ_STR(qual(" joe", &plusdh), " joe@me.pd.org => joe@me.pd.org", "defaulthost ending in +");
    hdr_qual_t nodot = {"me", "dd.org", "pd"};
    EQ_STR(qual(" joe", &nodot), " joe@me.dd.org => joe@me.dd.org", "defaulthost without dot");
    hdr_qual_t empty = {"", "", ""};
    EQ_STR(qual(" joe, a@b+", &empty), " joe, a@b => joe a@b", "empty settings change little");
    EQ_STR(qual(" a@+", &empty), " a => a", "lone plus with empty plusdomain");
  }
}

static void test_fmt(void)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  sa_t out = SA_INIT;
  sa_copys(&a.local, "a\"b\\c");
  sa_copys(&a.domain, "x.org");
  a.has_domain = true;
  OK(hdr_addr_fmt(&out, &a), "fmt quoted ok");
  EQ_MEM(out.s, out.len, "\"a\\\"b\\\\c\"@x.org", 15, "fmt escapes quote and backslash");
  out.len = 0;
  sa_copyb(&a.local, "a\nb", 3);
  errno = 0;
  OK(!hdr_addr_fmt(&out, &a) && errno == EINVAL, "fmt refuses LF");
  out.len = 0;
  sa_copyb(&a.local, "a\0b", 3);
  OK(!hdr_addr_env(&out, &a) && errno == EINVAL, "env refuses NUL");
  out.len = 0;
  sa_copys(&a.local, "");
  OK(hdr_addr_fmt(&out, &a), "fmt empty local");
  EQ_MEM(out.s, out.len, "\"\"@x.org", 8, "empty local is quoted");
  OK(hdr_dotatom("a.b", 3) && !hdr_dotatom("a..b", 4) && !hdr_dotatom(".a", 2) &&
     !hdr_dotatom("a.", 2) && !hdr_dotatom("", 0) && !hdr_dotatom("a b", 3), "dotatom");
  OK(hdr_domain_ok("x.org", 5) && hdr_domain_ok("[1.2.3.4]", 9) &&
     !hdr_domain_ok("x org", 5) && !hdr_domain_ok("[a b]", 5) && !hdr_domain_ok("x>", 2),
     "domain_ok");
  hdr_addr_free(&a);
  sa_free(&out);
}

static void test_parse1(void)
{
  hdr_addr_t a = HDR_ADDR_INIT;
  OK(hdr_addr_parse1(&a, "joe@x", 5) == 1 && !strcmp(a.local.s, "joe"), "parse1 simple");
  OK(hdr_addr_parse1(&a, "<>", 2) == 1 && a.null, "parse1 null");
  OK(hdr_addr_parse1(&a, "a, b", 4) == 0, "parse1 two addresses");
  OK(hdr_addr_parse1(&a, "g: a;", 5) == 0, "parse1 group");
  OK(hdr_addr_parse1(&a, "", 0) == 0, "parse1 empty");
  hdr_addr_free(&a);
}

static void test_render_max(void)
{
  sa_t in = SA_INIT, out = SA_INIT;
  hdr_alist_t l = HDR_ALIST_INIT;
  /* 20000 one-letter addresses each growing by 25 bytes */
  for (int i = 0; i < 20000; i++) sa_cats(&in, i ? ",a" : "a");
  OK(hdr_alist_parse(&l, in.s, in.len) == 1 && l.n == 20000, "20000 addresses parsed");
  for (size_t i = 0; i < l.n; i++) hdr_qualify(l.a + i, &q);
  errno = 0;
  OK(!hdr_alist_render(&out, in.s, in.len, &l, 100000) && errno == E2BIG, "render stops at max");
  OK(out.len <= 100000 + 1000, "render output bounded");
  out.len = 0;
  OK(hdr_alist_render(&out, in.s, in.len, &l, 1000000), "render with room");
  /* reuse of the list keeps working */
  OK(hdr_alist_parse(&l, "x@y", 3) == 1 && l.n == 1 && !strcmp(l.a[0].domain.s, "y"), "list reuse");
  hdr_alist_free(&l);
  sa_free(&in);
  sa_free(&out);
}

/* deep nesting and long inputs: bounded time, no recursion */
static void test_deep(void)
{
  sa_t in = SA_INIT;
  hdr_alist_t l = HDR_ALIST_INIT;
  for (int i = 0; i < 200000; i++) sa_append(&in, '(');
  sa_cats(&in, "a@b");
  OK(hdr_alist_parse(&l, in.s, in.len) == 0, "200000 open comments: error");
  for (int i = 0; i < 200000; i++) sa_append(&in, ')');
  OK(hdr_alist_parse(&l, in.s, in.len) == 1 && l.n == 0, "balanced deep comment: empty list");
  in.len = 0;
  for (int i = 0; i < 500000; i++) sa_cats(&in, "\"\\");
  OK(hdr_alist_parse(&l, in.s, in.len) == 0, "backslash soup: error");
  hdr_alist_free(&l);
  sa_free(&in);
}

/* random garbage must never crash (the sanitizer build checks bounds) */
static void test_garbage(void)
{
  static const char alphabet[] = "ab@.,;:<>()\"\\[] \t\r\n\0\x80\xff=";
  uint32_t seed = 12345;
  hdr_alist_t l = HDR_ALIST_INIT;
  sa_t out = SA_INIT, f = SA_INIT;
  char s[64];
  int oks = 0;
  for (int round = 0; round < 200000; round++) {
    size_t n;
    seed = seed * 1103515245u + 12345u;
    n = (seed >> 16) % sizeof s;
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      s[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    if (hdr_alist_parse(&l, s, n) == 1) {
      ++oks;
      for (size_t i = 0; i < l.n; i++) {
        if (l.a[i].start > l.a[i].end || l.a[i].end > n) { OK(0, "span inside input"); goto out; }
        hdr_qualify(l.a + i, &q);
      }
      out.len = 0;
      (void)hdr_alist_render(&out, s, n, &l, 1000000);
    }
    if (round % 100 == 0) { /* and the splitter */
      hdr_rd_t r;
      mem_set(s, n, 1 + round % 5);
      hdr_rd_init(&r, &memb, 16);
      while (hdr_rd_next(&r, &f) == 1) {}
      hdr_rd_free(&r);
    }
  }
  OK(oks > 100, "garbage: some parse, none crash");
out:
  hdr_alist_free(&l);
  sa_free(&out);
  sa_free(&f);
}

int main(void)
{
  test_split();
  test_split_nul();
  test_split_limits();
  test_names();
  test_alist();
  test_qualify();
  test_fmt();
  test_parse1();
  test_render_max();
  test_deep();
  test_garbage();
  return t_done();
}
