/* rcpt: where an account's .qmail files are listed from */
#include "rcpt.h"
#include "t.h"

static void qdir(const char *home, const char *dash, const char *wdir, const char *wprefix)
{
  sa_t dir = SA_INIT, prefix = SA_INIT;
  char name[256];
  OK(rcpt_qmail_dir(home, dash, &dir, &prefix), "rcpt_qmail_dir succeeds");
  snprintf(name, sizeof name, "dash \"%s\": directory", dash);
  EQ_STR(dir.s, wdir, name);
  OK(dir.len == strlen(wdir), "directory length excludes the NUL");
  snprintf(name, sizeof name, "dash \"%s\": name prefix", dash);
  EQ_STR(prefix.s, wprefix, name);
  OK(prefix.len == strlen(wprefix), "prefix length excludes the NUL");
  sa_free(&dir);
  sa_free(&prefix);
}

int main(void)
{
  qdir("/home/joe", "-", "/home/joe", ".qmail-");
  qdir("/home/joe", "", "/home/joe", ".qmail");
  /* qmail-pw2u -/: ~/.qmail-/foo, ~/.qmail-/bar-default */
  qdir("/home/joe", "-/", "/home/joe/.qmail-", "");
  qdir("/home/joe", "-/x-", "/home/joe/.qmail-", "x-");
  qdir("/home/joe", "-/a/b", "/home/joe/.qmail-/a", "b");
  return t_done();
}
