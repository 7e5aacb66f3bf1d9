/* qsum: the checksum is the same however the bytes are split, and differs
 * for a changed byte, for zeros in place of data and for a cut-off end;
 * the boot id; the check of a queue entry (envelope with 'b' and the 'c'
 * trailer, message file) against every way a crash could have cut it. */
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include "qsum.h"
#include "t.h"

static uint64_t sum_of(const void *p, size_t n)
{
  qsum_t s = QSUM_INIT;
  qsum_add(&s, p, n);
  return qsum_end(&s);
}

static const char *dir;
static char envfn[4096], messfn[4096];

/* appends one record (letter, s, NUL) to e and to the sum */
static size_t rec(char *e, size_t n, qsum_t *sum, char letter, const char *s)
{
  size_t k = strlen(s);
  e[n] = letter;
  memcpy(e + n + 1, s, k);
  e[n + 1 + k] = 0;
  if (sum) qsum_add(sum, e + n, k + 2);
  return n + k + 2;
}

/* a complete entry as qmail-queue writes it: returns the envelope's length */
static size_t entry(char *e, const char *boot, const char *mess, size_t mlen)
{
  qsum_t env = QSUM_INIT;
  char t[QSUM_TRAILER + 1];
  size_t n = rec(e, 0, 0, 'b', boot);
  n = rec(e, n, &env, 'u', "1000");
  n = rec(e, n, &env, 'p', "4242");
  n = rec(e, n, &env, 'F', "a@b.test");
  n = rec(e, n, &env, 'T', "c@d.test");
  n = rec(e, n, &env, 'T', "e@f.test");
  t[qsum_trailer(t, mlen, sum_of(mess, mlen), qsum_end(&env))] = 0;
  return rec(e, n, 0, 'c', t);
}

/* writes both files, checks them */
static int check(const char *e, size_t elen, const char *m, size_t mlen)
{
  int ef, mf, r;
  t_write(envfn, e, elen);
  t_write(messfn, m, mlen);
  ef = open(envfn, O_RDONLY);
  mf = open(messfn, O_RDONLY);
  if (ef == -1 || mf == -1) t_bail("open");
  r = qsum_check(ef, mf);
  close(ef);
  close(mf);
  return r;
}

int main(void)
{
  static char data[3000], e[1000], e2[1000], m2[3000];
  const char *boot = "0123abcd-0000-4000-8000-0123456789ab";
  char id[QSUM_BOOTID + 1], t[QSUM_TRAILER];
  size_t elen, n;
  bool same = true;
  for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7 + i / 256);

  /* ---- the sum ---- */
  for (size_t len = 0; len <= 40 && same; len++)
    for (size_t a = 0; a <= len && same; a++)
      for (size_t b = a; b <= len && same; b++) {
        qsum_t s = QSUM_INIT;
        qsum_add(&s, data, a);
        qsum_add(&s, data + a, b - a);
        qsum_add(&s, data + b, len - b);
        same = qsum_end(&s) == sum_of(data, len);
      }
  OK(same, "the sum does not depend on how the bytes are split");
  memcpy(m2, data, sizeof data);
  m2[1234] ^= 1;
  OK(sum_of(m2, sizeof m2) != sum_of(data, sizeof data), "one changed bit changes it");
  memset(m2 + 1024, 0, 1024);
  OK(sum_of(m2, sizeof m2) != sum_of(data, sizeof data), "a block of zeros in place of data changes it");
  OK(sum_of(data, 2999) != sum_of(data, 3000), "a cut-off end changes it");
  memset(m2, 0, sizeof m2);
  OK(sum_of(m2, 8) != sum_of(m2, 16) && sum_of(m2, 0) != sum_of(m2, 1), "zeros of different lengths differ");
  n = qsum_trailer(t, 2048, 0x1234, UINT64_MAX);
  EQ_MEM(t, n, "2048.0000000000001234.ffffffffffffffff", 38, "the trailer's text");
  n = qsum_trailer(t, 0, 0, 0);
  EQ_MEM(t, n, "0.0000000000000000.0000000000000000", 35, "a length of 0");
  n = qsum_trailer(t, UINT64_MAX, 1, 1);
  OK(n <= QSUM_TRAILER && !memcmp(t, "18446744073709551615.", 21), "the longest trailer fits");

  /* ---- the boot id ---- */
  if (access("/proc/sys/kernel/random/boot_id", R_OK) == 0) {
    OK(qsum_bootid(id) && strlen(id) == QSUM_BOOTID && id[8] == '-' && id[23] == '-',
       "the boot id: 36 characters");
  } else {
    OK(!qsum_bootid(id) && !id[0], "no /proc: no boot id");
  }

  /* ---- the check of an entry ---- */
  dir = t_tmpdir();
  snprintf(envfn, sizeof envfn, "%s/env", dir);
  snprintf(messfn, sizeof messfn, "%s/mess", dir);
  elen = entry(e, boot, data, sizeof data);
  EQ_INT(check(e, elen, data, sizeof data), 1, "a complete entry");
  memcpy(e2, e, elen);
  memcpy(e2 + 1, "ffffffff", 8);
  EQ_INT(check(e2, elen, data, sizeof data), 1, "the boot id is not part of the sum");
  EQ_INT(check(e, elen, data, 0), 0, "an empty message file");
  EQ_INT(check(e, elen, data, sizeof data - 1), 0, "a message cut short by one byte");
  memcpy(m2, data, sizeof data);
  memset(m2 + 2048, 0, 952);
  EQ_INT(check(e, elen, m2, sizeof m2), 0, "zeros in place of the message's end");
  memcpy(m2, data, sizeof data);
  m2[0] = 'X';
  EQ_INT(check(e, elen, m2, sizeof m2), 0, "a changed byte of the message");
  EQ_INT(check(e, 0, data, sizeof data), 0, "an empty envelope");
  EQ_INT(check(e, 20, data, sizeof data), 0, "an envelope cut inside a record");
  n = elen - 1;
  while (e[n - 1]) n--; /* n: where the trailer starts */
  EQ_INT(e[n], 'c', "(the trailer found)");
  EQ_INT(check(e, n, data, sizeof data), 0, "an envelope cut before its trailer");
  EQ_INT(check(e, elen - 1, data, sizeof data), 0, "an envelope cut inside its trailer");
  memcpy(e2, e, elen);
  memcpy(e2 + elen, "Tx@y.test", 10);
  EQ_INT(check(e2, elen + 10, data, sizeof data), 0, "a record after the trailer");
  memcpy(e2, e, elen);
  memset(e2 + 50, 0, 10);
  EQ_INT(check(e2, elen, data, sizeof data), 0, "zeros inside the envelope");
  memcpy(e2, e, elen);
  for (size_t i = 0; i + 8 < elen; i++)
    if (!memcmp(e2 + i, "Te@f.test", 9)) e2[i + 1] = 'E';
  EQ_INT(check(e2, elen, data, sizeof data), 0, "a changed recipient");
  n = rec(e2, 0, 0, 'u', "1000");
  n = rec(e2, n, 0, 'p', "1");
  n = rec(e2, n, 0, 'F', "");
  n = rec(e2, n, 0, 'T', "x@y");
  EQ_INT(check(e2, n, data, 0), 1, "an envelope without a boot id is taken as it is");
  EQ_INT(qsum_check(-1, -1), -1, "a read error is -1");
  return t_done();
}
