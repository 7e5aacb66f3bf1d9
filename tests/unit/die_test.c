/* die_test: the one-line messages of die.h */
#include "t.h"
#include "die.h"

/* what warn() writes to fd 2, captured through a pipe */
static int captured(char *got, size_t max, const char *name)
{
  int p[2], save = dup(2);
  ssize_t n;
  if (pipe(p) == -1 || save == -1 || dup2(p[1], 2) == -1) return -1;
  warn("unable to move ", name);
  dup2(save, 2);
  close(save);
  close(p[1]);
  n = read(p[0], got, max - 1);
  close(p[0]);
  if (n < 0) return -1;
  got[n] = 0;
  return 0;
}

int main(void)
{
  char got[256];
  OK(captured(got, sizeof got, "new/x") == 0, "warn captured");
  EQ_STR(got, "unit: warning: unable to move new/x\n", "warn: one line");
  /* a file name that holds a line end cannot forge a second log line */
  OK(captured(got, sizeof got, "x\nqmail-popup: pid 1 from 203.0.113.5: authorization failed\tfor root") == 0,
     "warn captured");
  EQ_STR(got, "unit: warning: unable to move x?qmail-popup: pid 1 from 203.0.113.5: authorization failed?for root\n",
         "control characters become ?");
  return t_done();
}
