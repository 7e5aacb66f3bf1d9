/* dns: see dns.h */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dns.h"

/* the CNAME chain of one answer: the question name and every target
 * reached from it, so records are taken only for names on the chain */
typedef struct {
  char name[DNS_CNAME_DEPTH + 1][DNS_NAME_MAX];
  size_t n;
} chain_t;

static int on_chain(const chain_t *c, const char *name)
{
  for (size_t i = 0; i < c->n; ++i)
    if (strcasecmp(c->name[i], name) == 0) return 1;
  return 0;
}

/* opens the answer, reads the question name and follows the CNAMEs of
 * the answer section from it (in any order they come) */
static int open_answer(const unsigned char *ans, size_t len, ns_msg *msg, chain_t *c)
{
  ns_rr rr;
  int changed = 1;
  if (len > DNS_BUF_MAX) return DNS_TEMP;
  if (ns_initparse(ans, (int)len, msg) < 0) return DNS_TEMP;
  if (ns_msg_count(*msg, ns_s_qd) < 1 || ns_parserr(msg, ns_s_qd, 0, &rr) < 0) return DNS_TEMP;
  if (strlen(ns_rr_name(rr)) >= DNS_NAME_MAX) return DNS_TEMP;
  strcpy(c->name[0], ns_rr_name(rr));
  c->n = 1;
  while (changed && c->n <= DNS_CNAME_DEPTH) {
    changed = 0;
    for (int i = 0; i < ns_msg_count(*msg, ns_s_an); ++i) {
      char t[DNS_NAME_MAX];
      if (ns_parserr(msg, ns_s_an, i, &rr) < 0) return DNS_TEMP;
      if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in) continue;
      if (strcasecmp(ns_rr_name(rr), c->name[c->n - 1]) != 0) continue;
      if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(rr), t, sizeof t) < 0)
        return DNS_TEMP;
      if (on_chain(c, t)) continue; /* a CNAME loop: stop at what we have */
      if (c->n > DNS_CNAME_DEPTH) break;
      strcpy(c->name[c->n++], t);
      changed = 1;
      break;
    }
  }
  return DNS_OK;
}

static void last_cname(const chain_t *c, char *cname)
{
  if (!cname) return;
  if (c->n > 1) strcpy(cname, c->name[c->n - 1]);
  else cname[0] = 0;
}

int dns_parse_mx(const unsigned char *ans, size_t len, dns_mx_t *mx, size_t max, size_t *n,
                 char *cname)
{
  ns_msg msg;
  ns_rr rr;
  chain_t c;
  int r = open_answer(ans, len, &msg, &c);
  if (r != DNS_OK) return r;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return DNS_TEMP;
    if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in) continue;
    if (!on_chain(&c, ns_rr_name(rr))) continue;
    if (ns_rr_rdlen(rr) < 3) return DNS_TEMP;
    if (*n >= max) break;
    mx[*n].pref = ns_get16(ns_rr_rdata(rr));
    if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, mx[*n].name,
                  sizeof mx[*n].name) < 0)
      return DNS_TEMP;
    ++*n;
  }
  last_cname(&c, cname);
  return DNS_OK;
}

int dns_parse_ip(const unsigned char *ans, size_t len, int family, dns_ip_t *ip, size_t max,
                 size_t *n, char *cname)
{
  ns_msg msg;
  ns_rr rr;
  chain_t c;
  ns_type type = family == AF_INET6 ? ns_t_aaaa : ns_t_a;
  size_t alen = family == AF_INET6 ? 16 : 4;
  int r = open_answer(ans, len, &msg, &c);
  if (r != DNS_OK) return r;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return DNS_TEMP;
    if (ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in) continue;
    if (!on_chain(&c, ns_rr_name(rr))) continue;
    if (ns_rr_rdlen(rr) != alen) return DNS_TEMP;
    if (*n >= max) break;
    memset(&ip[*n], 0, sizeof ip[*n]);
    ip[*n].family = family;
    memcpy(ip[*n].a, ns_rr_rdata(rr), alen);
    ++*n;
  }
  last_cname(&c, cname);
  return DNS_OK;
}

/* one query; *ans (malloc'd, caller frees) and *len on DNS_OK; an
 * existing name without records of this type is DNS_OK with *len 0 */
static int query(const char *name, int type, unsigned char **ans, size_t *len)
{
  static struct __res_state rs;
  static int ready;
  size_t size = DNS_BUF_START;
  *ans = 0;
  *len = 0;
  if (!ready) {
    if (res_ninit(&rs) != 0) return DNS_TEMP;
    /* advertise a large UDP buffer; a truncated answer is retried over
     * TCP by libresolv itself */
    rs.options |= RES_USE_EDNS0;
    ready = 1;
  }
  for (;;) {
    unsigned char *b = malloc(size);
    int r;
    if (!b) return DNS_NOMEM;
    r = res_nquery(&rs, name, ns_c_in, type, b, (int)size);
    if (r < 0) {
      int h = rs.res_h_errno;
      free(b);
      if (h == HOST_NOT_FOUND) return DNS_NX;
      if (h == NO_DATA) return DNS_OK;
      return DNS_TEMP;
    }
    /* an answer longer than the buffer was cut short: ask again with
     * room for all of it (the DNS limit is 64 KiB) */
    if ((size_t)r > size && size < DNS_BUF_MAX) {
      free(b);
      size = (size_t)r > DNS_BUF_MAX ? DNS_BUF_MAX : (size_t)r;
      continue;
    }
    *ans = b;
    *len = (size_t)r > size ? size : (size_t)r;
    return DNS_OK;
  }
}

int dns_mx(const char *name, dns_mx_t *mx, size_t max, size_t *n)
{
  char cur[DNS_NAME_MAX], cname[DNS_NAME_MAX];
  *n = 0;
  if (strlen(name) >= DNS_NAME_MAX) return DNS_NX;
  strcpy(cur, name);
  for (int depth = 0; depth <= DNS_CNAME_DEPTH; ++depth) {
    unsigned char *ans;
    size_t len;
    int r = query(cur, ns_t_mx, &ans, &len);
    if (r != DNS_OK) return r;
    if (!len) return DNS_OK;
    r = dns_parse_mx(ans, len, mx, max, n, cname);
    free(ans);
    if (r != DNS_OK) return r;
    /* a CNAME whose target had no MX in this answer: the server did not
     * follow it (or the target has none); ask about the target */
    if (*n || !cname[0]) return DNS_OK;
    strcpy(cur, cname);
  }
  return DNS_TEMP; /* a chain too long to follow */
}

static int ip1(const char *name, int family, dns_ip_t *ip, size_t max, size_t *n)
{
  unsigned char *ans;
  size_t len;
  int r = query(name, family == AF_INET6 ? ns_t_aaaa : ns_t_a, &ans, &len);
  if (r != DNS_OK || !len) return r;
  r = dns_parse_ip(ans, len, family, ip, max, n, 0);
  free(ans);
  return r;
}

int dns_ip(const char *name, dns_ip_t *ip, size_t max, size_t *n)
{
  int r6, r4;
  if (strlen(name) >= DNS_NAME_MAX) return DNS_NX;
  r6 = ip1(name, AF_INET6, ip, max, n);
  if (r6 == DNS_NX || r6 == DNS_NOMEM) return r6;
  r4 = ip1(name, AF_INET, ip, max, n);
  if (r4 == DNS_NOMEM) return r4;
  /* one family answering is enough to deliver; both failing is not */
  if (r4 == DNS_OK || r6 == DNS_OK) return *n || (r4 == DNS_OK && r6 == DNS_OK) ? DNS_OK : DNS_TEMP;
  return r4;
}

void dns_mx_sort(dns_mx_t *mx, size_t n, unsigned long rnd)
{
  unsigned long x = rnd | 1;
  /* insertion sort: n is at most DNS_MX_MAX */
  for (size_t i = 1; i < n; ++i) {
    dns_mx_t t = mx[i];
    size_t j = i;
    while (j > 0 && mx[j - 1].pref > t.pref) {
      mx[j] = mx[j - 1];
      --j;
    }
    mx[j] = t;
  }
  /* Fisher-Yates within each run of equal preference (xorshift) */
  for (size_t s = 0; s < n;) {
    size_t e = s + 1;
    while (e < n && mx[e].pref == mx[s].pref) ++e;
    for (size_t i = e - 1; i > s; --i) {
      size_t j;
      dns_mx_t t;
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      j = s + (size_t)(x % (i - s + 1));
      t = mx[i];
      mx[i] = mx[j];
      mx[j] = t;
    }
    s = e;
  }
}

void dns_ip_fmt(const dns_ip_t *ip, char *out)
{
  if (!inet_ntop(ip->family, ip->a, out, INET6_ADDRSTRLEN)) strcpy(out, "?");
}

int dns_ip_scan(const char *s, size_t len, dns_ip_t *ip)
{
  char t[INET6_ADDRSTRLEN + 8];
  memset(ip, 0, sizeof *ip);
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
    ++s;
    len -= 2;
    if (len >= 5 && strncasecmp(s, "ipv6:", 5) == 0) {
      s += 5;
      len -= 5;
    }
  }
  if (len == 0 || len >= sizeof t) return 0;
  memcpy(t, s, len);
  t[len] = 0;
  if (inet_pton(AF_INET, t, ip->a) == 1) {
    ip->family = AF_INET;
    return 1;
  }
  if (inet_pton(AF_INET6, t, ip->a) == 1) {
    ip->family = AF_INET6;
    return 1;
  }
  return 0;
}
