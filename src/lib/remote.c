/* remote: the whole of qmail-remote (see qmail-remote(8)), which delivers
 * one message to one destination over SMTP.  Runs as qmailr: qmail-rspawn
 * runs this code in its workers (remote_run), without an exec.
 *
 *   qmail-remote host sender recipient...   (message on stdin; a pipe is
 *                                            copied to memory first)
 *
 * Results go to stdout as NUL-terminated records, one per recipient (r
 * accepted, h refused for good, s refused for now) and then one for the
 * message (K delivered, Z try later, D failed for good).  Exit code is 0
 * whatever happened, a usage error included (a D record).
 *
 * Nothing that comes from DNS or from the remote server is ever handed to
 * a shell or a terminal: it is only compared, connected to, or copied
 * (sanitised) into the report text. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "control.h"
#include "die.h"
#include "dns.h"
#include "fdio.h"
#include "num.h"
#include "quote.h"
#include "sa.h"
#include "smtpc.h"
#include "remote.h"
#include "tcpto.h"

#define TCPTO_FILE "queue/lock/tcpto"
/* the addresses we try for one destination, all MX hosts together */
#define HOSTS_MAX 128
/* one record's text: the report (all records) must stay below
 * qmail-rspawn's 10000 bytes */
#define TEXT_MAX 900
#define ADDR_MAX 1000 /* envelope address length we pass on */
/* a message read from a pipe is copied to memory first (it is read twice:
 * for its size, then for DATA); this bounds that copy */
#define PIPE_MAX (128UL << 20)

typedef struct {
  dns_ip_t ip;
  unsigned pref;
} host_t;

static host_t hosts[HOSTS_MAX];
static size_t nhosts;
static unsigned long timeoutconnect = 60, timeoutremote = 1200;
static dns_ip_t outip;
static int have_outip;
static sa_t helo;
static char ipstr[INET6_ADDRSTRLEN + 2]; /* the host we talk to, as text */

static char outspace[1024];
static buf_t bout = BUF_INIT(buf_write_op, 1, outspace, sizeof outspace);

/* remote_run's way back once the result is written; 0 in qmail-remote */
static jmp_buf *escape;

/* the delivery is over: back to remote_run, or out of the program */
static _Noreturn void end_run(void)
{
  if (escape) longjmp(*escape, 1);
  _exit(0);
}

/* ---- results ------------------------------------------------------------ */

/* one record: the letter, the parts (sanitised), the NUL.  As in qmail,
 * a text is lines, each ended by LF: our sentences and each line of a
 * reply are lines of their own (qmail-send logs LF as '/') */
static void record(char letter, const char *const *parts, size_t nparts)
{
  sa_t t = SA_INIT;
  if (!sa_append(&t, letter)) die_nomem();
  for (size_t i = 0; i < nparts; ++i)
    if (!smtpc_clean(&t, parts[i], strlen(parts[i]), TEXT_MAX)) die_nomem();
  if (t.len > TEXT_MAX + 1) {
    t.len = TEXT_MAX - 2;
    if (!sa_cats(&t, "...")) die_nomem();
  }
  if (t.len > 1 && t.s[t.len - 1] != '\n' && !sa_append(&t, '\n')) die_nomem();
  if (!sa_0(&t) || buf_put(&bout, t.s, t.len) == -1) {
    sa_free(&t);
    end_run();
  }
  sa_free(&t);
}

/* the message record; ends the program */
static _Noreturn void done4(char letter, const char *a, const char *b, const char *c,
                            const char *d)
{
  const char *p[4] = {a, b ? b : "", c ? c : "", d ? d : ""};
  record(letter, p, 4);
  buf_flush(&bout);
  end_run();
}
#define done(l, a, b, c) done4((l), (a), (b), (c), 0)
#define temp(a, b, c) done('Z', (a), (b), (c))
#define perm(a, b, c) done('D', (a), (b), (c))

/* ---- control ------------------------------------------------------------ */

static sa_t routes, locals;
static cmap_t routemap, localmap;
static int have_routes, have_locals;

static void get_controls(void)
{
  sa_t t = SA_INIT;
  int r;
  if (control_init() == -1) temp("Unable to read control files. (#4.3.0)", 0, 0);
  r = control_rldef(&helo, "helohost", 1, 0);
  if (r == -1) temp("Unable to read control/helohost. (#4.3.0)", 0, 0);
  if (!helo.len) temp("There is no control/me or control/helohost. (#4.3.0)", 0, 0);
  if (control_readint(&timeoutconnect, "timeoutconnect") == -1 ||
      control_readint(&timeoutremote, "timeoutremote") == -1)
    temp("Unable to read control files. (#4.3.0)", 0, 0);
  if (!timeoutconnect) timeoutconnect = 1;
  if (!timeoutremote) timeoutremote = 1;
  r = control_readfile(&routes, "smtproutes", 0);
  if (r == -1) temp("Unable to read control/smtproutes. (#4.3.0)", 0, 0);
  if (r == 1) {
    if (cmap_init(&routemap, &routes, 1) == -1) die_nomem();
    have_routes = 1;
  }
  r = control_readfile(&locals, "locals", 1);
  if (r == -1) temp("Unable to read control/locals. (#4.3.0)", 0, 0);
  if (locals.len) {
    if (cmap_init(&localmap, &locals, 0) == -1) die_nomem();
    have_locals = 1;
  }
  r = control_readline(&t, "outgoingip");
  if (r == -1) temp("Unable to read control/outgoingip. (#4.3.0)", 0, 0);
  if (r == 1 && t.len) {
    if (!dns_ip_scan(t.s, t.len, &outip)) temp("control/outgoingip is not an IP address. (#4.3.0)", 0, 0);
    have_outip = 1;
  }
  sa_free(&t);
}

/* ---- who we are --------------------------------------------------------- */

static int is_me_ip(const dns_ip_t *ip)
{
  static const unsigned char v4any[4], v6any[16];
  static const unsigned char v6lo[16] = {[15] = 1};
  struct ifaddrs *ifa, *i;
  int me = 0;
  if (ip->family == AF_INET && (ip->a[0] == 127 || memcmp(ip->a, v4any, 4) == 0)) return 1;
  if (ip->family == AF_INET6 && (memcmp(ip->a, v6lo, 16) == 0 || memcmp(ip->a, v6any, 16) == 0))
    return 1;
  /* cannot tell: delivering is still right, the receiver's own loop
   * checks will stop a real loop */
  if (getifaddrs(&ifa) == -1) return 0;
  for (i = ifa; i && !me; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET && ip->family == AF_INET)
      me = memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, ip->a, 4) == 0;
    else if (i->ifa_addr->sa_family == AF_INET6 && ip->family == AF_INET6)
      me = memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, ip->a, 16) == 0;
  }
  freeifaddrs(ifa);
  return me;
}

static int is_me_name(const char *name)
{
  size_t n = strlen(name);
  if (n && name[n - 1] == '.') --n;
  if (n == strlen(control_me()) && strncasecmp(name, control_me(), n) == 0) return 1;
  return have_locals && cmap_get(&localmap, name, n);
}

/* ---- where to ----------------------------------------------------------- */

static void add_host(const dns_ip_t *ip, unsigned pref)
{
  if (nhosts >= HOSTS_MAX) return;
  hosts[nhosts].ip = *ip;
  hosts[nhosts].pref = pref;
  ++nhosts;
}

/* the addresses of a relay or MX name; soft tells of temporary trouble */
static int resolve(const char *name, unsigned pref, int *soft, int *hard)
{
  dns_ip_t ip[DNS_IP_MAX];
  size_t n = 0;
  int r = dns_ip(name, ip, DNS_IP_MAX, &n);
  if (r == DNS_NOMEM) die_nomem();
  if (r == DNS_TEMP) ++*soft;
  if (r == DNS_NX || (r == DNS_OK && !n)) ++*hard;
  for (size_t i = 0; i < n; ++i) add_host(&ip[i], pref);
  return (int)n;
}

/* a route's relay: "host", "1.2.3.4", "[1.2.3.4]", "[ipv6:...]" or an
 * IPv6 address, each optionally followed by ":port" (IPv6 bracketed) */
static void route_to(const char *relay, unsigned long *port)
{
  const char *colon = 0;
  dns_ip_t ip;
  size_t n = strlen(relay);
  int soft = 0, hard = 0;
  char name[DNS_NAME_MAX];
  if (relay[0] == '[') {
    const char *e = strchr(relay, ']');
    if (!e) temp("Unparseable relay in control/smtproutes. (#4.3.5)", 0, 0);
    if (e[1] == ':') colon = e + 1;
    else if (e[1]) temp("Unparseable relay in control/smtproutes. (#4.3.5)", 0, 0);
  } else {
    colon = strchr(relay, ':');
    if (colon && strchr(colon + 1, ':')) colon = 0; /* a bare IPv6 address */
  }
  if (colon) {
    if (!scan_ulong_all(colon + 1, port) || !*port || *port > 65535)
      temp("Bad port in control/smtproutes. (#4.3.5)", 0, 0);
    n = (size_t)(colon - relay);
  }
  if (dns_ip_scan(relay, n, &ip)) {
    add_host(&ip, 0);
    return;
  }
  if (n >= sizeof name) temp("Relay name in control/smtproutes too long. (#4.3.5)", 0, 0);
  memcpy(name, relay, n);
  name[n] = 0;
  resolve(name, 0, &soft, &hard);
  if (nhosts) return;
  if (soft) temp("Temporary failure looking up the relay ", name, ". (#4.4.3)");
  temp("The relay ", name, " in control/smtproutes has no address. (#4.4.3)");
}

/* smtproutes: the host, then each .suffix of it, then the default "" */
static const char *route_of(const char *host)
{
  const char *v;
  size_t n = strlen(host);
  if (!have_routes) return 0;
  if ((v = cmap_get(&routemap, host, n))) return v;
  for (size_t i = 1; i < n; ++i)
    if (host[i] == '.' && (v = cmap_get(&routemap, host + i, n - i))) return v;
  return cmap_get(&routemap, "", 0);
}

static unsigned long rnd(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^ (unsigned long)ts.tv_sec;
}

static void mx_hosts(const char *host)
{
  static dns_mx_t mx[DNS_MX_MAX];
  size_t n = 0;
  unsigned prefme = UINT_MAX;
  int soft = 0, hard = 0, r;
  r = dns_mx(host, mx, DNS_MX_MAX, &n);
  if (r == DNS_NOMEM) die_nomem();
  if (r == DNS_NX) perm("Sorry, I couldn't find any host named ", host, ". (#5.1.2)");
  if (r == DNS_TEMP) temp("Temporary failure looking up the MX records of ", host, ". (#4.4.3)");
  if (!n) { /* no MX: the domain's own addresses, as if MX 0 */
    if (is_me_name(host)) prefme = 0;
    resolve(host, 0, &soft, &hard);
  } else {
    dns_mx_sort(mx, n, rnd());
    /* RFC 7505 null MX: the domain takes no mail */
    if (n == 1 && (mx[0].name[0] == 0 || strcmp(mx[0].name, ".") == 0))
      perm("The domain ", host, " does not accept mail (null MX). (#5.1.10)");
    for (size_t i = 0; i < n; ++i) {
      if (mx[i].pref >= prefme) break; /* sorted: nothing better follows */
      if (is_me_name(mx[i].name)) { prefme = mx[i].pref; break; }
      resolve(mx[i].name, mx[i].pref, &soft, &hard);
    }
  }
  for (size_t i = 0; i < nhosts; ++i)
    if (hosts[i].pref < prefme && is_me_ip(&hosts[i].ip)) prefme = hosts[i].pref;
  /* keep only the hosts better than us: the rest would hand the message
   * back to us or to our peers at our level */
  {
    size_t k = 0;
    for (size_t i = 0; i < nhosts; ++i)
      if (hosts[i].pref < prefme) hosts[k++] = hosts[i];
    nhosts = k;
  }
  if (nhosts) return;
  if (prefme != UINT_MAX) perm("Sorry. Although I'm listed as a best-preference MX or A for that host,\nit isn't in my control/locals file, so I don't treat it as local.\nThe mail for ", host, " loops back to myself. (#5.4.6)");
  if (soft) temp("Temporary failure looking up the mail hosts of ", host, ". (#4.4.3)");
  perm("Sorry, I couldn't find a mail host with an address for ", host, ". (#5.4.4)");
}

/* ---- SMTP --------------------------------------------------------------- */

static int sock = -1;
/* connection reuse: the socket to hand connections back on, the offered
 * connection and what we know of it, and the current one's record */
static int hbfd = -1, reusefd = -1;
static remote_conn_t reusec, cur;
static int reusing; /* this session runs on an offered connection */
static char inspace[4096], smtpspace[16384];
static buf_t bin, bsmtp;
static sa_t reply;

static ssize_t rd(int fd, void *b, size_t n) { return read_timeout(fd, b, n, (unsigned)timeoutremote); }
static ssize_t wr(int fd, void *b, size_t n) { return write_timeout(fd, b, n, (unsigned)timeoutremote); }

static int try_connect(const dns_ip_t *ip, unsigned long port)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  struct pollfd p;
  int fd, err = 0, r;
  socklen_t el = sizeof err;
  memset(&ss, 0, sizeof ss);
  if (ip->family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((unsigned short)port);
    memcpy(&s6->sin6_addr, ip->a, 16);
    sl = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)port);
    memcpy(&s4->sin_addr, ip->a, 4);
    sl = sizeof *s4;
  }
  fd = socket(ip->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1) return -1;
  /* outgoingip applies to destinations of its own family only */
  if (have_outip && outip.family == ip->family) {
    struct sockaddr_storage b;
    memset(&b, 0, sizeof b);
    if (ip->family == AF_INET6) {
      ((struct sockaddr_in6 *)&b)->sin6_family = AF_INET6;
      memcpy(&((struct sockaddr_in6 *)&b)->sin6_addr, outip.a, 16);
    } else {
      ((struct sockaddr_in *)&b)->sin_family = AF_INET;
      memcpy(&((struct sockaddr_in *)&b)->sin_addr, outip.a, 4);
    }
    if (bind(fd, (struct sockaddr *)&b, sl) == -1) goto fail;
  }
  if (connect(fd, (struct sockaddr *)&ss, sl) == 0) return fd;
  if (errno != EINPROGRESS) goto fail;
  p.fd = fd;
  p.events = POLLOUT;
  do r = poll(&p, 1, (int)(timeoutconnect > 86400 ? 86400000 : timeoutconnect * 1000));
  while (r == -1 && errno == EINTR);
  if (r == -1) goto fail;
  if (r == 0) { errno = ETIMEDOUT; goto fail; }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1) goto fail;
  if (err) { errno = err; goto fail; }
  return fd;
fail:
  err = errno;
  close(fd);
  errno = err;
  return -1;
}

/* the session's outcome when the connection broke: try the next host
 * before the envelope was sent, else give up for now */
static int lost_before_mail;

static int get_reply(void)
{
  int c = smtpc_reply(&bin, &reply);
  if (c == -2) { /* junk: no sensible reply text to show */
    if (!sa_copys(&reply, "(malformed reply)")) die_nomem();
  }
  return c;
}

static void lost(const char *what)
{
  if (lost_before_mail) return;
  temp("Connection to ", ipstr, what);
}

static void out_s(const char *s)
{
  if (buf_puts(&bsmtp, s) == -1) lost(" lost while sending. (#4.4.2)");
}

/* an envelope address, its local part quoted when it is not a dot-atom */
static void out_addr(const char *a)
{
  static sa_t q;
  q.len = 0;
  if (!quote_addr(&q, a) || !sa_0(&q)) die_nomem();
  out_s(q.s);
}

static void flush_out(void)
{
  if (buf_flush(&bsmtp) == -1) lost(" lost while sending. (#4.4.2)");
}

void remote_reuse(int handback, int fd, const remote_conn_t *c)
{
  hbfd = handback;
  reusefd = fd;
  if (c) reusec = *c;
}

/* gives the connection back to qmail-rspawn; true if it took it */
static int hand_back(void)
{
  if (hbfd == -1 || time(0) - cur.born >= REMOTE_CONN_AGE) return 0;
  return fd_send(hbfd, &cur, sizeof cur, &sock, 1, MSG_DONTWAIT) == (ssize_t)sizeof cur;
}

static void quit(void)
{
  /* polite, but nothing depends on the answer */
  buf_puts(&bsmtp, "QUIT\r\n");
  buf_flush(&bsmtp);
}

static sa_t said; /* "Remote host said: ..." line(s) of the last reply, after an LF */
static sa_t mailsaid; /* the same for the reply to MAIL */

static const char *remote_said(void)
{
  said.len = 0;
  if (!sa_copys(&said, "\nRemote host said: ") || !sa_catb(&said, reply.s, reply.len) ||
      !sa_0(&said))
    die_nomem();
  return said.s;
}

/* why the session ended before the envelope: at what step ("greeting",
 * "EHLO", "HELO"), with the reply code c (-1: no reply, errno says why) */
static sa_t failed;

static int fail_at(const char *what, int c)
{
  int e = errno, greeting = !strcmp(what, "greeting");
  failed.len = 0;
  if (!sa_copys(&failed, "Connected to ") || !sa_cats(&failed, ipstr) || !sa_cats(&failed, " but "))
    die_nomem();
  if (c != -1) {
    if (!sa_cats(&failed, greeting ? "the greeting" : what) || !sa_cats(&failed, " failed. (#4.4.2)") ||
        !sa_cats(&failed, remote_said()))
      die_nomem();
  } else if (e == 0) {
    if (!sa_cats(&failed, greeting ? "the connection was closed before the greeting"
                                   : "the connection was closed after ") ||
        (!greeting && !sa_cats(&failed, what)) || !sa_cats(&failed, ". (#4.4.2)"))
      die_nomem();
  } else if (e == ETIMEDOUT) {
    if (!sa_cats(&failed, greeting ? "no greeting came" : "no reply to ") ||
        (!greeting && !sa_cats(&failed, what)) ||
        !sa_cats(&failed, " before the timeout (control/timeoutremote). (#4.4.2)"))
      die_nomem();
  } else {
    if (!sa_cats(&failed, "reading the reply to ") ||
        !sa_cats(&failed, greeting ? "the connection" : what) || !sa_cats(&failed, " failed: ") ||
        !sa_cats(&failed, strerror(e)) || !sa_cats(&failed, ". (#4.4.2)"))
      die_nomem();
  }
  return 1;
}

typedef struct {
  int ok;     /* 1 accepted */
  char letter; /* record letter when refused */
  sa_t text;
} rcpt_t;
static rcpt_t results[1024];
static size_t nres; /* entries of results the current run uses */

/* 1: the session failed before the envelope; try another host */
static int smtp(const char *sender, char **rcpt, rcpt_t *res, size_t nrcpt,
                unsigned long long msgsize, int eight)
{
  smtpc_ext_t ext;
  smtpc_data_t dw;
  char num[FMT_ULONG];
  size_t accepted = 0;
  int c, mailc;

  buf_init(&bin, rd, sock, inspace, sizeof inspace);
  buf_init(&bsmtp, wr, sock, smtpspace, sizeof smtpspace);
  lost_before_mail = 1;

  if (reusing) {
    /* greeted long ago; what EHLO said then still holds */
    memset(&ext, 0, sizeof ext);
    ext.size = cur.size;
    ext.maxsize = cur.maxsize;
    ext.pipelining = cur.pipelining;
    ext.eightbitmime = cur.eightbitmime;
    goto greeted;
  }
  c = get_reply();
  if (c < 200 || c > 299) {
    fail_at("greeting", c);
    if (c != -1) quit(); /* as qmail: a refusing server is still told */
    return 1;
  }
  out_s("EHLO ");
  out_s(helo.s);
  out_s("\r\n");
  flush_out();
  c = get_reply();
  if (c == -1) return fail_at("EHLO", c);
  if (c >= 200 && c <= 299) {
    smtpc_ehlo(&reply, &ext);
  } else {
    memset(&ext, 0, sizeof ext);
    out_s("HELO ");
    out_s(helo.s);
    out_s("\r\n");
    flush_out();
    c = get_reply();
    if (c < 200 || c > 299) {
      fail_at("HELO", c);
      if (c != -1) quit();
      return 1;
    }
  }
  cur.size = ext.size;
  cur.maxsize = ext.maxsize;
  cur.pipelining = ext.pipelining;
  cur.eightbitmime = ext.eightbitmime;
greeted:
  /* on an offered connection, a failure before the reply to MAIL means
   * it had gone stale: nothing happened, try a fresh one */
  lost_before_mail = reusing;

  if (ext.size && ext.maxsize && msgsize > ext.maxsize) {
    quit();
    num[fmt_ulong(num, (unsigned long)ext.maxsize)] = 0;
    perm("Sorry, the message is bigger than the ", num,
         "-byte limit of the remote host. (#5.3.4)");
  }

  out_s("MAIL FROM:<");
  out_addr(sender);
  out_s(">");
  if (ext.size) {
    num[fmt_ulong(num, (unsigned long)msgsize)] = 0;
    out_s(" SIZE=");
    out_s(num);
  }
  if (ext.eightbitmime && eight) out_s(" BODY=8BITMIME");
  out_s("\r\n");
  if (ext.pipelining) {
    /* MAIL and every RCPT go out together; then their replies, in order */
    for (size_t i = 0; i < nrcpt; ++i) {
      if (res[i].letter) continue; /* refused locally */
      out_s("RCPT TO:<");
      out_addr(rcpt[i]);
      out_s(">\r\n");
    }
  }
  flush_out();
  mailc = get_reply();
  if (reusing && (mailc == -1 || mailc == 421)) return 1;
  lost_before_mail = 0;
  if (mailc == -1) lost(" lost after MAIL. (#4.4.2)");
  if (!sa_copys(&mailsaid, remote_said()) || !sa_0(&mailsaid)) die_nomem();
  for (size_t i = 0; i < nrcpt; ++i) {
    if (res[i].letter) continue;
    if (!ext.pipelining) {
      if (mailc < 200 || mailc > 299) break;
      out_s("RCPT TO:<");
      out_addr(rcpt[i]);
      out_s(">\r\n");
      flush_out();
    }
    c = get_reply();
    if (c == -1) lost(" lost after RCPT. (#4.4.2)");
    if (mailc < 200 || mailc > 299) continue; /* pipelined RCPTs after a refused MAIL */
    if (c >= 200 && c <= 299) {
      res[i].ok = 1;
      ++accepted;
    } else {
      res[i].letter = c >= 500 && c <= 599 ? 'h' : 's';
      if (!sa_copys(&res[i].text, ipstr) || !sa_cats(&res[i].text, " does not like recipient.") ||
          !sa_cats(&res[i].text, remote_said()) || !sa_0(&res[i].text))
        die_nomem();
    }
  }
  if (mailc < 200 || mailc > 299) {
    quit();
    done4(mailc >= 500 && mailc <= 599 ? 'D' : 'Z', "Connected to ", ipstr,
          " but sender was rejected.", mailsaid.s);
  }
  /* recipient records now; the message record follows */
  for (size_t i = 0; i < nrcpt; ++i) {
    const char *p[1] = {res[i].ok ? "" : res[i].text.s ? res[i].text.s : ""};
    record(res[i].ok ? 'r' : res[i].letter, p, 1);
  }
  /* as qmail's: D even when some refusals were temporary; each
   * recipient's own record (s or h) decides its fate */
  if (!accepted) {
    quit();
    done('D', "Giving up on ", ipstr, ".");
  }
  out_s("DATA\r\n");
  flush_out();
  c = get_reply();
  if (c == -1) lost(" lost after DATA. (#4.4.2)");
  if (c < 300 || c > 399) {
    const char *s = remote_said();
    quit();
    done4(c >= 500 && c <= 599 ? 'D' : 'Z', ipstr, " failed on DATA command.", s, 0);
  }
  {
    char mspace[65536];
    buf_t m = BUF_INIT(buf_read_op, 0, mspace, sizeof mspace);
    smtpc_data_init(&dw);
    if (lseek(0, 0, SEEK_SET) != 0) temp("Unable to rewind the message. (#4.3.0)", 0, 0);
    for (;;) {
      ssize_t r = buf_feed(&m);
      if (r == 0) break;
      if (r < 0) temp("Unable to read the message. (#4.3.0)", 0, 0);
      if (smtpc_data(&dw, &bsmtp, buf_peek(&m), (size_t)r) == -1)
        lost(" lost while sending the message. (#4.4.2)");
      buf_skip(&m, (size_t)r);
    }
    if (smtpc_data_end(&dw, &bsmtp) == -1) lost(" lost while sending the message. (#4.4.2)");
    flush_out();
  }
  c = get_reply();
  /* only a 2xx to the final dot is a delivery */
  if (c == -1)
    temp("Connection to ", ipstr, " lost after the message was sent; possibly delivered twice. (#4.4.2)");
  {
    const char *s = remote_said();
    if (c >= 200 && c <= 299) {
      if (!hand_back()) quit();
      done('K', ipstr, " accepted message.", s);
    }
    quit();
    done(c >= 500 && c <= 599 ? 'D' : 'Z', ipstr, " failed after I sent the message.", s);
  }
}

/* ---- main --------------------------------------------------------------- */

static int bad_addr(const char *a)
{
  size_t n = strlen(a);
  if (n > ADDR_MAX) return 1;
  for (size_t i = 0; i < n; ++i)
    if ((unsigned char)a[i] < 32 || a[i] == 127) return 1; /* would break the command line */
  return 0;
}

/* makes fd 0 seekable: a message on a pipe is copied into an anonymous
 * memory file (or an unlinked file in /tmp), which becomes fd 0 */
static void seekable_stdin(void)
{
  char b[65536];
  size_t total = 0;
  int fd;
  if (lseek(0, 0, SEEK_SET) == 0) return;
  if (errno != ESPIPE) temp("Unable to rewind the message. (#4.3.0)", 0, 0);
  fd = memfd_create("qmail-remote", MFD_CLOEXEC);
  if (fd == -1) fd = open("/tmp", O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
  if (fd == -1) temp("Unable to make a copy of the message from the pipe. (#4.3.0)", 0, 0);
  for (;;) {
    ssize_t r = read(0, b, sizeof b);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) temp("Unable to read the message. (#4.3.0)", 0, 0);
    if (r == 0) break;
    if ((size_t)r > PIPE_MAX - total)
      temp("The message on the pipe is too big to copy (over 128 MiB); give it as a file. (#4.3.0)", 0, 0);
    total += (size_t)r;
    if (write_all(fd, b, (size_t)r) == -1)
      temp("Unable to make a copy of the message from the pipe. (#4.3.0)", 0, 0);
  }
  if (fd_move(0, fd) == -1 || lseek(0, 0, SEEK_SET) != 0)
    temp("Unable to make a copy of the message from the pipe. (#4.3.0)", 0, 0);
}

_Noreturn void remote_main(int argc, char **argv)
{
  const char *host, *sender, *route;
  unsigned long port = 25;
  rcpt_t *res = results;
  size_t nrcpt, live = 0;
  unsigned long long msgsize;
  int eight, anydead = 0;
  unsigned long window;
  sa_t why = SA_INIT;

  PROG = "qmail-remote";
  /* as qmail's: even a usage error is a record, and the exit code 0 */
  if (argc < 4) perm("I (qmail-remote) was invoked improperly. (#5.3.5)", 0, 0);
  signal(SIGPIPE, SIG_IGN);
  host = argv[1];
  sender = argv[2];
  nrcpt = (size_t)(argc - 3);
  if (nrcpt > sizeof results / sizeof results[0]) temp("Too many recipients at once. (#4.3.0)", 0, 0);
  nres = nrcpt;
  if (chdir(auto_qmail) == -1) temp("Unable to switch to the qmail home directory. (#4.3.0)", 0, 0);
  get_controls();
  if (bad_addr(sender)) perm("The sender address is not valid. (#5.1.7)", 0, 0);
  for (size_t i = 0; i < nrcpt; ++i) {
    if (bad_addr(argv[3 + i])) {
      res[i].letter = 'h';
      if (!sa_copys(&res[i].text, "The recipient address is not valid. (#5.1.3)") || !sa_0(&res[i].text))
        die_nomem();
    } else {
      ++live;
    }
  }
  if (!live) {
    for (size_t i = 0; i < nrcpt; ++i) {
      const char *p[1] = {res[i].text.s};
      record('h', p, 1);
    }
    perm("No valid recipients.", 0, 0);
  }

  /* the message: its size as sent and whether it has 8-bit bytes */
  {
    char mspace[65536];
    buf_t m = BUF_INIT(buf_read_op, 0, mspace, sizeof mspace);
    smtpc_data_t dw;
    smtpc_data_init(&dw);
    seekable_stdin();
    for (;;) {
      ssize_t r = buf_feed(&m);
      if (r == 0) break;
      if (r < 0) temp("Unable to read the message. (#4.3.0)", 0, 0);
      smtpc_data(&dw, 0, buf_peek(&m), (size_t)r);
      buf_skip(&m, (size_t)r);
    }
    smtpc_data_end(&dw, 0);
    msgsize = dw.n;
    eight = dw.eight;
  }

  /* the record a handed-back connection will carry */
  {
    size_t k;
    for (k = 0; host[k] && k < sizeof cur.host - 1; ++k)
      cur.host[k] = (char)((host[k] >= 'A' && host[k] <= 'Z') ? host[k] + 32 : host[k]);
    cur.host[k] = 0;
    if (host[k]) hbfd = -1; /* too long to be a key: no reuse */
  }
  if (reusefd != -1) {
    struct pollfd p = {reusefd, POLLIN, 0};
    /* anything to read on an idle connection is its end (EOF, 421) */
    if (!strcmp(reusec.host, cur.host) && poll(&p, 1, 0) == 0) {
      sock = reusefd;
      reusing = 1;
      cur.born = reusec.born;
      memcpy(ipstr, reusec.ip, sizeof ipstr < sizeof reusec.ip ? sizeof ipstr : sizeof reusec.ip);
      ipstr[sizeof ipstr - 1] = 0;
      memcpy(cur.ip, ipstr, sizeof cur.ip);
      smtp(sender, argv + 3, res, nrcpt, msgsize, eight); /* returns only if stale */
      reusing = 0;
    }
    close(reusefd);
    reusefd = sock = -1;
  }

  route = route_of(host);
  if (route && *route) route_to(route, &port);
  else if (host[0] == '[') {
    dns_ip_t ip;
    if (!dns_ip_scan(host, strlen(host), &ip)) perm("Unparseable address literal ", host, ". (#5.1.2)");
    if (is_me_ip(&ip)) perm("The address literal ", host, " is this host: the mail loops back to myself. (#5.4.6)");
    add_host(&ip, 0);
  } else {
    mx_hosts(host);
  }

  /* several best hosts of equal preference share the load between them
   * (RFC 5321 5.1): a connection kept for reuse would draw every later
   * message to the one that happened to be picked, so none is kept */
  if (nhosts > 1 && hosts[1].pref == hosts[0].pref) hbfd = -1;

  window = TCPTO_WINDOW_MIN + rnd() % TCPTO_WINDOW_SPAN;
  if (!sa_copys(&why, "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)"))
    die_nomem();
  for (size_t i = 0; i < nhosts; ++i) {
    dns_ip_fmt(&hosts[i].ip, ipstr);
    if (tcpto_dead(TCPTO_FILE, &hosts[i].ip, window)) {
      anydead = 1;
      continue;
    }
    sock = try_connect(&hosts[i].ip, port);
    if (sock == -1) {
      int e = errno;
      tcpto_mark(TCPTO_FILE, &hosts[i].ip, e == ETIMEDOUT);
      why.len = 0;
      if (!sa_copys(&why, "Sorry, I wasn't able to establish an SMTP connection: ") ||
          !sa_cats(&why, ipstr) || !sa_cats(&why, e == ETIMEDOUT ? " timed out" : ": ") ||
          (e != ETIMEDOUT && !sa_cats(&why, strerror(e))) || !sa_cats(&why, ". (#4.4.1)"))
        die_nomem();
      continue;
    }
    tcpto_mark(TCPTO_FILE, &hosts[i].ip, 0);
    cur.born = (long)time(0);
    memcpy(cur.ip, ipstr, sizeof cur.ip);
    if (smtp(sender, argv + 3, res, nrcpt, msgsize, eight) == 1) {
      why.len = 0;
      if (!sa_catb(&why, failed.s, failed.len)) die_nomem();
      close(sock);
      sock = -1;
      continue;
    }
  }
  if (!sa_0(&why)) die_nomem();
  if (anydead && nhosts)
    temp(why.s, "\nSome mail hosts were skipped: they timed out recently (see qmail-tcpto).", 0);
  temp(why.s, 0, 0);
}

/* Everything one run may have changed goes back to how a fresh process
 * starts, so a worker's next delivery cannot see the last one's
 * controls, hosts, recipients or connection. */
static void run_reset(void)
{
  for (size_t i = 0; i < nres; ++i) {
    sa_free(&results[i].text);
    results[i].ok = 0;
    results[i].letter = 0;
  }
  nres = 0;
  nhosts = 0;
  timeoutconnect = 60;
  timeoutremote = 1200;
  have_outip = 0;
  if (have_routes) cmap_free(&routemap);
  if (have_locals) cmap_free(&localmap);
  have_routes = have_locals = 0;
  memset(&cur, 0, sizeof cur);
  reusing = lost_before_mail = 0;
  buf_init(&bout, buf_write_op, 1, outspace, sizeof outspace);
}

void remote_run(int argc, char **argv)
{
  jmp_buf j;
  run_reset();
  if (setjmp(j) == 0) {
    escape = &j;
    remote_main(argc, argv);
  }
  escape = 0;
  /* a connection handed back is the caller's copy now; ours goes */
  if (sock != -1 && sock != reusefd) close(sock);
  if (reusefd != -1) close(reusefd);
  sock = reusefd = hbfd = -1;
  run_reset();
}
