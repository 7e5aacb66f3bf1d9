/* tcp-env: for a program started by inetd (or anything else) with a TCP
 * connection on fd 0: describes the connection in the tcp-environ(5)
 * variables, PROTO=TCP and TCPLOCAL*, TCPREMOTE*, then execs the program.
 * Host names only when the reverse name's forward lookup gives the address
 * back; TCPREMOTEINFO from the client's ident server (RFC 1413), with a
 * deadline, a bounded read and a sanitised answer (tcp-env(1)). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "die.h"
#include "num.h"
#include "proc.h"
#include "sa.h"

const char *PROG = "tcp-env";

#define USAGE "tcp-env [-rR] [-t timeout] program [arg...]"
/* seconds for the whole ident exchange (connect, query, answer) */
#define TIMEOUT_DEFAULT 30
#define TIMEOUT_MAX 3600
/* an ident answer is one short line (RFC 1413 caps lines at 1000
 * characters); we read at most this many bytes, whatever comes */
#define IDENT_READ_MAX 1000
/* the user id kept: ends up in Received lines and logs */
#define IDENT_USER_MAX 64
#define IDENT_PORT 113

typedef struct {
  struct sockaddr_storage ss;
  socklen_t len;
} addr_t;

static void xsetenv(const char *name, const char *value)
{
  if (value) {
    if (setenv(name, value, 1) == -1) die_nomem();
  } else if (unsetenv(name) == -1) {
    die_sys(111, "unable to unset ", name);
  }
}

/* an IPv4-mapped IPv6 address becomes the plain IPv4 one (as tcpserver
 * shows it), so TCPREMOTEIP and the ident connection use IPv4 */
static void unmap(addr_t *a)
{
  const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
  struct sockaddr_in s4;
  if (a->ss.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) return;
  memset(&s4, 0, sizeof s4);
  s4.sin_family = AF_INET;
  s4.sin_port = s6->sin6_port;
  memcpy(&s4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
  memset(&a->ss, 0, sizeof a->ss);
  memcpy(&a->ss, &s4, sizeof s4);
  a->len = sizeof s4;
}

static unsigned port_of(const addr_t *a)
{
  if (a->ss.ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
  return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static void set_port(addr_t *a, unsigned port)
{
  if (a->ss.ss_family == AF_INET)
    ((struct sockaddr_in *)&a->ss)->sin_port = htons((unsigned short)port);
  else
    ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((unsigned short)port);
}

/* the address bytes and their count */
static const void *ip_of(const addr_t *a, size_t *n)
{
  if (a->ss.ss_family == AF_INET) {
    *n = 4;
    return &((const struct sockaddr_in *)&a->ss)->sin_addr;
  }
  *n = 16;
  return &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
}

static void ip_text(const addr_t *a, char *out, size_t n)
{
  size_t len;
  if (!inet_ntop(a->ss.ss_family, ip_of(a, &len), out, (socklen_t)n)) die_bug();
}

static bool host_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

/* a name we are willing to put into the environment: host-name characters
 * only, at most 253 of them, and not something the resolver would read as
 * an address (a PTR record "127.0.0.1" must not confirm itself) */
static bool host_ok(const char *s)
{
  size_t n = strlen(s);
  struct in_addr a4;
  struct in6_addr a6;
  if (n == 0 || n > 253) return false;
  for (size_t i = 0; i < n; i++)
    if (!host_char(s[i])) return false;
  if (inet_aton(s, &a4) || inet_pton(AF_INET6, s, &a6) == 1) return false;
  return true;
}

/* the address's name, lowercased, if one of the name's addresses (same
 * family) is the address itself; false for no name, an unconfirmed name
 * or any lookup failure */
static bool host_confirmed(const addr_t *a, char *host, size_t size)
{
  struct addrinfo hints, *res = 0;
  size_t n, m;
  const void *ip = ip_of(a, &n);
  bool found = false;
  if (getnameinfo((const struct sockaddr *)&a->ss, a->len, host, (socklen_t)size, 0, 0, NI_NAMEREQD))
    return false;
  if (!host_ok(host)) return false;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = a->ss.ss_family;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, 0, &hints, &res)) return false;
  for (const struct addrinfo *r = res; r && !found; r = r->ai_next) {
    addr_t b;
    if (r->ai_family != a->ss.ss_family || r->ai_addrlen > sizeof b.ss) continue;
    memcpy(&b.ss, r->ai_addr, r->ai_addrlen);
    b.len = r->ai_addrlen;
    if (!memcmp(ip_of(&b, &m), ip, n)) found = true;
  }
  freeaddrinfo(res);
  if (found)
    for (char *p = host; *p; p++)
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  return found;
}

/* ---- ident (RFC 1413) ---- */

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* waits for ev on fd until the deadline: 1 ready, 0 timed out, -1 error */
static int wait_fd(int fd, short ev, long long deadline)
{
  for (;;) {
    struct pollfd p = {.fd = fd, .events = ev};
    long long left = deadline - now_ms();
    int r;
    if (left <= 0) return 0;
    r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) return -1;
    if (r == 1) return 1;
  }
}

static const char *skip_blanks(const char *s)
{
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

/* "<digits> <blanks>" at *s: the number, advancing *s; false if none */
static bool ident_port(const char **s, unsigned long *port)
{
  size_t n = scan_ulong(skip_blanks(*s), port);
  if (!n || *port > 65535) return false;
  *s = skip_blanks(skip_blanks(*s) + n);
  return true;
}

/* Parses "rport , lport : USERID : opsys[,charset] : user-id" for the
 * ports we asked about and appends the user id, sanitised, to out.
 * Every byte outside [A-Za-z0-9._+=-] becomes '?', and only the first
 * IDENT_USER_MAX bytes are kept: the value goes into Received lines. */
static bool ident_parse(const char *line, unsigned rport, unsigned lport, sa_t *out)
{
  const char *s = line, *e;
  unsigned long p1, p2;
  size_t n;
  if (!ident_port(&s, &p1) || *s++ != ',' || !ident_port(&s, &p2) || *s++ != ':') return false;
  if (p1 != rport || p2 != lport) return false;
  s = skip_blanks(s);
  if (strncasecmp(s, "USERID", 6)) return false;
  s = skip_blanks(s + 6);
  if (*s++ != ':') return false;
  s = strchr(s, ':'); /* past the operating system and character set */
  if (!s) return false;
  s = skip_blanks(s + 1);
  e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
  n = (size_t)(e - s);
  if (n == 0) return false;
  if (n > IDENT_USER_MAX) n = IDENT_USER_MAX;
  out->len = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr("._+=-", c));
    if (!sa_append(out, ok ? c : '?')) die_nomem();
  }
  if (!sa_0(out)) die_nomem();
  return true;
}

/* asks the ident server on the remote host, from our local address, who
 * owns the connection; false when there is no usable answer in time */
static bool ident(const addr_t *local, const addr_t *remote, unsigned secs, sa_t *out)
{
  long long deadline = now_ms() + (long long)secs * 1000;
  addr_t me = *local, peer = *remote;
  char q[2 * FMT_ULONG + 8], in[IDENT_READ_MAX + 1];
  size_t qn = 0, got = 0;
  int fd, err = 0;
  socklen_t el = sizeof err;
  bool ok = false;

  set_port(&me, 0);
  set_port(&peer, IDENT_PORT);
  fd = socket(me.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) return false;
  if (bind(fd, (struct sockaddr *)&me.ss, me.len) == -1) goto done;
  if (connect(fd, (struct sockaddr *)&peer.ss, peer.len) == -1) {
    if (errno != EINPROGRESS) goto done;
    if (wait_fd(fd, POLLOUT, deadline) != 1) goto done;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err) goto done;
  }
  /* the query names the port on the server's side first */
  qn += fmt_ulong(q + qn, port_of(remote));
  memcpy(q + qn, " , ", 3);
  qn += 3;
  qn += fmt_ulong(q + qn, port_of(local));
  memcpy(q + qn, "\r\n", 2);
  qn += 2;
  for (size_t off = 0; off < qn;) {
    ssize_t w;
    if (wait_fd(fd, POLLOUT, deadline) != 1) goto done;
    w = send(fd, q + off, qn - off, MSG_NOSIGNAL);
    if (w == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) goto done;
    off += (size_t)w;
  }
  /* one line: up to LF, EOF, IDENT_READ_MAX bytes or the deadline */
  while (got < IDENT_READ_MAX && !memchr(in, '\n', got)) {
    ssize_t r;
    if (wait_fd(fd, POLLIN, deadline) != 1) goto done;
    r = read(fd, in + got, IDENT_READ_MAX - got);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r == -1) goto done;
    if (r == 0) break;
    got += (size_t)r;
  }
  {
    char *lf = memchr(in, '\n', got);
    if (!lf && got == IDENT_READ_MAX) goto done; /* no line end: not an answer */
    if (lf) got = (size_t)(lf - in);
    if (got && in[got - 1] == '\r') got--;
    in[got] = 0;
    if (memchr(in, 0, got)) goto done;
    ok = ident_parse(in, port_of(remote), port_of(local), out);
  }
done:
  close(fd);
  return ok;
}

int main(int argc, char **argv)
{
  bool do_ident = true, have_peer;
  unsigned long timeout = TIMEOUT_DEFAULT;
  const char *proto = env_get("PROTO");
  char lip[INET6_ADDRSTRLEN], rip[INET6_ADDRSTRLEN], num[FMT_ULONG];
  char host[NI_MAXHOST];
  addr_t local, remote;
  sa_t info = SA_INIT;
  int opt, type;
  socklen_t tl = sizeof type;

  /* "+": options stop at the program, whose own options are its own.
   * As qmail's, an unknown option is skipped and every failure of ours
   * is temporary (111): tcp-env runs inside inetd and tcpserver lines. */
  opterr = 0;
  while ((opt = getopt(argc, argv, "+rRt:")) != -1)
    switch (opt) {
    case 'r': do_ident = true; break;
    case 'R': do_ident = false; break;
    case 't':
      if (!scan_ulong_all(optarg, &timeout) || timeout < 1 || timeout > TIMEOUT_MAX)
        die_temp("usage: ", USAGE);
      break;
    default: break;
    }
  argv += optind;
  if (!*argv) die_temp("usage: ", USAGE);

  /* already described (tcpserver, or tcp-env twice): leave it all alone */
  if (proto && !strcmp(proto, "TCP")) {
    execvp(argv[0], argv);
    die_sys(111, "unable to run ", argv[0]);
  }

  local.len = sizeof local.ss;
  if (getsockname(0, (struct sockaddr *)&local.ss, &local.len) == -1) {
    if (errno == ENOTSOCK) die_temp("standard input is not a socket");
    if (errno == EBADF) die_temp("standard input is not open");
    die_sys(111, "unable to get the local address of standard input");
  }
  if ((local.ss.ss_family != AF_INET && local.ss.ss_family != AF_INET6) ||
      getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tl) == -1 || type != SOCK_STREAM)
    die_temp("standard input is not a TCP socket");
  unmap(&local);
  remote.len = sizeof remote.ss;
  /* no peer: a listening socket (inetd "wait"), or the client has gone */
  have_peer = getpeername(0, (struct sockaddr *)&remote.ss, &remote.len) == 0 &&
              (remote.ss.ss_family == AF_INET || remote.ss.ss_family == AF_INET6);
  if (have_peer) unmap(&remote);

  xsetenv("PROTO", "TCP");
  ip_text(&local, lip, sizeof lip);
  xsetenv("TCPLOCALIP", lip);
  num[fmt_ulong(num, port_of(&local))] = 0;
  xsetenv("TCPLOCALPORT", num);
  xsetenv("TCPLOCALHOST", host_confirmed(&local, host, sizeof host) ? host : 0);
  if (have_peer) {
    ip_text(&remote, rip, sizeof rip);
    xsetenv("TCPREMOTEIP", rip);
    num[fmt_ulong(num, port_of(&remote))] = 0;
    xsetenv("TCPREMOTEPORT", num);
    xsetenv("TCPREMOTEHOST", host_confirmed(&remote, host, sizeof host) ? host : 0);
    xsetenv("TCPREMOTEINFO",
            do_ident && remote.ss.ss_family == local.ss.ss_family &&
                    ident(&local, &remote, (unsigned)timeout, &info)
                ? info.s
                : 0);
  } else {
    xsetenv("TCPREMOTEIP", 0);
    xsetenv("TCPREMOTEPORT", 0);
    xsetenv("TCPREMOTEHOST", 0);
    xsetenv("TCPREMOTEINFO", 0);
  }
  execvp(argv[0], argv);
  die_sys(111, "unable to run ", argv[0]);
}
