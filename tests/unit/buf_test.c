/* buf: reading through pipes with tiny buffers, getln and its max limit,
 * writes bigger than the buffer, flush errors. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include "buf.h"
#include "t.h"

/* a pipe holding s, write end closed: reads see s then EOF */
static int pipe_with(const char *s, size_t n)
{
  int p[2];
  if (pipe(p) == -1 || n > 65536 || write(p[1], s, n) != (ssize_t)n) t_bail("pipe");
  close(p[1]);
  return p[0];
}

/* an op that hands out one byte per call: the slowest possible peer */
static ssize_t dribble(int fd, void *p, size_t n) { return buf_read_op(fd, p, n ? 1 : 0); }

/* an op that fails the way a dead peer does */
static ssize_t broken(int fd, void *p, size_t n) { errno = EIO; return -1; }
static ssize_t zero(int fd, void *p, size_t n) { return 0; }

/* reads all lines with a given buffer size and op; joins them with '|' */
static int lines(const char *in, size_t bufsize, buf_op op, char *out, size_t outsize)
{
  char space[64];
  buf_t b;
  sa_t l = SA_INIT;
  int fd = pipe_with(in, strlen(in)), r;
  size_t o = 0;
  buf_init(&b, op, fd, space, bufsize);
  for (;;) {
    l.len = 0;
    r = buf_getln(&b, &l, '\n', 1000);
    if (o + l.len + 2 > outsize) t_bail("lines");
    if (l.len) memcpy(out + o, l.s, l.len);
    o += l.len;
    out[o++] = r == 1 ? '|' : r == 0 ? '$' : '!';
    if (r != 1) break;
  }
  out[o] = 0;
  close(fd);
  sa_free(&l);
  return r;
}

static void test_getln(void)
{
  static const struct {
    const char *in, *want;
  } t[] = {
    {"", "$"},
    {"\n", "\n|$"},
    {"a\nbc\n", "a\n|bc\n|$"},
    {"a\nbc", "a\n|bc$"},          /* no final separator: 0 with the partial line */
    {"no newline at all", "no newline at all$"},
    {"\n\n", "\n|\n|$"},
    {"x\r\ny\r\n", "x\r\n|y\r\n|$"},
    {"0123456789abcdefghij\nk\n", "0123456789abcdefghij\n|k\n|$"},
  };
  static const size_t sizes[] = {1, 2, 3, 7, 64};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
      for (int d = 0; d < 2; d++) {
        char out[256], name[128];
        lines(t[i].in, sizes[k], d ? dribble : buf_read_op, out, sizeof out);
        snprintf(name, sizeof name, "getln case %zu, buffer %zu%s", i, sizes[k], d ? ", dribbling" : "");
        EQ_STR(out, t[i].want, name);
      }

  /* a different separator: NUL, as in envelopes */
  {
    char space[4];
    buf_t b;
    sa_t l = SA_INIT;
    int fd = pipe_with("Fa@b\0Tc@d\0\0", 11);
    buf_init(&b, buf_read_op, fd, space, sizeof space);
    OK(buf_getln(&b, &l, 0, 100) == 1 && l.len == 5 && memcmp(l.s, "Fa@b", 5) == 0, "NUL sep 1");
    l.len = 0;
    OK(buf_getln(&b, &l, 0, 100) == 1 && l.len == 5 && memcmp(l.s, "Tc@d", 5) == 0, "NUL sep 2");
    l.len = 0;
    OK(buf_getln(&b, &l, 0, 100) == 1 && l.len == 1, "NUL sep: empty record");
    l.len = 0;
    OK(buf_getln(&b, &l, 0, 100) == 0 && l.len == 0, "NUL sep: EOF");
    close(fd);
    sa_free(&l);
  }
}

/* max counts the separator; over the limit: -1 E2BIG with max bytes kept
 * and the rest still readable */
static void test_getln_max(void)
{
  static const struct {
    const char *in;
    size_t max;
    int r;
    const char *got;  /* line after the call */
    const char *rest; /* what a second getln then returns */
  } t[] = {
    {"123456789\n", 10, 1, "123456789\n", ""},      /* 10 with separator: at the limit */
    {"12345678\n", 10, 1, "12345678\n", ""},        /* just under */
    {"1234567890\n", 10, -1, "1234567890", "\n"},   /* just over: 11 */
    {"1234567890abc\nX\n", 10, -1, "1234567890", "abc\n"},
    {"1234567890", 10, 0, "1234567890", ""},        /* at the limit, then EOF */
    {"12345678901", 10, -1, "1234567890", "1"},     /* over, no separator */
    {"\n", 1, 1, "\n", ""},
    {"a\n", 1, -1, "a", "\n"},
    {"a\n", 0, -1, "", "a\n"},
  };
  static const size_t sizes[] = {1, 3, 10, 11, 64};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
      char space[64], name[128];
      buf_t b;
      sa_t l = SA_INIT;
      int fd = pipe_with(t[i].in, strlen(t[i].in)), r;
      buf_init(&b, buf_read_op, fd, space, sizes[k]);
      errno = 0;
      r = buf_getln(&b, &l, '\n', t[i].max);
      snprintf(name, sizeof name, "getln max case %zu (max %zu), buffer %zu", i, t[i].max, sizes[k]);
      OK(r == t[i].r && (r != -1 || errno == E2BIG) && l.len == strlen(t[i].got) &&
         memcmp(l.s ? l.s : "", t[i].got, l.len) == 0, name);
      l.len = 0;
      buf_getln(&b, &l, '\n', 100);
      OK(l.len == strlen(t[i].rest) && (!l.len || memcmp(l.s, t[i].rest, l.len) == 0),
         "  the rest is still there");
      close(fd);
      sa_free(&l);
    }

  /* a line already longer than max fails at once and is left alone */
  {
    char space[8];
    buf_t b;
    sa_t l = SA_INIT;
    int fd = pipe_with("x\n", 2);
    buf_init(&b, buf_read_op, fd, space, sizeof space);
    sa_copys(&l, "0123456789");
    OK(buf_getln(&b, &l, '\n', 5) == -1 && errno == E2BIG && l.len == 10, "line over max before the call");
    close(fd);
    sa_free(&l);
  }
}

static void test_get(void)
{
  char space[4], out[32];
  buf_t b;
  int fd = pipe_with("abcdefghij", 10);
  buf_init(&b, buf_read_op, fd, space, sizeof space);
  OK(buf_get(&b, out, 0) == 0, "get 0 bytes");
  OK(buf_get(&b, out, 2) == 2 && memcmp(out, "ab", 2) == 0, "get 2 (buffered)");
  OK(buf_get(&b, out, 10) == 2 && memcmp(out, "cd", 2) == 0, "get drains the buffer first");
  OK(buf_get(&b, out, 10) == 6 && memcmp(out, "efghij", 6) == 0, "get big reads directly");
  OK(buf_get(&b, out, 10) == 0, "get at EOF");
  close(fd);

  buf_init(&b, broken, 0, space, sizeof space);
  errno = 0;
  OK(buf_get(&b, out, 1) == -1 && errno == EIO, "get read error");
  OK(buf_feed(&b) == -1, "feed read error");
  {
    sa_t l = SA_INIT;
    OK(buf_getln(&b, &l, '\n', 10) == -1 && errno == EIO, "getln read error");
    sa_free(&l);
  }
}

/* reads everything from fd into out */
static size_t drain(int fd, char *out, size_t n)
{
  size_t got = 0;
  ssize_t r;
  while (got < n && (r = read(fd, out + got, n - got)) > 0) got += (size_t)r;
  return got;
}

static void test_put(void)
{
  char space[8], big[5000], back[6000];
  int p[2];
  buf_t b;
  size_t want = 0;
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('A' + i % 23);
  if (pipe(p) == -1) t_bail("pipe");
  buf_init(&b, buf_write_op, p[1], space, sizeof space);
  OK(buf_puts(&b, "abc") == 0 && b.len == 3, "small put is buffered");
  OK(buf_put(&b, "defgh", 5) == 0 && b.len == 8, "put fills the buffer exactly");
  OK(buf_put(&b, "i", 1) == 0 && b.len == 1, "one more flushes first");
  OK(buf_put(&b, big, sizeof big) == 0 && b.len == 0, "put larger than the buffer goes direct");
  OK(buf_putulong(&b, 1234567) == 0, "putulong");
  OK(buf_putflush(&b, "!") == 0 && b.len == 0, "putflush empties");
  OK(buf_flush(&b) == 0, "flush of nothing");
  close(p[1]);
  want = 9 + sizeof big + 8;
  {
    size_t got = drain(p[0], back, sizeof back);
    OK(got == want && memcmp(back, "abcdefghi", 9) == 0 && memcmp(back + 9, big, sizeof big) == 0 &&
       memcmp(back + 9 + sizeof big, "1234567!", 8) == 0, "bytes arrive in order");
  }
  close(p[0]);

  /* buf_copy through two tiny buffers */
  {
    char s1[3], s2[5];
    buf_t in, out;
    int q[2], fd = pipe_with(big, 3000);
    if (pipe(q) == -1) t_bail("pipe");
    buf_init(&in, buf_read_op, fd, s1, sizeof s1);
    buf_init(&out, buf_write_op, q[1], s2, sizeof s2);
    OK(buf_copy(&out, &in) == 0 && buf_flush(&out) == 0, "copy");
    close(q[1]);
    OK(drain(q[0], back, sizeof back) == 3000 && memcmp(back, big, 3000) == 0, "copy is exact");
    close(q[0]);
    close(fd);
    buf_init(&in, broken, 0, s1, sizeof s1);
    OK(buf_copy(&out, &in) == -2, "copy: read error is -2");
    fd = pipe_with("abcdefgh", 8);
    buf_init(&in, buf_read_op, fd, s1, sizeof s1);
    buf_init(&out, broken, 1, s2, sizeof s2);
    OK(buf_copy(&out, &in) == -3, "copy: write error is -3");
    close(fd);
  }
}

static void test_flush_errors(void)
{
  char space[16];
  buf_t b;
  int p[2];
  signal(SIGPIPE, SIG_IGN);
  if (pipe(p) == -1) t_bail("pipe");
  close(p[0]);
  buf_init(&b, buf_write_op, p[1], space, sizeof space);
  OK(buf_puts(&b, "hello") == 0, "buffered write to a dead pipe succeeds");
  errno = 0;
  OK(buf_flush(&b) == -1 && errno == EPIPE, "flush to a dead pipe: EPIPE");
  OK(b.len == 5 && memcmp(b.x, "hello", 5) == 0, "unwritten bytes stay buffered");
  errno = 0;
  OK(buf_put(&b, "0123456789abcdefXYZ", 19) == -1 && errno == EPIPE, "big put to a dead pipe fails");
  errno = 0;
  OK(buf_putflush(&b, "x") == -1 && errno == EPIPE, "putflush fails");
  close(p[1]);

  buf_init(&b, zero, 1, space, sizeof space);
  buf_puts(&b, "abc");
  errno = 0;
  OK(buf_flush(&b) == -1 && errno == EIO, "a write that returns 0 is EIO, not a loop");
  buf_init(&b, zero, 1, space, sizeof space);
  errno = 0;
  OK(buf_put(&b, "0123456789abcdefXYZ", 19) == -1 && errno == EIO, "direct write returning 0 is EIO");
}

int main(void)
{
  test_getln();
  test_getln_max();
  test_get();
  test_put();
  test_flush_errors();
  return t_done();
}
