/* dns_test: answers built byte by byte here are parsed by lib/dns */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include "t.h"
#include "dns.h"

static unsigned char ans[DNS_BUF_MAX];
static size_t alen;

static void put8(unsigned v) { ans[alen++] = (unsigned char)v; }
static void put16(unsigned v) { put8(v >> 8); put8(v & 0xff); }
static void put_name(const char *n)
{
  while (*n) {
    const char *d = strchr(n, '.');
    size_t l = d ? (size_t)(d - n) : strlen(n);
    put8((unsigned)l);
    memcpy(ans + alen, n, l);
    alen += l;
    n += l;
    if (*n == '.') ++n;
  }
  put8(0);
}
/* header and question; ancount is patched by rr() */
static void start(const char *q, unsigned type)
{
  alen = 0;
  put16(0x1234); put16(0x8180); put16(1); put16(0); put16(0); put16(0);
  put_name(q); put16(type); put16(ns_c_in);
}
static void rr_begin(const char *owner, unsigned type)
{
  if (owner) put_name(owner); else put16(0xc00c); /* pointer to the question name */
  put16(type); put16(ns_c_in); put16(0); put16(300);
  ans[7]++; /* ancount, below 256 in these tests */
}
static void rr_mx(const char *owner, unsigned pref, const char *name)
{
  size_t at;
  rr_begin(owner, ns_t_mx);
  at = alen; put16(0); put16(pref); put_name(name);
  ans[at] = (unsigned char)((alen - at - 2) >> 8); ans[at + 1] = (unsigned char)(alen - at - 2);
}
static void rr_cname(const char *owner, const char *target)
{
  size_t at;
  rr_begin(owner, ns_t_cname);
  at = alen; put16(0); put_name(target);
  ans[at] = (unsigned char)((alen - at - 2) >> 8); ans[at + 1] = (unsigned char)(alen - at - 2);
}
static void rr_addr(const char *owner, int fam, const char *text)
{
  unsigned char a[16];
  size_t l = fam == AF_INET6 ? 16 : 4;
  rr_begin(owner, fam == AF_INET6 ? ns_t_aaaa : ns_t_a);
  inet_pton(fam, text, a);
  put16((unsigned)l); memcpy(ans + alen, a, l); alen += l;
}

int main(void)
{
  dns_mx_t mx[DNS_MX_MAX];
  dns_ip_t ip[8];
  char cname[DNS_NAME_MAX], txt[64];
  size_t n;

  start("example.test", ns_t_mx);
  rr_mx(0, 20, "b.example.test");
  rr_mx(0, 10, "a.example.test");
  rr_mx("other.test", 5, "evil.test"); /* not on the chain: ignored */
  n = 0;
  EQ_INT(dns_parse_mx(ans, alen, mx, DNS_MX_MAX, &n, cname), DNS_OK, "mx answer parses");
  EQ_INT(n, 2, "two MX for the name, the stranger ignored");
  EQ_INT(mx[0].pref, 20, "first preference");
  EQ_STR(mx[1].name, "a.example.test", "second exchange");
  EQ_STR(cname, "", "no cname");

  start("alias.test", ns_t_mx);
  rr_cname(0, "real.test");
  rr_mx("real.test", 7, "mx.real.test");
  n = 0;
  EQ_INT(dns_parse_mx(ans, alen, mx, DNS_MX_MAX, &n, cname), DNS_OK, "cname answer parses");
  EQ_INT(n, 1, "MX of the CNAME target taken");
  EQ_STR(mx[0].name, "mx.real.test", "target's exchange");
  EQ_STR(cname, "real.test", "cname reported");

  start("alias.test", ns_t_mx);
  rr_mx("real.test", 7, "mx.real.test"); /* target first, CNAME after */
  rr_cname(0, "real.test");
  n = 0;
  dns_parse_mx(ans, alen, mx, DNS_MX_MAX, &n, cname);
  EQ_INT(n, 1, "records in any order");

  start("loop.test", ns_t_mx);
  rr_cname(0, "loop2.test");
  rr_cname("loop2.test", "loop.test");
  n = 0;
  EQ_INT(dns_parse_mx(ans, alen, mx, DNS_MX_MAX, &n, cname), DNS_OK, "cname loop terminates");
  EQ_INT(n, 0, "no MX in a loop");

  /* many MX: far beyond 512 bytes */
  start("big.test", ns_t_mx);
  for (unsigned i = 0; i < 60; ++i) {
    char name[64];
    snprintf(name, sizeof name, "mx%02u.some-long-label-for-size.big.test", i);
    rr_mx(0, 10 + i % 3, name);
  }
  OK(alen > 2000, "answer larger than 512 bytes");
  n = 0;
  EQ_INT(dns_parse_mx(ans, alen, mx, DNS_MX_MAX, &n, cname), DNS_OK, "big answer parses");
  EQ_INT(n, 60, "all 60 MX");
  EQ_STR(mx[59].name, "mx59.some-long-label-for-size.big.test", "last one intact");
  n = 0;
  dns_parse_mx(ans, alen, mx, 5, &n, cname);
  EQ_INT(n, 5, "capped at max");

  EQ_INT(dns_parse_mx(ans, 300, mx, DNS_MX_MAX, &n, cname), DNS_TEMP, "truncated answer is temporary");
  EQ_INT(dns_parse_mx(ans, 5, mx, DNS_MX_MAX, &n, cname), DNS_TEMP, "header cut short");

  start("h.test", ns_t_aaaa);
  rr_addr(0, AF_INET6, "fd00:201::5");
  rr_addr(0, AF_INET, "10.0.0.1"); /* wrong type: ignored */
  n = 0;
  EQ_INT(dns_parse_ip(ans, alen, AF_INET6, ip, 8, &n, 0), DNS_OK, "aaaa parses");
  EQ_INT(n, 1, "one AAAA");
  dns_ip_fmt(&ip[0], txt);
  EQ_STR(txt, "fd00:201::5", "AAAA value");
  n = 0;
  dns_parse_ip(ans, alen, AF_INET, ip, 8, &n, 0);
  EQ_INT(n, 1, "one A");
  dns_ip_fmt(&ip[0], txt);
  EQ_STR(txt, "10.0.0.1", "A value");

  /* sorting: preference order, equal preferences spread */
  {
    int first[3] = {0, 0, 0};
    for (unsigned long seed = 1; seed < 300; ++seed) {
      dns_mx_t m[4] = {{30, "z"}, {10, "a"}, {10, "b"}, {10, "c"}};
      dns_mx_sort(m, 4, seed * 2654435761UL);
      if (m[3].pref != 30 || m[0].pref != 10) { OK(0, "sorted"); break; }
      first[m[0].name[0] - 'a']++;
    }
    OK(first[0] > 30 && first[1] > 30 && first[2] > 30, "each equal-preference MX comes first sometimes");
  }

  EQ_INT(dns_ip_scan("[10.1.2.3]", 10, &ip[0]), 1, "bracketed IPv4");
  EQ_INT(dns_ip_scan("[IPv6:::1]", 10, &ip[0]), 1, "IPv6 literal");
  EQ_INT(ip[0].family, AF_INET6, "IPv6 family");
  EQ_INT(dns_ip_scan("10.1.2.3", 8, &ip[0]), 1, "plain IPv4");
  EQ_INT(dns_ip_scan("mx.test", 7, &ip[0]), 0, "a name is not an address");
  EQ_INT(dns_ip_scan("[1.2.3.4", 8, &ip[0]), 0, "unbalanced bracket");
  return t_done();
}
