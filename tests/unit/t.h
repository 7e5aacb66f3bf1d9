/* t.h: a tiny TAP harness for unit tests.  Each test binary prints
 * "ok N - name" / "not ok N - name" lines and the plan at the end.
 * Tests may use stdio; the library under test does not.
 *
 *   OK(cond, name)  EQ_INT(got, want, name)  EQ_STR(got, want, name)
 *   EQ_MEM(a, alen, b, blen, name)
 *   t_tmpdir()      a fresh directory, removed at exit (by its creator only)
 *   t_write(path, bytes, len)   creates a file or dies
 *   return t_done(); at the end of main */
#ifndef T_H
#define T_H
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *PROG = "unit";
static int t_n, t_fail;

#define OK(cond, name) t_ok(!!(cond), (name), __FILE__, __LINE__)
static inline int t_ok(int c, const char *name, const char *f, int l)
{
  ++t_n;
  if (!c) ++t_fail;
  printf("%sok %d - %s\n", c ? "" : "not ", t_n, name);
  if (!c) printf("#   failed at %s:%d\n", f, l);
  fflush(stdout);
  return c;
}
#define EQ_MEM(a, alen, b, blen, name) OK((alen) == (blen) && memcmp((a), (b), (alen)) == 0, name)
#define EQ_STR(a, b, name) do { const char *a_ = (a), *b_ = (b); \
    if (!OK(a_ && strcmp(a_, b_) == 0, name)) \
      printf("#   got \"%s\"\n#  want \"%s\"\n", a_ ? a_ : "(null)", b_); } while (0)
#define EQ_INT(a, b, name) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (!OK(a_ == b_, name)) printf("#   got %lld, want %lld\n", a_, b_); } while (0)

static inline int t_done(void)
{
  printf("1..%d\n", t_n);
  return t_fail ? 1 : 0;
}

static inline void t_bail(const char *what)
{
  printf("Bail out! %s\n", what);
  fflush(stdout);
  _exit(1);
}

static char t_dir[256];
static pid_t t_dir_owner;
static inline int t_rm1(const char *p, const struct stat *st, int flag, struct FTW *f)
{
  (void)st; (void)flag; (void)f;
  remove(p);
  return 0;
}
static inline void t_rmdir(void)
{
  /* forked children that exit() must not remove the parent's directory */
  if (t_dir[0] && getpid() == t_dir_owner) nftw(t_dir, t_rm1, 16, FTW_DEPTH | FTW_PHYS);
}
static inline const char *t_tmpdir(void)
{
  const char *base = getenv("TMPDIR");
  if (t_dir[0]) return t_dir;
  snprintf(t_dir, sizeof t_dir, "%s/unit.XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(t_dir)) t_bail("mkdtemp");
  t_dir_owner = getpid();
  atexit(t_rmdir);
  return t_dir;
}
static inline void t_write(const char *path, const char *s, size_t n)
{
  FILE *f = fopen(path, "w");
  if (!f || fwrite(s, 1, n, f) != n || fclose(f) != 0) t_bail(path);
}
#endif
