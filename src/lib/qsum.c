/* qsum: see qsum.h */
#include "qsum.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "envelope.h"
#include "sa.h"

#define K1 0x9e3779b97f4a7c15u
#define K2 0xff51afd7ed558ccdu

static uint64_t word(const unsigned char *p)
{
  uint64_t w = 0;
  for (int i = 7; i >= 0; i--) w = w << 8 | p[i];
  return w;
}

static uint64_t mix(uint64_t h, uint64_t w)
{
  h = (h ^ w) * K1;
  return h ^ h >> 29;
}

void qsum_add(qsum_t *s, const void *v, size_t n)
{
  const unsigned char *p = v;
  s->len += n;
  while (n && s->npart) {
    s->part[s->npart++] = *p++;
    n--;
    if (s->npart == 8) {
      s->h = mix(s->h, word(s->part));
      s->npart = 0;
    }
  }
  if (s->npart) return; /* n is 0: the word is still open */
  for (; n >= 8; p += 8, n -= 8) s->h = mix(s->h, word(p));
  memcpy(s->part, p, n);
  s->npart = (unsigned)n;
}

uint64_t qsum_end(const qsum_t *s)
{
  unsigned char last[8] = {0};
  uint64_t h;
  memcpy(last, s->part, s->npart);
  h = mix(s->h, word(last));
  h = (h ^ s->len) * K2;
  return h ^ h >> 32;
}

static bool bootid_ok(const char *s)
{
  for (size_t i = 0; i < QSUM_BOOTID; i++) {
    char c = s[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool qsum_bootid(char out[QSUM_BOOTID + 1])
{
  char b[QSUM_BOOTID + 2];
  ssize_t r;
  int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  out[0] = 0;
  if (fd == -1) return false;
  r = read(fd, b, sizeof b);
  close(fd);
  if (r != QSUM_BOOTID + 1 || b[QSUM_BOOTID] != '\n' || !bootid_ok(b)) return false;
  memcpy(out, b, QSUM_BOOTID);
  out[QSUM_BOOTID] = 0;
  return true;
}

static size_t hex16(char *out, uint64_t v)
{
  for (int i = 15; i >= 0; i--, v >>= 4) out[i] = "0123456789abcdef"[v & 15];
  return 16;
}

size_t qsum_trailer(char *out, uint64_t messlen, uint64_t messsum, uint64_t envsum)
{
  char d[20];
  size_t n = 0, k = 0;
  do d[k++] = (char)('0' + messlen % 10); while (messlen /= 10);
  while (k) out[n++] = d[--k];
  out[n++] = '.';
  n += hex16(out + n, messsum);
  out[n++] = '.';
  n += hex16(out + n, envsum);
  return n;
}

static ssize_t read_op(int fd, void *p, size_t n)
{
  ssize_t r;
  do r = read(fd, p, n); while (r == -1 && errno == EINTR);
  return r;
}

/* the message file: its length and sum */
static int mess_sum(int fd, uint64_t *len, uint64_t *sum)
{
  char space[65536];
  qsum_t s = QSUM_INIT;
  for (;;) {
    ssize_t r = read_op(fd, space, sizeof space);
    if (r == -1) return -1;
    if (r == 0) break;
    qsum_add(&s, space, (size_t)r);
  }
  *len = s.len;
  *sum = qsum_end(&s);
  return 0;
}

int qsum_check(int envfd, int messfd)
{
  char space[4096], want[QSUM_TRAILER], have[QSUM_TRAILER];
  buf_t in = BUF_INIT(read_op, envfd, space, sizeof space);
  qsum_t env = QSUM_INIT;
  sa_t rec = SA_INIT;
  uint64_t len, sum;
  size_t n = 0, tlen = 0;
  int r, result = 0;
  bool trailer = false;
  while ((r = envelope_get(&in, &rec, ENV_REC_MAX)) == 1) {
    if (!rec.len || trailer) goto done; /* nothing may follow the trailer */
    if (n++ == 0 && rec.s[0] != 'b') {
      result = 1;
      goto done;
    }
    if (rec.s[0] == 'c') {
      if (rec.len - 1 > sizeof have) goto done;
      tlen = rec.len - 1;
      memcpy(have, rec.s + 1, tlen);
      trailer = true;
    } else if (n > 1) {
      qsum_add(&env, rec.s, rec.len);
      qsum_add(&env, "", 1);
    }
  }
  if (r == ENV_ERR) {
    result = -1;
    goto done;
  }
  if (r != 0) goto done; /* cut off inside a record, or garbage */
  if (n == 0) goto done; /* empty: nothing of it reached the disk */
  if (!trailer) goto done;
  if (mess_sum(messfd, &len, &sum) == -1) {
    result = -1;
    goto done;
  }
  result = qsum_trailer(want, len, sum, qsum_end(&env)) == tlen && !memcmp(want, have, tlen);
done:
  r = errno;
  sa_free(&rec);
  errno = r;
  return result;
}
