/* send_rewrite: envnoathost, percenthack, locals, virtualdomains (case
 * folding, exceptions, most specific match), unprepend and VERP. */
#include <string.h>
#include "send_rewrite.h"
#include "t.h"

/* "a\nb\n" -> "a\0b\0" */
static sa_t list(const char *s)
{
  sa_t x = SA_INIT;
  for (; *s; s++) sa_append(&x, *s == '\n' ? 0 : *s);
  return x;
}

static rewrite_t rw;

static void rw_init(void)
{
  sa_t loc = list("example.org\nLocal.Test\n");
  sa_t pct = list("pct.test\n");
  sa_t vd = list("virt.test:v1\n"
                 "joe@virt.test:joe\n"
                 "nobody@virt.test:\n"
                 ".sub.test:sub\n"
                 "deep.sub.test:deep\n"
                 "exc.sub.test:\n"
                 "a-b.test:p-q\n"
                 "example.org:never\n");
  OK(rewrite_set(&rw, "default.test", &loc, &pct, &vd) == 0, "rewrite_set");
  OK(loc.s == 0 && loc.len == 0, "list moved into rw");
}

static void check(const char *in, int want, const char *out, const char *name)
{
  sa_t o = SA_INIT;
  int r = rewrite_addr(&rw, in, strlen(in), &o);
  OK(r == want && o.len == strlen(out) && !memcmp(o.s, out, o.len) && o.s[o.len] == 0, name);
  if (r != want || strcmp(o.s, out)) printf("#   got %d '%s'\n", r, o.s);
  sa_free(&o);
}

static void unpre(const char *in, const char *out, const char *name)
{
  sa_t o = SA_INIT;
  OK(rewrite_unprepend(&rw, in, &o) == 0 && !strcmp(o.s, out), name);
  if (strcmp(o.s, out)) printf("#   got '%s'\n", o.s);
  sa_free(&o);
}

static void verp(const char *s, const char *r, const char *out, const char *name)
{
  sa_t o = SA_INIT;
  OK(verp_sender(s, r, &o) == 0 && !strcmp(o.s, out), name);
  if (strcmp(o.s, out)) printf("#   got '%s'\n", o.s);
  sa_free(&o);
}

int main(void)
{
  rw_init();
  check("user@example.org", 1, "user@example.org", "locals: exact");
  check("user@EXAMPLE.Org", 1, "user@EXAMPLE.Org", "locals: case-insensitive, address kept");
  check("user@local.test", 1, "user@local.test", "locals: list entry in mixed case");
  check("user@sub.example.org", 0, "user@sub.example.org", "locals: no suffix match");
  check("user@example.org.", 0, "user@example.org.", "locals: trailing dot differs");
  check("user", 0, "user@default.test", "envnoathost appended");
  check("", 0, "@default.test", "empty address");
  check("a@b@example.org", 1, "a@b@example.org", "last @ decides");
  check("u%v@pct.test", 0, "u@v", "percenthack once");
  check("u%v%example.org@pct.test", 1, "u%v@example.org", "percenthack to a local domain");
  check("u%v%pct.test@pct.test", 0, "u@v", "percenthack repeated");
  check("u@pct.test", 0, "u@pct.test", "percenthack without %");
  check("u%v@other.test", 0, "u%v@other.test", "percent kept elsewhere");
  check("x@virt.test", 1, "v1-x@virt.test", "virtualdomain");
  check("x@VIRT.test", 1, "v1-x@VIRT.test", "virtualdomain case-insensitive");
  check("joe@virt.test", 1, "joe-joe@virt.test", "user@domain wins over domain");
  check("nobody@virt.test", 0, "nobody@virt.test", "user@domain exception");
  check("x@a.sub.test", 1, "sub-x@a.sub.test", ".suffix wildcard");
  check("x@a.b.sub.test", 1, "sub-x@a.b.sub.test", ".suffix deeper");
  check("x@deep.sub.test", 1, "deep-x@deep.sub.test", "exact domain beats suffix");
  check("x@exc.sub.test", 0, "x@exc.sub.test", "exception beats suffix");
  check("x@y.exc.sub.test", 1, "sub-x@y.exc.sub.test", "exception is exact only");
  check("x@sub.test", 0, "x@sub.test", ".suffix does not match the bare domain");
  check("x@example.org", 1, "x@example.org", "locals before virtualdomains");
  check("x@nowhere.test", 0, "x@nowhere.test", "remote");

  unpre("v1-x@virt.test", "x@virt.test", "unprepend domain");
  unpre("joe-joe@virt.test", "joe@virt.test", "unprepend user@domain");
  unpre("sub-x@a.sub.test", "x@a.sub.test", "unprepend suffix");
  unpre("p-q-u-v@a-b.test", "u-v@a-b.test", "unprepend with - in prepend and local");
  unpre("zz-x@virt.test", "zz-x@virt.test", "foreign prefix kept");
  unpre("x@example.org", "x@example.org", "local domain untouched");
  unpre("v1-x", "v1-x", "no @");

  {
    sa_t loc = list("one.test\n"), pct = SA_INIT, vd = list(":catch\n.test:\n");
    rewrite_free(&rw);
    rewrite_set(&rw, "h.test", &loc, &pct, &vd);
    check("a@b.example", 1, "catch-a@b.example", "catch-all");
    check("a@b.test", 0, "a@b.test", "suffix exception before catch-all");
    check("a@one.test", 1, "a@one.test", "locals before catch-all");
    unpre("catch-a@b.example", "a@b.example", "unprepend catch-all");
  }

  verp("list-@lists.test-@[]", "bob@example.org", "list-bob=example.org@lists.test", "VERP");
  verp("list@lists.test-@[]", "bob@x.test", "listbob=x.test@lists.test", "VERP adds no dash of its own");
  verp("a@b-@h-@[]", "u@d", "a@b-u=d@h", "VERP splits the sender at its last @");
  verp("list-@h-@[]", "u@v@d", "list-u@v=d@h", "VERP splits the recipient at its last @");
  verp("list-@h-@[]", "nobody", "list-nobody=@h", "VERP recipient without @");
  verp("plain@h", "u@d", "plain@h", "no VERP");
  verp("", "u@d", "", "empty sender");
  verp("#@[]", "u@d", "#@[]", "double-bounce sender");
  verp("-@[]", "u@d", "-@[]", "VERP marker without @ before it");
  rewrite_free(&rw);
  return t_done();
}
