/* quote_test: envelope addresses written as RFC 5321 paths */
#include "t.h"
#include "quote.h"

int main(void)
{
  static const struct { const char *in, *want; } t[] = {
    {"", ""},
    {"a@b.c", "a@b.c"},
    {"first.last@b.c", "first.last@b.c"},
    {"a+b=c/d?e^f`g{h}i|j~k!l#m$n%o&p'q*r-s_t@x", "a+b=c/d?e^f`g{h}i|j~k!l#m$n%o&p'q*r-s_t@x"},
    {"a b@x.org", "\"a b\"@x.org"},
    {"first.last.@docomo.ne.jp", "\"first.last.\"@docomo.ne.jp"},
    {".a@x", "\".a\"@x"},
    {"a..b@x", "\"a..b\"@x"},
    {"@x", "\"\"@x"},
    {"a\"b\\c@x", "\"a\\\"b\\\\c\"@x"},
    {"a@b@x", "\"a@b\"@x"},
    {"a(b)@x", "\"a(b)\"@x"},
    {"caf\xc3\xa9@x", "\"caf\xc3\xa9\"@x"},
    {"nodomain", "nodomain"},
    {"no domain", "\"no domain\""},
    {"#@[]", "#@[]"},
    /* CR and LF would end the header line: '_' (local part and domain) */
    {"a\rb@x", "\"a\\_b\"@x"},
    {"x@evil.example\nBcc: v@example.org", "\"x@evil.example\\_Bcc: v\"@example.org"},
    {"x@evil.example\nBcc: v", "x@evil.example_Bcc: v"},
  };
  sa_t x = SA_INIT;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char name[80];
    x.len = 0;
    snprintf(name, sizeof name, "quote_addr case %zu", i);
    OK(quote_addr(&x, t[i].in), name);
    EQ_MEM(x.s ? x.s : "", x.len, t[i].want, strlen(t[i].want), name);
  }
  /* appends */
  sa_copys(&x, "<");
  OK(quote_addr(&x, "a b@c") && sa_equals(&x, "<\"a b\"@c"), "quote_addr appends");
  OK(!quote_need("abc", 3) && quote_need("abc", 0) && quote_need("a.", 2), "quote_need");
  sa_free(&x);
  return t_done();
}
