/* smtpc_test: reply parsing, EHLO keywords, the DATA writer */
#include "t.h"
#include "smtpc.h"

static const char *src;
static size_t srclen, srcpos, chunk = 1 << 20;
static ssize_t memread(int fd, void *b, size_t n)
{
  size_t k = srclen - srcpos;
  (void)fd;
  if (k > n) k = n;
  if (k > chunk) k = chunk;
  memcpy(b, src + srcpos, k);
  srcpos += k;
  return (ssize_t)k;
}
static char outmem[1 << 16];
static size_t outlen;
static ssize_t memwrite(int fd, void *b, size_t n)
{
  (void)fd;
  memcpy(outmem + outlen, b, n);
  outlen += n;
  return (ssize_t)n;
}

static int reply(const char *s, sa_t *text)
{
  static char space[64];
  buf_t b;
  src = s; srclen = strlen(s); srcpos = 0;
  buf_init(&b, memread, 0, space, sizeof space);
  return smtpc_reply(&b, text);
}

/* runs the writer over msg, in pieces of step bytes */
static const char *data(const char *msg, size_t len, size_t step, size_t *olen, int *eight)
{
  static char space[16];
  buf_t b;
  smtpc_data_t d, c;
  buf_init(&b, memwrite, 1, space, sizeof space);
  outlen = 0;
  smtpc_data_init(&d);
  smtpc_data_init(&c);
  for (size_t i = 0; i < len; i += step) {
    size_t k = len - i < step ? len - i : step;
    smtpc_data(&d, &b, msg + i, k);
    smtpc_data(&c, 0, msg + i, k);
  }
  smtpc_data_end(&d, &b);
  smtpc_data_end(&c, 0);
  buf_flush(&b);
  if (c.n != outlen) printf("# count %llu, wrote %zu\n", c.n, outlen);
  *olen = outlen;
  if (eight) *eight = d.eight;
  outmem[outlen] = 0;
  return outmem;
}

static void case_(const char *in, size_t inlen, const char *want, const char *name)
{
  size_t n;
  for (size_t step = 1; step <= inlen + 1; step += step < 3 ? 1 : inlen) {
    const char *o = data(in, inlen, step, &n, 0);
    char nm[200];
    snprintf(nm, sizeof nm, "%s (pieces of %zu)", name, step);
    EQ_MEM(o, n, want, strlen(want), nm);
  }
}

int main(void)
{
  sa_t t = SA_INIT;
  smtpc_ext_t e;
  int eight;
  size_t n;

  EQ_INT(reply("250 ok\r\n", &t), 250, "single line");
  EQ_MEM(t.s, t.len, "250 ok", 6, "its text");
  EQ_INT(reply("250-a\r\n250-b\r\n250 c\r\nNEXT", &t), 250, "multiline");
  EQ_MEM(t.s, t.len, "250-a\n250-b\n250 c", 17, "lines joined");
  EQ_INT(reply("354\r\n", &t), 354, "bare code");
  EQ_INT(reply("250-a\r\n251 b\r\n", &t), -2, "codes differ: malformed");
  EQ_INT(reply("hello\r\n", &t), -2, "no code: malformed");
  EQ_INT(reply("250-a\r\n", &t), -1, "end of input inside a reply");
  EQ_INT(reply("", &t), -1, "end of input");
  EQ_INT(reply("250 ok\n", &t), 250, "bare LF accepted");
  {
    static char big[SMTPC_LINE_MAX + 100];
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "250 ", 4);
    EQ_INT(reply(big, &t), -2, "overlong line refused");
  }
  {
    /* a dribble of continuation lines stops at SMTPC_REPLY_MAX */
    static char many[SMTPC_REPLY_MAX + 4096];
    size_t k = 0;
    while (k + 20 < sizeof many) { memcpy(many + k, "250-aaaaaaaaaaaaaa\r\n", 20); k += 20; }
    many[k] = 0;
    EQ_INT(reply(many, &t), -2, "endless multiline reply refused");
  }

  sa_copys(&t, "250-mx.test hello\n250-PIPELINING\n250-SIZE 1000\n250-8BITMIME\n250 HELP");
  smtpc_ehlo(&t, &e);
  OK(e.pipelining && e.eightbitmime && e.size && e.maxsize == 1000, "EHLO keywords");
  sa_copys(&t, "250-PIPELINING hello\n250 SIZE");
  smtpc_ehlo(&t, &e);
  OK(!e.pipelining && e.size && e.maxsize == 0, "greeting line ignored; SIZE without limit");

  case_("a\nb\n", 4, "a\r\nb\r\n.\r\n", "LF to CRLF");
  case_(".a\n..b\n.\n", 9, "..a\r\n...b\r\n..\r\n.\r\n", "leading dots stuffed");
  case_("abc\r.\n", 6, "abc\r\n..\r\n.\r\n", "bare CR before a dot: the smuggling case");
  case_("abc\r.\r\nMAIL FROM:<x@y>\r\n", 24, "abc\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n",
        "stored CR . CR LF");
  case_("a\n.\r\n", 5, "a\r\n..\r\n.\r\n", "LF . CR LF");
  case_("a\r\nb\r\n", 6, "a\r\nb\r\n.\r\n", "CR LF kept as one line end");
  case_("a\r\r\n.", 5, "a\r\n\r\n..\r\n.\r\n", "CR CR LF, then a dot without LF");
  case_("no newline", 10, "no newline\r\n.\r\n", "last line ended");
  case_("", 0, ".\r\n", "empty message");
  case_("x\r", 2, "x\r\n.\r\n", "trailing CR");
  data("caf\xc3\xa9\n", 6, 100, &n, &eight);
  OK(eight, "8-bit detected");
  data("plain\n", 6, 100, &n, &eight);
  OK(!eight, "7-bit");

  t.len = 0;
  smtpc_clean(&t, "a\x1b[31m\nb\x7f\xff", 10, 100);
  EQ_MEM(t.s, t.len, "a?[31m\nb??", 10, "control and 8-bit bytes replaced, LF kept (a line end, as in qmail)");
  t.len = 0;
  smtpc_clean(&t, "550-a\r\n550 b\t", 13, 100);
  EQ_MEM(t.s, t.len, "550-a?\n550 b?", 13, "CR and TAB replaced, lines stay lines");
  t.len = 0;
  smtpc_clean(&t, "abcdef", 6, 3);
  EQ_MEM(t.s, t.len, "abc...", 6, "capped");
  sa_free(&t);
  return t_done();
}
