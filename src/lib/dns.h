/* dns: MX and address lookups through the system resolver (libresolv).
 *
 * Queries go through res_nquery with an answer buffer that starts at
 * DNS_BUF_START and grows up to DNS_BUF_MAX (64 KiB, the DNS message
 * limit) when the answer did not fit; answers are parsed with
 * ns_initparse/ns_parserr and names expanded with dn_expand, never by
 * hand.  The parse functions take raw answers, so tests can feed crafted
 * ones.
 *
 * Results: DNS_OK, DNS_NX (the name does not exist: permanent), DNS_TEMP
 * (no answer, SERVFAIL, timeout, malformed answer: try later), DNS_NOMEM. */
#ifndef DNS_H
#define DNS_H
#include <stddef.h>
#include <netinet/in.h>

#define DNS_OK 0
#define DNS_NX 1
#define DNS_TEMP 2
#define DNS_NOMEM 3

#define DNS_BUF_START 4096
#define DNS_BUF_MAX 65536
/* a DNS name is at most 255 bytes on the wire; as text with dots, 254 */
#define DNS_NAME_MAX 256
/* caps on what one lookup may return, so a hostile zone cannot make us
 * try (or allocate for) thousands of hosts */
#define DNS_MX_MAX 256
#define DNS_IP_MAX 64
#define DNS_CNAME_DEPTH 8

typedef struct {
  int family;               /* AF_INET or AF_INET6 */
  unsigned char a[16];      /* 4 or 16 bytes used */
} dns_ip_t;

typedef struct {
  unsigned pref;
  char name[DNS_NAME_MAX];
} dns_mx_t;

/* parsing raw answers (tests use these directly).
 * dns_parse_mx: appends the MX records of the answer section to mx (at
 * most max; *n counts them); *cname receives the last CNAME target seen
 * (empty if none).  Returns DNS_OK or DNS_TEMP (malformed). */
int dns_parse_mx(const unsigned char *ans, size_t len, dns_mx_t *mx, size_t max, size_t *n,
                 char *cname);
/* dns_parse_ip: appends the A (family AF_INET) or AAAA (AF_INET6) records */
int dns_parse_ip(const unsigned char *ans, size_t len, int family, dns_ip_t *ip, size_t max,
                 size_t *n, char *cname);

/* lookups: the MX records of name, CNAMEs followed (*n == 0 and DNS_OK:
 * the name exists but has no MX) */
int dns_mx(const char *name, dns_mx_t *mx, size_t max, size_t *n);
/* A and AAAA of name, IPv6 first, appended after the *n already there */
int dns_ip(const char *name, dns_ip_t *ip, size_t max, size_t *n);

/* sorts by preference, shuffling equal preferences (rnd: a random seed) */
void dns_mx_sort(dns_mx_t *mx, size_t n, unsigned long rnd);

/* text of an address into out (at least 46 bytes) */
void dns_ip_fmt(const dns_ip_t *ip, char *out);
/* "1.2.3.4", "::1", "[1.2.3.4]", "[ipv6:...]" or "[...]": 1 parsed, 0 not */
int dns_ip_scan(const char *s, size_t len, dns_ip_t *ip);
#endif
