/* t.h: a tiny TAP harness for unit tests.  Each test binary prints
 * "ok N - name" / "not ok N - name" lines and the plan at the end. */
#ifndef T_H
#define T_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *PROG = "unit";
static int t_n, t_fail;

#define OK(cond, name) t_ok(!!(cond), (name), __FILE__, __LINE__)
static inline void t_ok(int c, const char *name, const char *f, int l)
{
  ++t_n;
  if (!c) ++t_fail;
  printf("%sok %d - %s\n", c ? "" : "not ", t_n, name);
  if (!c) printf("#   failed at %s:%d\n", f, l);
  fflush(stdout);
}
#define EQ_MEM(a, alen, b, blen, name) OK((alen) == (blen) && memcmp((a), (b), (alen)) == 0, name)
#define EQ_STR(a, b, name) OK(strcmp((a), (b)) == 0, name)
static inline int t_done(void)
{
  printf("1..%d\n", t_n);
  return t_fail ? 1 : 0;
}
#endif
