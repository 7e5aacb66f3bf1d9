/* cdbx: a cdb built here with tinycdb's cdb_make API, then looked up:
 * found, missing, empty values, binary keys, no file, a broken file. */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include "cdbx.h"
#include "t.h"

static char db[512];

static void build(void)
{
  static char big[100000];
  struct cdb_make m;
  int fd = open(db, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd == -1 || cdb_make_start(&m, fd) != 0) t_bail("cdb_make_start");
  memset(big, 'v', sizeof big);
  if (cdb_make_add(&m, "alice", 5, "uid 1000", 8) != 0 ||
      cdb_make_add(&m, "bob", 3, "", 0) != 0 ||
      cdb_make_add(&m, "k\0nul", 5, "binary\0value", 12) != 0 ||
      cdb_make_add(&m, "", 0, "empty key", 9) != 0 ||
      cdb_make_add(&m, "dup", 3, "first", 5) != 0 ||
      cdb_make_add(&m, "dup", 3, "second", 6) != 0 ||
      cdb_make_add(&m, "big", 3, big, sizeof big) != 0)
    t_bail("cdb_make_add");
  for (int i = 0; i < 1000; i++) {
    char k[32], v[32];
    int kl = snprintf(k, sizeof k, "key%d", i), vl = snprintf(v, sizeof v, "val%d", i);
    if (cdb_make_add(&m, k, (unsigned)kl, v, (unsigned)vl) != 0) t_bail("cdb_make_add");
  }
  if (cdb_make_finish(&m) != 0 || close(fd) != 0) t_bail("cdb_make_finish");
}

static void test_lookup(void)
{
  static const struct {
    const char *key;
    size_t klen;
    int r;
    const char *val;
    size_t vlen;
  } t[] = {
    {"alice", 5, 1, "uid 1000", 8},
    {"bob", 3, 1, "", 0},
    {"k\0nul", 5, 1, "binary\0value", 12},
    {"", 0, 1, "empty key", 9},
    {"dup", 3, 1, "first", 5},       /* the first record of a key */
    {"key0", 4, 1, "val0", 4},
    {"key999", 6, 1, "val999", 6},
    {"Alice", 5, 0, 0, 0},           /* keys are exact bytes */
    {"alic", 4, 0, 0, 0},
    {"alice ", 6, 0, 0, 0},
    {"k", 1, 0, 0, 0},
    {"key1000", 7, 0, 0, 0},
  };
  sa_t x = SA_INIT;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char name[64];
    int r;
    sa_copys(&x, "previous");
    r = cdbx_lookup(db, t[i].key, t[i].klen, &x);
    snprintf(name, sizeof name, "lookup case %zu", i);
    if (t[i].r == 1)
      OK(r == 1 && x.len == t[i].vlen && memcmp(x.s, t[i].val, x.len) == 0 && x.s[x.len] == 0, name);
    else
      OK(r == 0 && sa_equals(&x, "previous"), name);
  }
  OK(cdbx_lookup(db, "big", 3, &x) == 1 && x.len == 100000 && x.s[0] == 'v' && x.s[99999] == 'v',
     "100000-byte value");
  OK(cdbx_lookup(db, "alice", 5, 0) == 1, "found without fetching the value");
  OK(cdbx_lookup(db, "nobody", 6, 0) == 0, "missing without fetching");
  sa_free(&x);
}

static void test_errors(void)
{
  char p[600];
  sa_t x = SA_INIT;
  snprintf(p, sizeof p, "%s/nosuch.cdb", t_tmpdir());
  errno = 0;
  OK(cdbx_lookup(p, "alice", 5, &x) == 0 && errno == ENOENT, "no file: 0, ENOENT");
  snprintf(p, sizeof p, "%s/short.cdb", t_tmpdir());
  t_write(p, "not a cdb", 9);
  OK(cdbx_lookup(p, "alice", 5, &x) == -1, "a file too short to be a cdb: -1");
  OK(cdbx_lookup(t_tmpdir(), "alice", 5, &x) == -1, "a directory: -1");
  /* the first 3000 bytes of a real cdb: the table points past the end */
  {
    FILE *f = fopen(db, "r");
    char buf[3000];
    if (!f || fread(buf, 1, sizeof buf, f) != sizeof buf) t_bail("read cdb");
    fclose(f);
    snprintf(p, sizeof p, "%s/truncated.cdb", t_tmpdir());
    t_write(p, buf, sizeof buf);
    OK(cdbx_lookup(p, "key999", 6, &x) == -1, "a truncated cdb: -1, not a crash");
  }
  /* a key longer than cdb can hold is refused before any I/O */
  errno = 0;
  OK(cdbx_lookup(db, "x", (size_t)0x100000000ULL, &x) == -1 && errno == EINVAL, "key over 4 GiB: EINVAL");
  sa_free(&x);
}

int main(void)
{
  snprintf(db, sizeof db, "%s/test.cdb", t_tmpdir());
  build();
  test_lookup();
  test_errors();
  return t_done();
}
