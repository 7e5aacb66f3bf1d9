/* envelope_test: record reading/writing, walking, the qmail-queue grammar */
#include "t.h"
#include <errno.h>
#include "buf.h"
#include "envelope.h"
#include "sa.h"

/* a read op serving a fixed string, a few bytes at a time so records
 * straddle refills */
static const char *src;
static size_t srclen, srcpos, chunk;
static ssize_t mem_read(int fd, void *p, size_t n)
{
  (void)fd;
  if (n > chunk) n = chunk;
  if (n > srclen - srcpos) n = srclen - srcpos;
  memcpy(p, src + srcpos, n);
  srcpos += n;
  return (ssize_t)n;
}
static ssize_t fail_read(int fd, void *p, size_t n)
{
  (void)fd; (void)p; (void)n;
  errno = EIO;
  return -1;
}

static sa_t sink = SA_INIT;
static ssize_t mem_write(int fd, void *p, size_t n)
{
  (void)fd;
  if (!sa_catb(&sink, p, n)) return -1;
  return (ssize_t)n;
}

static char space[16];
static buf_t b;
static void feed(const char *s, size_t len, size_t ch)
{
  src = s;
  srclen = len;
  srcpos = 0;
  chunk = ch;
  buf_init(&b, mem_read, 0, space, sizeof space);
}

static void test_get(size_t ch)
{
  static const char in[] = "Fa@b\0Tc@d\0\0Tx";
  sa_t rec = SA_INIT;
  feed(in, sizeof in - 1, ch);
  OK(envelope_get(&b, &rec, 100) == 1, "get: first record");
  EQ_MEM(rec.s, rec.len, "Fa@b", 4, "get: F record without its NUL");
  OK(envelope_get(&b, &rec, 100) == 1, "get: second record");
  EQ_MEM(rec.s, rec.len, "Tc@d", 4, "get: T record");
  OK(envelope_get(&b, &rec, 100) == 1 && rec.len == 0, "get: empty record");
  OK(envelope_get(&b, &rec, 100) == ENV_TRUNC, "get: last bytes without NUL are truncated");
  OK(envelope_get(&b, &rec, 100) == 0, "get: then EOF");
  sa_free(&rec);
}

static void test_limits(void)
{
  char in[64];
  sa_t rec = SA_INIT;
  memset(in, 'x', sizeof in);
  in[0] = 'T';
  in[10] = 0; /* a 10-byte record */
  feed(in, 11, 3);
  OK(envelope_get(&b, &rec, 10) == 1 && rec.len == 10, "limit: exactly max is fine");
  feed(in, 11, 3);
  OK(envelope_get(&b, &rec, 9) == ENV_LONG, "limit: max+1 is ENV_LONG");
  OK(rec.len == 9 && rec.s[0] == 'T', "limit: the prefix is kept");
  feed(in, 11, 64);
  OK(envelope_get(&b, &rec, 9) == ENV_LONG && rec.len == 9, "limit: in one chunk too");
  /* a record with no NUL at all, far longer than the limit */
  feed(in + 11, 40, 7);
  OK(envelope_get(&b, &rec, 20) == ENV_LONG && rec.len == 20, "limit: endless record stops at max");
  feed("", 0, 1);
  OK(envelope_get(&b, &rec, 20) == 0 && rec.len == 0, "empty input is EOF");
  buf_init(&b, fail_read, 0, space, sizeof space);
  OK(envelope_get(&b, &rec, 20) == ENV_ERR && errno == EIO, "read error is ENV_ERR");
  sa_free(&rec);
}

static void test_put(void)
{
  char out[8];
  buf_t w = BUF_INIT(mem_write, 1, out, sizeof out);
  sink.len = 0;
  OK(envelope_put(&w, 'F', "", 0) == 0, "put: empty sender");
  OK(envelope_put(&w, 'T', "someone@example.com", 19) == 0, "put: long address through small buf");
  OK(envelope_put(&w, 'T', "a\0b", 3) == 0, "put: bytes as given");
  OK(buf_flush(&w) == 0, "put: flush");
  EQ_MEM(sink.s, sink.len, "F\0Tsomeone@example.com\0Ta\0b\0", 28, "put: output");
}

static void test_walk(void)
{
  static const char f[] = "u1000\0p42\0Fs@x\0Tr@y\0";
  envelope_walk_t w;
  const char *r;
  size_t n;
  envelope_walk_init(&w, f, sizeof f - 1);
  OK(envelope_walk(&w, &r, &n) == 1 && n == 5 && !memcmp(r, "u1000", 5), "walk: u");
  OK(envelope_walk(&w, &r, &n) == 1 && n == 3 && !memcmp(r, "p42", 3), "walk: p");
  OK(envelope_walk(&w, &r, &n) == 1 && n == 4, "walk: F");
  OK(envelope_walk(&w, &r, &n) == 1 && n == 4 && r[0] == 'T', "walk: T");
  OK(envelope_walk(&w, &r, &n) == 0, "walk: end");
  OK(envelope_walk(&w, &r, &n) == 0, "walk: end stays end");
  envelope_walk_init(&w, "Ta\0Tb", 5);
  OK(envelope_walk(&w, &r, &n) == 1, "walk: record before a cut");
  OK(envelope_walk(&w, &r, &n) == ENV_TRUNC, "walk: cut record");
  OK(envelope_walk(&w, &r, &n) == 0, "walk: then end");
  envelope_walk_init(&w, "", 0);
  OK(envelope_walk(&w, &r, &n) == 0, "walk: empty file");
  envelope_walk_init(&w, "\0", 1);
  OK(envelope_walk(&w, &r, &n) == 1 && n == 0, "walk: empty record");
}

static int qq(const char *const *recs)
{
  envelope_qq_t g = ENV_QQ_INIT;
  int last = ENV_QQ_BAD;
  for (; *recs; recs++) {
    last = envelope_qq_next(&g, *recs, strlen(*recs));
    if (last == ENV_QQ_BAD) break;
  }
  return last;
}

static void test_qq(void)
{
  const char *good[] = {"Fa@b", "Tc@d", "Te@f", "", 0};
  const char *norcpt[] = {"F", "", 0};
  const char *nof[] = {"Tc@d", "", 0};
  const char *twof[] = {"Fa", "Fb", "", 0};
  const char *letter[] = {"Fa", "Xb", "", 0};
  const char *lower[] = {"fa", "", 0};
  const char *empty[] = {"", 0};
  const char *after[] = {"Fa", "", "Tb", 0};
  envelope_qq_t g = ENV_QQ_INIT;
  OK(envelope_qq_next(&g, "F", 1) == ENV_QQ_FROM, "qq: F first");
  OK(envelope_qq_next(&g, "Tx", 2) == ENV_QQ_TO, "qq: then T");
  OK(envelope_qq_next(&g, "", 0) == ENV_QQ_END, "qq: then end");
  OK(qq(good) == ENV_QQ_END, "qq: normal envelope");
  OK(qq(norcpt) == ENV_QQ_END, "qq: no recipients, empty sender");
  OK(qq(nof) == ENV_QQ_BAD, "qq: T without F");
  OK(qq(twof) == ENV_QQ_BAD, "qq: second F");
  OK(qq(letter) == ENV_QQ_BAD, "qq: unknown letter");
  OK(qq(lower) == ENV_QQ_BAD, "qq: lowercase f");
  OK(qq(empty) == ENV_QQ_BAD, "qq: end without F");
  OK(qq(after) == ENV_QQ_BAD, "qq: record after the end");
}

static void test_num(void)
{
  unsigned long u = 7;
  OK(envelope_num("u1000", 5, &u) && u == 1000, "num: u1000");
  OK(envelope_num("p0", 2, &u) && u == 0, "num: p0");
  OK(!envelope_num("u", 1, &u), "num: no digits");
  OK(!envelope_num("u12a", 4, &u), "num: trailing junk");
  OK(!envelope_num("u-1", 3, &u), "num: sign");
  OK(!envelope_num("u99999999999999999999999", 24, &u), "num: overflow");
  OK(!envelope_num("u0000000000000000000000000000000000000000000001", 47, &u), "num: too many digits");
}

static void test_printable(void)
{
  sa_t o = SA_INIT;
  OK(envelope_printable(&o, "a\001b\n\177\200~ z\0", 10), "printable: ok");
  EQ_MEM(o.s, o.len, "a_b___~ z_", 10, "printable: controls, DEL, high bytes, NUL");
  OK(envelope_printable(&o, "<>", 2) && o.len == 12, "printable: appends");
  sa_free(&o);
}

int main(void)
{
  test_get(1);
  test_get(3);
  test_get(100);
  test_limits();
  test_put();
  test_walk();
  test_qq();
  test_num();
  test_printable();
  sa_free(&sink);
  return t_done();
}
