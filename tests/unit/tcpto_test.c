/* tcpto_test: the timeout memory, in memory and in a file */
#include <arpa/inet.h>
#include <errno.h>
#include "t.h"
#include "tcpto.h"

static dns_ip_t ip(const char *s)
{
  dns_ip_t a;
  dns_ip_scan(s, strlen(s), &a);
  return a;
}

int main(void)
{
  static unsigned char b[1024];
  dns_ip_t a = ip("10.1.1.1"), c = ip("fd00:201::9"), x;
  unsigned cnt;
  time_t last, now = 1700000000;
  char path[300];

  OK(!tcpto_scan(b, sizeof b, &a, now, 3840), "empty file: nobody dead");
  tcpto_note(b, sizeof b, &a, now, 1);
  OK(!tcpto_scan(b, sizeof b, &a, now, 3840), "one timeout is not enough");
  tcpto_note(b, sizeof b, &a, now + 30, 1);
  OK(!tcpto_scan(b, sizeof b, &a, now + 31, 3840), "a second timeout within 2 minutes is not counted");
  tcpto_note(b, sizeof b, &a, now + 200, 1);
  OK(tcpto_scan(b, sizeof b, &a, now + 201, 3840), "two timeouts: skipped");
  OK(!tcpto_scan(b, sizeof b, &a, now + 200 + 3840, 3840), "until the window has passed");
  OK(!tcpto_scan(b, sizeof b, &a, now - 1000, 3840), "clock going back does not skip");
  OK(tcpto_rec(b, 0, &x, &cnt, &last) && cnt == 2 && last == now + 200, "record readable");

  tcpto_note(b, sizeof b, &c, now, 1);
  tcpto_note(b, sizeof b, &c, now + 300, 1);
  OK(tcpto_scan(b, sizeof b, &c, now + 301, 3840), "IPv6 host skipped too");
  OK(tcpto_rec(b, 1, &x, &cnt, &last) && x.family == AF_INET6, "IPv6 record");
  tcpto_note(b, sizeof b, &c, now + 400, 0);
  OK(!tcpto_scan(b, sizeof b, &c, now + 401, 3840), "success clears");
  OK(tcpto_scan(b, sizeof b, &a, now + 401, 3840), "the other host untouched");

  /* a full file: the oldest record gives way */
  memset(b, 0, sizeof b);
  for (unsigned i = 0; i < sizeof b / TCPTO_REC; ++i) {
    char s[32];
    snprintf(s, sizeof s, "10.2.0.%u", i);
    x = ip(s);
    tcpto_note(b, sizeof b, &x, now + i, 1);
  }
  tcpto_note(b, sizeof b, &a, now + 1000, 1);
  OK(tcpto_rec(b, 0, &x, &cnt, &last) && memcmp(x.a, a.a, 4) == 0, "oldest slot reused");

  {
    sa_t l = SA_INIT;
    OK(tcpto_line(&l, &a, 2, now - 75, now), "line: formatted");
    EQ_MEM(l.s, l.len, "10.1.1.1 timed out 75 seconds ago; # recent timeouts: 2\n", 56,
           "line: qmail's format");
    l.len = 0;
    OK(tcpto_line(&l, &c, 1, now + 5, now), "line: IPv6, clock gone back");
    EQ_MEM(l.s, l.len, "fd00:201::9 timed out 0 seconds ago; # recent timeouts: 1\n", 58,
           "line: IPv6 as printed before, a future time as 0 seconds");
    sa_free(&l);
  }

  snprintf(path, sizeof path, "%s/tcpto", t_tmpdir());
  memset(b, 0, sizeof b);
  t_write(path, (const char *)b, sizeof b);
  OK(!tcpto_dead(path, &a, 3840), "file: fresh install's zero file");
  tcpto_mark(path, &a, 1);
  OK(!tcpto_dead(path, &a, 3840), "file: one timeout");
  OK(!tcpto_dead("/nonexistent/tcpto", &a, 3840), "no file: nobody dead");
  tcpto_mark("/nonexistent/tcpto", &a, 1); /* ignored */
  tcpto_mark(path, &a, 0);
  {
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(b, 1, sizeof b, f) : 0;
    unsigned char z[1024] = {0};
    if (f) fclose(f);
    OK(k == 1024 && memcmp(b, z, 1024) == 0, "file: cleared, size kept");
  }
  /* clearing: every record goes, the size stays (qmail-tcpok, and
   * qmail-rspawn at start) */
  tcpto_mark(path, &a, 1);
  tcpto_mark(path, &c, 1);
  {
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    OK(k == 1024 && tcpto_rec(b, 0, &x, &cnt, &last) && tcpto_rec(b, 1, &x, &cnt, &last),
       "file: two records before clearing");
  }
  OK(tcpto_clear(path) == 0, "clear: done");
  {
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(b, 1, sizeof b, f) : 0;
    unsigned char z[1024] = {0};
    if (f) fclose(f);
    OK(k == 1024 && memcmp(b, z, 1024) == 0, "clear: all zero, size kept");
  }
  OK(tcpto_clear("/nonexistent/tcpto") == -1 && errno == ENOENT, "clear: no file is an error");
  return t_done();
}
