/* control: control/ files in a temp directory (the test chdirs there, as
 * programs chdir to QMAILHOME), and cmap lookups. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "control.h"
#include "t.h"

static void put(const char *name, const char *s)
{
  char p[256];
  snprintf(p, sizeof p, "control/%s", name);
  t_write(p, s, strlen(s));
}

/* the list as "a|b|c|" for easy comparison */
static const char *joined(const sa_t *x)
{
  static char b[1024];
  size_t n = 0;
  for (size_t i = 0; i < x->len && n < sizeof b - 1; i++) b[n++] = x->s[i] ? x->s[i] : '|';
  b[n] = 0;
  return b;
}

static void test_readline(void)
{
  static const struct {
    const char *file;
    int r;
    const char *want;
  } t[] = {
    {"value\n", 1, "value"},
    {"value  \t\r\nsecond\n", 1, "value"},      /* trailing blanks and CR go */
    {"value\r\n", 1, "value"},
    {"no final newline", 1, "no final newline"},
    {"  leading kept \n", 1, "  leading kept"},
    {"in  side\n", 1, "in  side"},
    {"", 1, ""},
    {"\nsecond\n", 1, ""},                        /* only the first line counts */
    {" \t \r\n", 1, ""},
  };
  sa_t x = SA_INIT;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char name[64];
    put("f", t[i].file);
    snprintf(name, sizeof name, "readline case %zu", i);
    OK(control_readline(&x, "f") == t[i].r && x.len == strlen(t[i].want) &&
       memcmp(x.s, t[i].want, x.len) == 0, name);
    /* usable as a C string: helohost went out with its LF once */
    snprintf(name, sizeof name, "readline case %zu NUL-terminated", i);
    OK(x.s && strlen(x.s) == x.len, name);
  }
  sa_copys(&x, "stale");
  OK(control_readline(&x, "missing") == 0 && x.len == 0, "readline missing: 0, empty");
  OK(mkdir("control/adir", 0700) == 0, "mkdir");
  OK(control_readline(&x, "adir") == -1, "readline on a directory: -1");
  sa_free(&x);
}

static void test_me(void)
{
  sa_t x = SA_INIT;
  unlink("control/me");
  OK(control_init() == 0 && strcmp(control_me(), "") == 0, "no me: empty");
  OK(control_rldef(&x, "missing", 1, "dflt") == 1 && sa_equals(&x, "dflt"), "rldef: no me, flagme -> def");
  OK(control_rldef(&x, "missing", 1, 0) == 0 && x.len == 0, "rldef: nothing at all -> 0, empty");
  OK(control_readfile(&x, "missing", 1) == 0 && x.len == 0, "readfile: no me -> empty list");

  put("me", "mx.example.org \n");
  OK(control_init() == 0 && strcmp(control_me(), "mx.example.org") == 0, "me read and stripped");
  put("here", "explicit\n");
  OK(control_rldef(&x, "here", 1, "dflt") == 1 && sa_equals(&x, "explicit"), "rldef: file wins");
  OK(control_rldef(&x, "missing", 1, "dflt") == 1 && sa_equals(&x, "mx.example.org"), "rldef: flagme -> me");
  OK(control_rldef(&x, "missing", 0, "dflt") == 1 && sa_equals(&x, "dflt"), "rldef: no flagme -> def");
  OK(control_rldef(&x, "missing", 0, 0) == 0 && x.len == 0, "rldef: no flagme, no def -> 0");
  put("empty", "");
  OK(control_rldef(&x, "empty", 1, "dflt") == 1 && x.len == 0, "rldef: an empty file is an empty value");
  OK(control_readfile(&x, "missing", 1) == 0 && x.len == 15 && memcmp(x.s, "mx.example.org", 15) == 0,
     "readfile missing, flagme: me as the only entry");
  OK(control_readfile(&x, "missing", 0) == 0 && x.len == 0, "readfile missing, no flagme: empty");

  put("me", "");
  OK(control_init() == 0 && strcmp(control_me(), "") == 0, "empty me counts as no me");
  OK(control_rldef(&x, "missing", 1, "dflt") == 1 && sa_equals(&x, "dflt"), "rldef after empty me -> def");
  unlink("control/me");
  control_init();
  sa_free(&x);
}

static void test_readint(void)
{
  static const struct {
    const char *file; /* 0: no file */
    int r;
    unsigned long want;
  } t[] = {
    {"42\n", 1, 42},
    {"42 \r\n", 1, 42},
    {"0\n", 1, 0},
    {"18446744073709551615\n", 1, 18446744073709551615UL},
    {"12abc\n", 1, 12},                 /* leading digits count, as in qmail */
    {"abc\n", 0, 777},                   /* not a number: default kept */
    {" 42\n", 0, 777},
    {"-5\n", 0, 777},
    {"", 0, 777},
    {"\n42\n", 0, 777},
    {"99999999999999999999999\n", 0, 777}, /* overflow: default kept */
    {0, 0, 777},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    unsigned long u = 777;
    char name[64];
    if (t[i].file) put("n", t[i].file); else unlink("control/n");
    snprintf(name, sizeof name, "readint case %zu", i);
    OK(control_readint(&u, "n") == t[i].r && u == t[i].want, name);
  }
}

static void test_readfile(void)
{
  static const struct {
    const char *file, *want;
  } t[] = {
    {"a\nb\nc\n", "a|b|c|"},
    {"a\nb\nc", "a|b|c|"},                         /* missing final newline */
    {"# comment\n\na.example\n  \nB.example \r\n#x\n\tc\n", "a.example|B.example|\tc|"},
    {"a # not a comment\n #neither\n", "a # not a comment| #neither|"},
    {"", ""},
    {"\n\n\n", ""},
    {"#only\n#comments", ""},
    {"x\r\n\r\ny\r\n", "x|y|"},
  };
  sa_t x = SA_INIT;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char name[64];
    put("list", t[i].file);
    snprintf(name, sizeof name, "readfile case %zu", i);
    OK(control_readfile(&x, "list", 1) == 1, name);
    EQ_STR(joined(&x), t[i].want, "  entries");
  }
  OK(control_readfile(&x, "adir", 0) == -1, "readfile on a directory: -1");

  /* larger than CONTROL_MAX is an error, not a truncation (sparse file) */
  {
    int fd = open("control/huge", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    OK(fd >= 0 && ftruncate(fd, (off_t)CONTROL_MAX + 1) == 0, "huge sparse file");
    close(fd);
    errno = 0;
    OK(control_readfile(&x, "huge", 0) == -1 && errno == E2BIG, "readfile over CONTROL_MAX: E2BIG");
    errno = 0;
    OK(control_readline(&x, "huge") == -1 && errno == E2BIG, "readline over CONTROL_MAX: E2BIG");
    unlink("control/huge");
  }
  sa_free(&x);
}

static void test_cmap(void)
{
  sa_t x = SA_INIT;
  cmap_t m;
  static const struct {
    const char *key, *val; /* val 0: absent */
  } plain[] = {
    {"example.com", ""}, {"EXAMPLE.COM", ""}, {"Example.Com", ""}, {"other.org", ""},
    {"example.co", 0}, {"xample.com", 0}, {"example.com.", 0}, {"", 0},
  }, colon[] = {
    {"a.com", "relay1"},            /* the first of two a.com lines */
    {"A.COM", "relay1"},
    {"b.com", "relay2:25"},         /* split at the first colon only */
    {"", "default"},                /* ":default" */
    {".sub.org", "x"},
    {".SUB.ORG", "x"},
    {"nocolon", ""},
    {"empty", ""},
    {"c.com", 0},
    {"sub.org", 0},
  };

  put("plain", "Example.COM\nother.org\n");
  OK(control_readfile(&x, "plain", 0) == 1 && cmap_init(&m, &x, 0) == 0, "cmap over a plain list");
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
    const char *v = cmap_get(&m, plain[i].key, strlen(plain[i].key));
    char name[96];
    snprintf(name, sizeof name, "plain get \"%s\"", plain[i].key);
    OK(plain[i].val ? v && strcmp(v, plain[i].val) == 0 : v == 0, name);
  }
  OK(cmap_get(&m, "example.comXYZ", 11) != 0, "get uses the length, not the NUL");
  cmap_free(&m);

  put("colon", "a.com:relay1\nB.com:relay2:25\n:default\n.sub.org:x\na.com:dup\nnocolon\nempty:\n");
  OK(control_readfile(&x, "colon", 0) == 1 && cmap_init(&m, &x, 1) == 0, "cmap over key:value lines");
  for (size_t i = 0; i < sizeof colon / sizeof colon[0]; i++) {
    const char *v = cmap_get(&m, colon[i].key, strlen(colon[i].key));
    char name[96];
    snprintf(name, sizeof name, "colon get \"%s\"", colon[i].key);
    OK(colon[i].val ? v && strcmp(v, colon[i].val) == 0 : v == 0, name);
  }
  EQ_INT(m.n, 6, "duplicates are stored once");
  cmap_free(&m);
  cmap_free(&m);
  OK(cmap_get(&m, "a.com", 5) == 0, "get on a freed map: absent");

  /* many keys, many duplicates: every key found with its first value */
  {
    int bad = 0;
    x.len = 0;
    for (int round = 0; round < 2; round++)
      for (int i = 0; i < 3000; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "Host%d.Example:%d", i, round);
        sa_catb(&x, line, (size_t)n + 1);
      }
    OK(cmap_init(&m, &x, 1) == 0 && m.n == 3000, "3000 keys twice");
    for (int i = 0; i < 3000; i++) {
      char key[64];
      int n = snprintf(key, sizeof key, "host%d.example", i);
      const char *v = cmap_get(&m, key, (size_t)n);
      if (!v || strcmp(v, "0") != 0) ++bad;
    }
    EQ_INT(bad, 0, "all found, first value wins");
    OK(cmap_get(&m, "host3000.example", 16) == 0, "a key not there");
    cmap_free(&m);
  }

  /* an empty list, and a list whose last entry lacks its NUL: the bytes
   * after the last NUL are ignored, never read past the end */
  {
    static char raw[8] = {'a', 'b', 'c', 0, 'd', 'e', 'f', 'g'};
    sa_t e = SA_INIT, r = {raw, sizeof raw, sizeof raw};
    OK(cmap_init(&m, &e, 0) == 0 && cmap_get(&m, "x", 1) == 0, "empty list");
    cmap_free(&m);
    OK(cmap_init(&m, &r, 1) == 0 && cmap_get(&m, "abc", 3) != 0 && cmap_get(&m, "defg", 4) == 0,
       "unterminated last entry ignored");
    cmap_free(&m);
  }
  sa_free(&x);
}

int main(void)
{
  if (chdir(t_tmpdir()) == -1 || mkdir("control", 0755) == -1) t_bail("setup");
  test_readline();
  test_me();
  test_readint();
  test_readfile();
  test_cmap();
  return t_done();
}
