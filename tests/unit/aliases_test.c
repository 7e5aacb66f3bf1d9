/* aliases: alias files compiled with aliases_compile in a temp directory,
 * looked up and walked; every kind of error with its file and line. */
#include <fcntl.h>
#include <sys/stat.h>
#include "aliases.h"
#include "t.h"

static char dir[256], src[512], cdbpath[512];

static int compile_host(const char *text, const char *host, aliases_err_t *err)
{
  int fd, r;
  t_write(src, text, strlen(text));
  fd = open(cdbpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd == -1) t_bail("open");
  r = aliases_compile(src, fd, host, err);
  close(fd);
  return r;
}
static int compile(const char *text, aliases_err_t *err) { return compile_host(text, "me.test", err); }

/* the value of name as "Atext|Ptext|" or "(none)" */
static const char *show(const char *name)
{
  static char out[4096];
  sa_t v = SA_INIT;
  aliases_walk_t w;
  char type;
  const char *t;
  size_t n, o = 0;
  int r = aliases_lookup(cdbpath, name, strlen(name), &v);
  if (r == 0) return "(none)";
  if (r < 0) return "(error)";
  aliases_walk_init(&w, v.s, v.len);
  while ((r = aliases_walk(&w, &type, &t, &n)) == 1 && o + n + 3 < sizeof out) {
    out[o++] = type;
    memcpy(out + o, t, n);
    o += n;
    out[o++] = '|';
  }
  out[o] = 0;
  sa_free(&v);
  return r == -1 ? "(corrupt)" : out;
}

static void test_good(void)
{
  aliases_err_t err = ALIASES_ERR_INIT;
  char inc[600], inc2[600], text[4096];
  snprintf(inc, sizeof inc, "%s/members", dir);
  snprintf(inc2, sizeof inc2, "%s/more", dir);
  t_write(inc, "# members\ncarol\n  dave@x.org, \"|/bin/echo a, b\"\n\n", 48);
  {
    char m[700];
    int n = snprintf(m, sizeof m, "eve@y.org\n:include:%s\n", inc);
    t_write(inc2, m, (size_t)n);
  }
  snprintf(text, sizeof text,
           "# comment\n"
           "Root: alice, bob@example.org\n"
           "staff: alice,\n"
           "   bob,\n"
           "# a comment inside an entry\n"
           "\n"
           "\t\\carol\n"
           "list: :include:%s, /var/mail/list\n"
           "nested: :INCLUDE: %s\n"
           "prog: \"|/usr/bin/vacation alice\", |/bin/true\n"
           "quoted: \"/var/mail/with space\", \"|prog \\\"x\\\"\"\n"
           "md: /var/mail/md/\n"
           "angle: <x@y.org>\n"
           "crlf: x@y\r\n"
           "empty: :include:%s/empty\n"
           "last: final@x",
           inc, inc2, dir);
  {
    char m[700];
    snprintf(m, sizeof m, "%s/empty", dir);
    t_write(m, "# nobody yet\n", 13);
  }
  EQ_INT(compile(text, &err), 0, "sample compiles");
  if (err.why && *err.why) printf("# %s:%lu: %s\n", err.file.s, err.line, err.why);
  EQ_STR(show("root"), "Aalice@me.test|Abob@example.org|", "names lowercased, bare names qualified");
  EQ_STR(show("ROOT"), "Aalice@me.test|Abob@example.org|", "lookup is case-insensitive");
  EQ_STR(show("staff"), "Aalice@me.test|Abob@me.test|Acarol@me.test|", "continuation lines, comments between");
  EQ_STR(show("list"), "Acarol@me.test|Adave@x.org|P/bin/echo a, b|F/var/mail/list|", "include, program, file");
  EQ_STR(show("nested"), "Aeve@y.org|Acarol@me.test|Adave@x.org|P/bin/echo a, b|", "nested include");
  EQ_STR(show("prog"), "P/usr/bin/vacation alice|P/bin/true|", "programs quoted and not");
  EQ_STR(show("quoted"), "F/var/mail/with space|Pprog \"x\"|", "quoted file, escaped quotes");
  EQ_STR(show("md"), "F/var/mail/md/|", "maildir-style path kept");
  EQ_STR(show("angle"), "Ax@y.org|", "angle brackets dropped");
  EQ_STR(show("crlf"), "Ax@y|", "CR ignored");
  EQ_STR(show("empty"), "", "include of an empty list: alias with no targets");
  EQ_STR(show("last"), "Afinal@x|", "last line without newline");
  EQ_STR(show("nosuch"), "(none)", "unknown name");
  EQ_STR(show(""), "(none)", "empty name");
  aliases_err_free(&err);
}

static void test_errors(void)
{
  char loop[600], deep[12][600], text[1024];
  static const struct {
    const char *text;
    unsigned long line;
  } t[] = {
    {"a: b\n c\nd e\n", 3},             /* no colon */
    {" b@x\n", 1},                      /* continuation first */
    {": b@x\n", 1},                     /* empty name */
    {"a b: c@x\n", 1},                  /* space in name */
    {"a@b: c@x\n", 1},                  /* @ in name */
    {"a: c@x\nA: d@x\n", 2},            /* duplicate, any case */
    {"a:\n", 1},                        /* no targets */
    {"a: ,\n", 1},                      /* only empty items */
    {"a: \"|prog\n", 1},                /* unterminated quote */
    {"a: \"b@x\"c\n", 1},               /* text after quote */
    {"a: b c@x\n", 1},                  /* space in address */
    {"a: |\n", 1},                      /* empty program */
    {"a: x@\n", 1},                     /* malformed address */
    {"a: :include:relative\n", 1},      /* include path */
    {"a: ok@x\nb: :include:/nonexistent/file\n", 2},
    {"a: x@y\nb: c\001d@x\n", 2},       /* control character */
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    aliases_err_t err = ALIASES_ERR_INIT;
    char name[128];
    int r = compile(t[i].text, &err);
    snprintf(name, sizeof name, "bad aliases %zu rejected", i);
    EQ_INT(r, -2, name);
    snprintf(name, sizeof name, "bad aliases %zu: line", i);
    if (t[i].line != 2 || i != 14) EQ_INT(err.line, t[i].line, name);
    else EQ_INT(err.line, 0, name); /* a missing include: about the file */
    aliases_err_free(&err);
  }
  {
    aliases_err_t err = ALIASES_ERR_INIT;
    EQ_INT(compile_host("a: bare\n", 0, &err), -2, "bare name without a default host");
    aliases_err_free(&err);
    EQ_INT(compile_host("a: bare@x\n", 0, &err), 0, "qualified names need no default host");
    aliases_err_free(&err);
    t_write(src, "a: b@x\nc: d\0@x\n", 15);
    {
      int fd = open(cdbpath, O_RDWR | O_TRUNC);
      EQ_INT(aliases_compile(src, fd, "h", &err), -2, "NUL byte rejected");
      EQ_INT(err.line, 2, "NUL byte: its line");
      close(fd);
    }
    aliases_err_free(&err);
  }
  {
    /* an include that includes itself: stopped by the depth limit */
    aliases_err_t err = ALIASES_ERR_INIT;
    snprintf(loop, sizeof loop, "%s/loop", dir);
    snprintf(text, sizeof text, "x@y\n:include:%s\n", loop);
    t_write(loop, text, strlen(text));
    snprintf(text, sizeof text, "a: :include:%s\n", loop);
    EQ_INT(compile(text, &err), -2, "include loop rejected");
    OK(strstr(err.why, "deep") != 0, "include loop: depth reason");
    EQ_STR(err.file.s, loop, "include loop: names the include file");
    aliases_err_free(&err);
  }
  {
    /* a chain of exactly ALIASES_DEPTH includes is fine, one more is not */
    aliases_err_t err = ALIASES_ERR_INIT;
    for (int i = 0; i <= ALIASES_DEPTH; i++) snprintf(deep[i], sizeof deep[i], "%s/d%d", dir, i);
    for (int i = 0; i < ALIASES_DEPTH; i++) {
      snprintf(text, sizeof text, "m%d@x\n:include:%s\n", i, deep[i + 1]);
      t_write(deep[i], text, strlen(text));
    }
    t_write(deep[ALIASES_DEPTH], "end@x\n", 6);
    snprintf(text, sizeof text, "a: :include:%s\n", deep[1]);
    EQ_INT(compile(text, &err), 0, "include chain of ALIASES_DEPTH files");
    snprintf(text, sizeof text, "a: :include:%s\n", deep[0]);
    EQ_INT(compile(text, &err), -2, "one more level is rejected");
    aliases_err_free(&err);
  }
}

static void test_walk(void)
{
  aliases_walk_t w;
  char type;
  const char *t;
  size_t n;
  aliases_walk_init(&w, "Aa@b\0Pprog\0", 11);
  OK(aliases_walk(&w, &type, &t, &n) == 1 && type == 'A' && n == 3, "walk: first");
  OK(aliases_walk(&w, &type, &t, &n) == 1 && type == 'P' && n == 4, "walk: second");
  OK(aliases_walk(&w, &type, &t, &n) == 0, "walk: end");
  aliases_walk_init(&w, "Aa@b", 4);
  OK(aliases_walk(&w, &type, &t, &n) == -1, "walk: missing NUL is corrupt");
  aliases_walk_init(&w, "Xa\0", 3);
  OK(aliases_walk(&w, &type, &t, &n) == -1, "walk: unknown type is corrupt");
  aliases_walk_init(&w, "A\0", 2);
  OK(aliases_walk(&w, &type, &t, &n) == -1, "walk: empty target is corrupt");
}

int main(void)
{
  snprintf(dir, sizeof dir, "%s", t_tmpdir());
  snprintf(src, sizeof src, "%s/aliases", dir);
  snprintf(cdbpath, sizeof cdbpath, "%s/aliases.cdb", dir);
  test_good();
  test_errors();
  test_walk();
  return t_done();
}
