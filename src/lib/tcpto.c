/* tcpto: see tcpto.h */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fdio.h"
#include "num.h"
#include "tcpto.h"

static size_t alen(int family) { return family == AF_INET6 ? 16 : 4; }

static unsigned char fambyte(int family) { return family == AF_INET6 ? 6 : 4; }

static time_t get_time(const unsigned char *r)
{
  unsigned long long t = 0;
  for (int i = 8; i < 16; ++i) t = (t << 8) | r[i];
  return (time_t)t;
}

static void put_time(unsigned char *r, time_t now)
{
  unsigned long long t = now < 0 ? 0 : (unsigned long long)now;
  for (int i = 15; i >= 8; --i) {
    r[i] = (unsigned char)(t & 0xff);
    t >>= 8;
  }
}

static long find(const unsigned char *b, size_t len, const dns_ip_t *ip)
{
  for (size_t i = 0; i + TCPTO_REC <= len; i += TCPTO_REC)
    if (b[i] == fambyte(ip->family) && memcmp(b + i + 16, ip->a, alen(ip->family)) == 0)
      return (long)i;
  return -1;
}

int tcpto_scan(const unsigned char *b, size_t len, const dns_ip_t *ip, time_t now,
               unsigned long window)
{
  long i = find(b, len, ip);
  time_t last;
  if (i < 0 || b[i + 1] < 2) return 0;
  last = get_time(b + i);
  /* a clock that went backwards does not keep a host dead for ever */
  return now >= last && (unsigned long)(now - last) < window;
}

void tcpto_note(unsigned char *b, size_t len, const dns_ip_t *ip, time_t now, int timedout)
{
  long i = find(b, len, ip);
  if (!timedout) {
    if (i >= 0) memset(b + i, 0, TCPTO_REC);
    return;
  }
  if (i >= 0) {
    time_t last = get_time(b + i);
    if (now >= last && now - last < TCPTO_GAP) return;
    if (b[i + 1] < 255) ++b[i + 1];
    put_time(b + i, now);
    return;
  }
  /* a free slot, else the one whose last timeout is oldest */
  for (size_t j = 0; j + TCPTO_REC <= len; j += TCPTO_REC) {
    if (!b[j]) { i = (long)j; break; }
    if (i < 0 || get_time(b + j) < get_time(b + i)) i = (long)j;
  }
  if (i < 0) return; /* no slots at all */
  memset(b + i, 0, TCPTO_REC);
  b[i] = fambyte(ip->family);
  b[i + 1] = 1;
  put_time(b + i, now);
  memcpy(b + i + 16, ip->a, alen(ip->family));
}

int tcpto_rec(const unsigned char *b, size_t i, dns_ip_t *ip, unsigned *count, time_t *last)
{
  const unsigned char *r = b + i * TCPTO_REC;
  if (r[0] != 4 && r[0] != 6) return 0;
  memset(ip, 0, sizeof *ip);
  ip->family = r[0] == 6 ? AF_INET6 : AF_INET;
  memcpy(ip->a, r + 16, alen(ip->family));
  *count = r[1];
  *last = get_time(r);
  return 1;
}

int tcpto_line(sa_t *out, const dns_ip_t *ip, unsigned count, time_t last, time_t now)
{
  char a[INET6_ADDRSTRLEN + 1], n[FMT_ULONG];
  dns_ip_fmt(ip, a);
  if (!sa_cats(out, a) || !sa_cats(out, " timed out ")) return 0;
  n[fmt_ulong(n, now >= last ? (unsigned long)(now - last) : 0)] = 0;
  if (!sa_cats(out, n) || !sa_cats(out, " seconds ago; # recent timeouts: ")) return 0;
  n[fmt_ulong(n, count)] = 0;
  return sa_cats(out, n) && sa_append(out, '\n');
}

/* reads the whole file under the lock; returns the fd (locked) or -1 */
static int load(const char *path, int flags, unsigned char *b, size_t *len)
{
  int fd = open(path, flags | O_CLOEXEC);
  ssize_t r;
  if (fd == -1) return -1;
  if (lock_ex(fd) == -1) { close(fd); return -1; }
  r = pread(fd, b, TCPTO_FILE_MAX, 0);
  if (r < 0) { close(fd); return -1; }
  *len = (size_t)r - (size_t)r % TCPTO_REC;
  return fd;
}

int tcpto_dead(const char *path, const dns_ip_t *ip, unsigned long window)
{
  static unsigned char b[TCPTO_FILE_MAX];
  size_t len;
  int fd = load(path, O_RDONLY, b, &len), dead;
  if (fd == -1) return 0;
  dead = tcpto_scan(b, len, ip, time(0), window);
  close(fd);
  return dead;
}

void tcpto_mark(const char *path, const dns_ip_t *ip, int timedout)
{
  static unsigned char b[TCPTO_FILE_MAX];
  size_t len;
  int fd = load(path, O_RDWR, b, &len);
  if (fd == -1) return;
  if (!timedout && find(b, len, ip) < 0) { close(fd); return; } /* nothing to clear */
  tcpto_note(b, len, ip, time(0), timedout);
  if (pwrite(fd, b, len, 0) != (ssize_t)len) { /* best effort: it is a cache */ }
  close(fd);
}

int tcpto_clear(const char *path)
{
  static const unsigned char zero[TCPTO_FILE_MAX];
  struct stat st;
  size_t n;
  int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW), e;
  if (fd == -1) return -1;
  if (lock_ex(fd) == -1 || fstat(fd, &st) == -1) goto fail;
  n = st.st_size > (off_t)sizeof zero ? sizeof zero : (size_t)st.st_size;
  if (pwrite(fd, zero, n, 0) != (ssize_t)n) {
    if (errno == 0) errno = EIO;
    goto fail;
  }
  return close(fd);
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}
