/* unit tests for lib/smtp (SMTP parsing), lib/msgfilt (the message
 * limits of the mail servers) */
#include <string.h>
#include "msgfilt.h"
#include "smtp.h"
#include "t.h"


static int path(const char *arg, const char *kw, const char *want)
{
  sa_t a = SA_INIT;
  const char *p;
  size_t pl;
  int r = smtp_path(arg, strlen(arg), kw, &a, &p, &pl);
  int ok = want ? r == SMTP_PATH_OK && !strcmp(a.s, want) : r != SMTP_PATH_OK;
  sa_free(&a);
  return ok;
}

/* why msgfilt (count only) refuses a message of n header lines of the
 * given text then a body, or null */
static const char *hops(const char *hdr, int n)
{
  static msgfilt_t m;
  msgfilt_start(&m, 0, true, 0);
  for (int i = 0; i < n; i++) msgfilt_put(&m, hdr, strlen(hdr));
  msgfilt_put(&m, "\r\nbody\r\n", 8);
  msgfilt_end(&m);
  return m.toobig;
}

static bool S(const char *a) { return smtp_sender_ok(a, strlen(a)); }

int main(void)
{
  const char *arg;
  size_t alen, v;
  v = smtp_verb("MAIL  FROM:<a@b>", 16, &arg, &alen);
  EQ_INT(v, 4, "verb length");
  EQ_MEM(arg, alen, "FROM:<a@b>", 10, "argument after spaces");
  OK(smtp_verb_is("mAiL", 4, "MAIL"), "verb case-insensitive");
  OK(!smtp_verb_is("MAILX", 5, "MAIL"), "verb must match whole");

  OK(path("FROM:<a@b.test>", "FROM:", "a@b.test"), "plain path");
  OK(path("from: <a@b.test> SIZE=1", "FROM:", "a@b.test"), "space after colon, params");
  OK(path("FROM:<>", "FROM:", ""), "null path");
  OK(path("TO:<@r1,@r2:u@x>", "TO:", "u@x"), "source route dropped");
  OK(path("TO:<\"a b\"@x>", "TO:", "a b@x"), "quotes removed");
  OK(path("TO:<a\\>b@x>", "TO:", "a>b@x"), "backslash escape");
  OK(path("TO:u@x", "TO:", "u@x"), "bare address");
  OK(path("TO:<u@x", "TO:", 0), "missing >");
  OK(path("FROM:<u@x>", "TO:", 0), "wrong keyword");
  OK(path("TO:<u@x>junk", "TO:", 0), "junk after >");
  OK(path("TO:<u\001@x>", "TO:", 0), "control char refused");
  {
    char big[1200];
    memcpy(big, "TO:<", 4);
    memset(big + 4, 'a', 1000);
    memcpy(big + 1004, "@x>", 4);
    OK(path(big, "TO:", 0), "address over SMTP_ADDR_MAX refused");
  }

  OK(smtp_domain_ok("a.b-c.test", 10), "domain ok");
  OK(!smtp_domain_ok("a.test.", 7), "trailing dot");
  OK(!smtp_domain_ok(".a.test", 7), "leading dot");
  OK(!smtp_domain_ok("a..test", 7), "double dot");
  OK(smtp_domain_ok("[127.0.0.1]", 11), "ipv4 literal");
  OK(!smtp_domain_ok("[127.0.0.256]", 13), "bad ipv4 literal");
  OK(smtp_sender_ok("", 0), "null sender ok");
  OK(!smtp_sender_ok("() { :; }; id@x.test", 20), "shellshock sender refused");
  OK(!smtp_sender_ok("joe", 3), "sender without domain refused");
  OK(smtp_sender_ok("a.b+c@x.test", 12), "sender ok");
  /* what qmail accepts and real mail uses */
  OK(S("first.last.@docomo.ne.jp"), "local part with trailing dot (Japanese carriers)");
  OK(S("a..b@x.test"), "two dots in a row");
  OK(S(".a@x.test"), "leading dot");
  OK(S("o'brien@x.test"), "apostrophe (atext)");
  {
    char lp[900];
    memset(lp, 'v', 880);
    memcpy(lp + 880, "@x.test", 8);
    OK(S(lp), "local part of 880 bytes (VERP/SRS)");
    memset(lp, 'd', 102);
    memcpy(lp, "u@", 2);
    memcpy(lp + 102, ".test", 6);
    OK(S(lp), "domain label over 63 bytes");
    OK(!smtp_domain_ok(lp + 2, strlen(lp + 2)), "still refused as a recipient domain");
  }
  {
    char big[SMTP_ADDR_MAX + 2];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big + sizeof big - 8, "@x.test", 7);
    OK(!S(big), "address over SMTP_ADDR_MAX refused");
  }
  /* the bytes that must never reach $SENDER */
  OK(!S("a b@x.test"), "space refused");
  OK(!S("\"a\"@x.test"), "double quote refused");
  OK(!S("a(b)@x.test"), "parentheses refused");
  OK(!S("a;b@x.test"), "semicolon refused");
  OK(!S("a\\b@x.test"), "backslash refused");
  OK(!S("a<b@x.test"), "< refused");
  OK(!S("a\tb@x.test"), "tab refused");
  OK(!S("a\x7f@x.test"), "DEL refused");
  OK(!S("a\xe9@x.test"), "8-bit byte refused");
  OK(!S("a@b@x.test"), "second @ refused");
  OK(!S("@x.test"), "empty local part refused");
  OK(!S("a@x..test"), "empty domain label refused");
  OK(!S("a@x.test."), "trailing dot in domain refused");
  OK(!S("a@x_y;.test"), "bad domain character refused");
  /* unqualified: only through smtp_sender_unqualified_ok (relay clients) */
  OK(smtp_sender_unqualified_ok("root", 4), "unqualified root");
  OK(smtp_sender_unqualified_ok("a..b.", 5), "unqualified with dots");
  OK(!smtp_sender_unqualified_ok("", 0), "unqualified: empty is not it");
  OK(!smtp_sender_unqualified_ok("a@x.test", 8), "unqualified: has a domain");
  OK(!smtp_sender_unqualified_ok("() { :; }; id", 13), "unqualified shellshock refused");

  OK(!smtp_relay_trick("u@x.test", 8), "plain address");
  OK(smtp_relay_trick("u%v@x.test", 10), "% refused");
  OK(smtp_relay_trick("v!u@x.test", 10), "! refused");
  OK(smtp_relay_trick("u@v@x.test", 10), "double @ refused");
  OK(smtp_relay_trick("u@x.test.", 9), "trailing dot refused");
  OK(!smtp_relay_trick("PostMaster", 10), "bare postmaster ok");
  OK(smtp_relay_trick("joe", 3), "other bare name refused");

  /* qmail: 100 or more Received/Delivered lines is a loop */
  OK(!hops("Received: x\r\n", 99), "99 Received lines pass");
  EQ_STR(hops("Received: x\r\n", 100), "hops", "100 Received lines: hops");
  EQ_STR(hops("DELIVERED-TO: x\r\n", 100), "hops", "100 Delivered-To lines: hops");
  EQ_STR(hops("Received: x\r\n", 101), "hops", "101 Received lines: hops");
  OK(!hops("X-Received: x\r\n", 200), "other header names not counted");

  return t_done();
}
