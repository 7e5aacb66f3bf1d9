/* netstr: strict length parsing (digits only, no leading zero, overflow,
 * maximum known before the body), the ',' check, end of input inside a
 * netstring, parsing from memory, writing. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>
#include "netstr.h"
#include "t.h"

static int pipe_with(const char *s, size_t n)
{
  int p[2];
  if (pipe(p) == -1 || n > 65536 || (n && write(p[1], s, n) != (ssize_t)n)) t_bail("pipe");
  close(p[1]);
  return p[0];
}

/* one byte per read: every state of the parser sees a buffer boundary */
static ssize_t dribble(int fd, void *p, size_t n) { return buf_read_op(fd, p, n ? 1 : 0); }

static char space[16];
static buf_t b;
static int fd = -1;

static void feed(const char *s)
{
  if (fd != -1) close(fd);
  fd = pipe_with(s, strlen(s));
  buf_init(&b, dribble, fd, space, sizeof space);
}

/* netstr_get on s with max: r, and errno for -1 */
static int get(const char *s, size_t max, sa_t *out, int *err)
{
  int r;
  feed(s);
  errno = 0;
  r = netstr_get(&b, out, max);
  *err = errno;
  return r;
}

int main(void)
{
  sa_t o = SA_INIT;
  int e, r;
  size_t n, pos;
  const char *body;
  char big[64];

  r = get("12:hello world!,", 100, &o, &e);
  EQ_INT(r, 1, "netstring read");
  EQ_MEM(o.s, o.len, "hello world!", 12, "its body");
  r = get("0:,", 100, &o, &e);
  EQ_INT(r, 1, "empty netstring");
  EQ_INT(o.len, 0, "empty body");
  r = get("", 100, &o, &e);
  EQ_INT(r, 0, "clean end of input before a netstring");
  r = get("3:a\0c,", 100, &o, &e);
  /* strlen stops at the NUL: the body is cut short */
  EQ_INT(r, -1, "end of input in the body");
  EQ_INT(e, ENODATA, "  ENODATA");

  /* malformed lengths */
  const char *bad[] = {"x:,", " 1:a,", "+1:a,", "-1:a,", "1 :a,", ":a,", "01:a,", "00:,",
                       "1a:a,", "0x1:a,"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    r = get(bad[i], 100, &o, &e);
    OK(r == -1 && e == EPROTO, bad[i]);
  }
  r = get("1:ab", 100, &o, &e);
  OK(r == -1 && e == EPROTO, "missing comma");
  r = get("1:a", 100, &o, &e);
  OK(r == -1 && e == ENODATA, "EOF instead of comma");
  r = get("12", 100, &o, &e);
  OK(r == -1 && e == ENODATA, "EOF inside the length");

  /* the maximum */
  r = get("5:abcde,", 5, &o, &e);
  EQ_INT(r, 1, "length equal to max");
  r = get("6:abcdef,", 5, &o, &e);
  OK(r == -1 && e == E2BIG, "length over max: E2BIG");
  /* over max is known at the first digit that passes it: the rest of
   * the input (even malformed) is left unread */
  feed("1000000junk");
  errno = 0;
  r = netstr_getlen(&b, &n, 999999);
  OK(r == -1 && errno == E2BIG, "max known before the ':'");
  EQ_INT(b.len, 0, "  no byte after the last digit was buffered");
  {
    char rest[8];
    ssize_t g = buf_get(&b, rest, sizeof rest);
    EQ_MEM(rest, (size_t)(g > 0 ? g : 0), "j", 1, "  the next byte is still unread");
  }
  snprintf(big, sizeof big, "%zu0:", (size_t)SIZE_MAX);
  r = get(big, SIZE_MAX, &o, &e);
  OK(r == -1 && e == E2BIG, "length overflowing size_t");
  snprintf(big, sizeof big, "%zu:", (size_t)SIZE_MAX);
  feed(big);
  r = netstr_getlen(&b, &n, SIZE_MAX);
  OK(r == 1 && n == SIZE_MAX, "SIZE_MAX itself parses");
  r = get("99999999999999999999999999999999999:", 1000, &o, &e);
  OK(r == -1 && e == E2BIG, "huge length");

  /* a stream of netstrings, body by hand */
  feed("3:abc,0:,2:xy,");
  OK(netstr_getlen(&b, &n, 10) == 1 && n == 3, "getlen");
  OK(netstr_skip(&b, 3) == 0 && netstr_getend(&b) == 0, "skip + getend");
  OK(netstr_get(&b, &o, 10) == 1 && o.len == 0, "second");
  OK(netstr_get(&b, &o, 10) == 1 && o.len == 2 && !memcmp(o.s, "xy", 2), "third");
  OK(netstr_get(&b, &o, 10) == 0, "then clean end");

  /* memory */
  {
    static const char m[] = "3:abc,0:,5:a:b,c,";
    pos = 0;
    OK(netstr_parse(m, sizeof m - 1, &pos, &body, &n) == 1 && n == 3 && !memcmp(body, "abc", 3),
       "parse first");
    OK(netstr_parse(m, sizeof m - 1, &pos, &body, &n) == 1 && n == 0, "parse empty");
    OK(netstr_parse(m, sizeof m - 1, &pos, &body, &n) == 1 && n == 5 && !memcmp(body, "a:b,c", 5),
       "parse body holding : and ,");
    OK(netstr_parse(m, sizeof m - 1, &pos, &body, &n) == 0, "parse end");
  }
  {
    const char *pbad[] = {"3:abc", "3:ab,", "4:abc,", "01:a,", "a:,", ":,", "3", "3:abcd",
                          "18446744073709551616:x,", "-1:,"};
    for (size_t i = 0; i < sizeof pbad / sizeof *pbad; i++) {
      pos = 0;
      errno = 0;
      r = netstr_parse(pbad[i], strlen(pbad[i]), &pos, &body, &n);
      OK(r == -1 && errno == EPROTO && pos == 0, pbad[i]);
    }
  }

  /* writing */
  o.len = 0;
  OK(netstr_cat(&o, "hello world!", 12) && netstr_cat(&o, "", 0), "cat");
  EQ_MEM(o.s, o.len, "12:hello world!,0:,", 19, "cat output");
  OK(netstr_size(12, &n) && n == 16, "size 12 -> 16");
  OK(netstr_size(0, &n) && n == 3, "size 0 -> 3");
  OK(netstr_size(99, &n) && n == 103, "size 99 -> 103");
  OK(!netstr_size(SIZE_MAX - 3, &n), "size overflow");
  {
    int p[2];
    char ws[4], rb[64];
    buf_t w;
    ssize_t g;
    if (pipe(p) == -1) t_bail("pipe");
    buf_init(&w, buf_write_op, p[1], ws, sizeof ws);
    OK(netstr_put(&w, "Kok", 3) == 0 && buf_flush(&w) == 0, "put");
    close(p[1]);
    g = read(p[0], rb, sizeof rb);
    EQ_MEM(rb, (size_t)(g > 0 ? g : 0), "3:Kok,", 6, "put output");
    close(p[0]);
  }
  sa_free(&o);
  return t_done();
}
