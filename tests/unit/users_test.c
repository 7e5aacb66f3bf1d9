/* users: users/assign compiled with users_compile, looked up with
 * users_lookup_in, in a temp directory; format errors; broken cdbs. */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "buf.h"
#include "fdio.h"
#include "t.h"
#include "users.h"

static char cdbpath[512];

/* compiles text into cdbpath; returns users_compile's result */
static int compile(const char *text, size_t len, users_err_t *err)
{
  char in[512], space[BUF_SIZE];
  buf_t b;
  int fdin, fd, r;
  snprintf(in, sizeof in, "%s/assign", t_tmpdir());
  t_write(in, text, len);
  fdin = open(in, O_RDONLY);
  fd = open(cdbpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fdin == -1 || fd == -1) t_bail("open");
  buf_init(&b, buf_read_op, fdin, space, sizeof space);
  r = users_compile(&b, fd, err);
  close(fdin);
  close(fd);
  return r;
}

#define ASSIGN \
  "=joe:joe:1001:1002:/home/joe:::\n" \
  "+joe-:joe:1001:1002:/home/joe:-::\n" \
  "=joe-special:other:1005:1005:/home/other:::\n" \
  "+list-:lists:1003:1003:/home/lists:-:l-:\n" \
  "+list-big-:big:1006:1006:/home/big:-::\n" \
  "+Upper+:up:1007:1007:/home/up:-::\n" \
  "=dup:first:1010:1010:/first:::\n" \
  "=dup:second:1011:1011:/second:::\n" \
  "+:alias:1004:1004:/var/qmail/alias:-::\n" \
  ".\n" \
  "anything after the dot is ignored\n"

static void look(const char *local, int want, const char *user, const char *home,
                 const char *dash, const char *ext, unsigned long uid, unsigned long gid)
{
  struct users_entry e = USERS_ENTRY_INIT;
  char name[256];
  int r = users_lookup_in(cdbpath, local, strlen(local), &e);
  snprintf(name, sizeof name, "lookup %s: result", local);
  EQ_INT(r, want, name);
  if (r == 1 && want == 1) {
    snprintf(name, sizeof name, "lookup %s: user", local);
    EQ_STR(e.user, user, name);
    snprintf(name, sizeof name, "lookup %s: home", local);
    EQ_STR(e.home, home, name);
    snprintf(name, sizeof name, "lookup %s: dash", local);
    EQ_STR(e.dash, dash, name);
    snprintf(name, sizeof name, "lookup %s: ext", local);
    EQ_STR(e.ext, ext, name);
    snprintf(name, sizeof name, "lookup %s: uid/gid", local);
    OK(e.uid == uid && e.gid == gid, name);
  }
  users_entry_free(&e);
}

static void test_lookup(void)
{
  users_err_t err;
  EQ_INT(compile(ASSIGN, sizeof ASSIGN - 1, &err), 0, "sample assign compiles");
  look("joe", 1, "joe", "/home/joe", "", "", 1001, 1002);
  look("JoE", 1, "joe", "/home/joe", "", "", 1001, 1002);
  look("joe-foo", 1, "joe", "/home/joe", "-", "foo", 1001, 1002);
  look("joe-Foo-Bar", 1, "joe", "/home/joe", "-", "Foo-Bar", 1001, 1002); /* tail keeps case */
  look("joe-", 1, "joe", "/home/joe", "-", "", 1001, 1002);
  look("joe-special", 1, "other", "/home/other", "", "", 1005, 1005); /* exact beats wildcard */
  look("joe-special-x", 1, "joe", "/home/joe", "-", "special-x", 1001, 1002);
  look("list-foo", 1, "lists", "/home/lists", "-", "l-foo", 1003, 1003);
  look("list-big-x", 1, "big", "/home/big", "-", "x", 1006, 1006); /* longest prefix wins */
  look("list-big", 1, "lists", "/home/lists", "-", "l-big", 1003, 1003);
  look("upper+x", 1, "up", "/home/up", "-", "x", 1007, 1007); /* prefixes lowercased */
  look("dup", 1, "first", "/first", "", "", 1010, 1010);        /* first duplicate wins */
  look("joex", 1, "alias", "/var/qmail/alias", "-", "joex", 1004, 1004); /* catch-all */
  look("", 1, "alias", "/var/qmail/alias", "-", "", 1004, 1004);
}

static void test_nocatchall(void)
{
  users_err_t err;
  static const char a[] = "=joe:joe:1:1:/h:::\n+joe-:joe:1:1:/h:-::\n.\n";
  EQ_INT(compile(a, sizeof a - 1, &err), 0, "assign without catch-all compiles");
  look("joe-x", 1, "joe", "/h", "-", "x", 1, 1);
  look("jo", 0, 0, 0, 0, 0, 0, 0);
  look("joe+x", 0, 0, 0, 0, 0, 0, 0);
  {
    /* a local with a NUL in it matches nothing exact */
    struct users_entry e = USERS_ENTRY_INIT;
    EQ_INT(users_lookup_in(cdbpath, "joe\0", 4, &e), 0, "NUL in local: no exact match");
    users_entry_free(&e);
  }
  /* as in qmail-newu: text after the last field is ignored, and any line
   * starting with a dot ends the file */
  {
    static const char t2[] = "=a:a:1:1:/h:::x:y\n.x\n=b:b:1:1:/h:::\n";
    struct users_entry e = USERS_ENTRY_INIT;
    EQ_INT(compile(t2, sizeof t2 - 1, &err), 0, "trailing text and a .x line");
    EQ_INT(users_lookup_in(cdbpath, "a", 1, &e), 1, "trailing text ignored: a found");
    EQ_STR(e.ext, "", "trailing text not in ext");
    EQ_INT(users_lookup_in(cdbpath, "b", 1, &e), 0, "nothing after the .x line");
    users_entry_free(&e);
  }
  /* empty assign: only the dot */
  EQ_INT(compile(".\n", 2, &err), 0, "empty assign compiles");
  look("joe", 0, 0, 0, 0, 0, 0, 0);
  EQ_INT(compile(".", 1, &err), 0, "final dot without newline is fine");
}

static void test_errors(void)
{
  static const struct {
    const char *text;
    size_t len;
    unsigned long line;
  } t[] = {
#define E(s, l) {s, sizeof s - 1, l}
    E("", 1),                                             /* missing dot */
    E("=a:a:1:1:/h:::\n", 2),                             /* missing dot */
    E("=a:a:1:1:/h:::", 1),                               /* no newline, no dot */
    E("=a:a:1:1:/h::\n.\n", 1),                           /* too few fields */
    E("=a::1:1:/h:::\n.\n", 1),                           /* empty user */
    E("=a:a:x:1:/h:::\n.\n", 1),                          /* uid */
    E("=a:a::1:/h:::\n.\n", 1),                           /* empty uid */
    E("=a:a:1:-1:/h:::\n.\n", 1),                         /* gid */
    E("=a:a:99999999999:1:/h:::\n.\n", 1),                /* uid overflow */
    E("=a:a:0:0:/root:::\n.\n", 1),                       /* root */
    E("=a:a:1:1:h:::\n.\n", 1),                           /* relative home */
    E("=a:a:1:1:/h:::\n-a:a:1:1:/h:::\n.\n", 2),          /* bad first char */
    E("=a:a:1:1:/h:::\n\n.\n", 2),                        /* empty line */
    E("=a:a:1:1:/h:::\n=b\0:a:1:1:/h:::\n.\n", 2),        /* NUL */
#undef E
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    users_err_t err;
    char name[128];
    int r = compile(t[i].text, t[i].len, &err);
    snprintf(name, sizeof name, "bad assign %zu rejected", i);
    EQ_INT(r, -2, name);
    snprintf(name, sizeof name, "bad assign %zu: line number", i);
    EQ_INT(err.line, t[i].line, name);
    OK(err.why && *err.why, "and a reason");
  }
  {
    /* an overlong line is a format error, not a memory problem */
    size_t n = USERS_LINE_MAX + 100;
    char *s = malloc(n);
    users_err_t err;
    memset(s, 'a', n);
    s[0] = '=';
    EQ_INT(compile(s, n, &err), -2, "overlong line rejected");
    free(s);
  }
}

static void test_broken_cdb(void)
{
  struct users_entry e = USERS_ENTRY_INIT;
  char p[512];
  int fd;
  struct cdb_make cm;
  snprintf(p, sizeof p, "%s/nonexistent", t_tmpdir());
  EQ_INT(users_lookup_in(p, "joe", 3, &e), 0, "no cdb: not found");
  t_write(cdbpath, "garbage", 7);
  EQ_INT(users_lookup_in(cdbpath, "joe", 3, &e), -1, "garbage cdb: temporary error");
  /* a cdb without the wildcard-set key */
  fd = open(cdbpath, O_RDWR | O_TRUNC);
  cdb_make_start(&cm, fd);
  cdb_make_add(&cm, "!joe", 5, "joe\0" "1\0" "1\0" "/h\0\0", 12);
  cdb_make_finish(&cm);
  close(fd);
  EQ_INT(users_lookup_in(cdbpath, "joe", 3, &e), -1, "cdb without \"\" key: temporary error");
  /* values with the wrong number of fields, or bad ids */
  static const struct { const char *v; size_t n; int want; } t[] = {
    {"joe\0" "1\0" "1\0" "/h\0" "\0", 12, 1},       /* qmail-newu's own layout */
    {"joe\0" "1\0" "1\0" "/h\0" "\0" "\0", 13, 1},  /* trailing NUL tolerated */
    {"joe\0" "1\0" "1\0" "/h\0", 11, -1},           /* five fields */
    {"joe\0" "1\0" "1\0" "/h\0" "\0" "x\0" "y", 15, -1}, /* seven */
    {"joe\0" "x\0" "1\0" "/h\0" "\0", 12, -1},      /* uid */
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char name[64];
    fd = open(cdbpath, O_RDWR | O_TRUNC);
    cdb_make_start(&cm, fd);
    cdb_make_add(&cm, "", 0, "", 0);
    cdb_make_add(&cm, "!joe\0", 5, t[i].v, (unsigned)t[i].n);
    cdb_make_finish(&cm);
    close(fd);
    snprintf(name, sizeof name, "hand-made value %zu", i);
    EQ_INT(users_lookup_in(cdbpath, "joe", 3, &e), t[i].want, name);
  }
  users_entry_free(&e);
}

static void test_tmpfile(void)
{
  char tmp[512], fin[512], b[16];
  int fd, fd2;
  snprintf(tmp, sizeof tmp, "%s/x.tmp", t_tmpdir());
  snprintf(fin, sizeof fin, "%s/x", t_tmpdir());
  t_write(tmp, "old contents", 12);
  fd = users_tmpfile(tmp);
  OK(fd >= 0, "tmpfile opened");
  OK(lseek(fd, 0, SEEK_END) == 0, "tmpfile truncated");
  OK(write(fd, "new", 3) == 3, "write");
  /* a second opener would block on the lock: check with a non-blocking try */
  fd2 = open(tmp, O_RDWR);
  OK(fd2 >= 0 && lock_exnb(fd2) == -1, "tmpfile is locked");
  close(fd2);
  EQ_INT(users_install(fd, tmp, fin), 0, "install");
  fd = open(fin, O_RDONLY);
  OK(fd >= 0 && read(fd, b, sizeof b) == 3 && memcmp(b, "new", 3) == 0, "installed contents");
  close(fd);
  OK(access(tmp, F_OK) == -1 && errno == ENOENT, "tmp name gone");
}

int main(void)
{
  snprintf(cdbpath, sizeof cdbpath, "%s/cdb", t_tmpdir());
  test_lookup();
  test_nocatchall();
  test_errors();
  test_broken_cdb();
  test_tmpfile();
  return t_done();
}
