/* deliver_test: header lines, From_ quoting, loop check, Maildir and mbox
 * writers (content byte for byte, unique names, no leftovers, truncation
 * back after a failed append, dotlock handling). */
#include "t.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include "deliver.h"
#include "fdio.h"

static char dir[] = "/tmp/deliver_test.XXXXXX";

static int msgfd(const char *s, size_t n)
{
  char name[64];
  int fd;
  snprintf(name, sizeof name, "%s/msg", dir);
  fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd == -1 || write_all(fd, s, n) == -1) abort();
  unlink(name);
  return fd;
}

static sa_t file(const char *path)
{
  sa_t x = SA_INIT;
  if (read_file(path, &x, 1 << 26) != 1) x.len = (size_t)-1;
  return x;
}

/* names in a directory (one only expected); count returned */
static int one_name(const char *d, char *name, size_t size)
{
  DIR *dh = opendir(d);
  struct dirent *e;
  int n = 0;
  if (!dh) return -1;
  while ((e = readdir(dh)))
    if (e->d_name[0] != '.') { ++n; if (snprintf(name, size, "%s/%s", d, e->d_name) >= (int)size) n = -100; }
  closedir(dh);
  return n;
}

/* quoting through a sink */
static int sink(void *ctx, const char *s, size_t n) { return sa_catb(ctx, s, n) ? 0 : -1; }
static void quote(sa_t *out, const char *in, size_t chunk)
{
  deliver_quote_t q;
  size_t i, n = strlen(in);
  out->len = 0;
  deliver_quote_init(&q);
  for (i = 0; i < n; i += chunk)
    deliver_quote(&q, in + i, n - i < chunk ? n - i : chunk, sink, out);
  deliver_quote_end(&q, sink, out);
  sa_0(out);
}

static void test_lines(void)
{
  sa_t x = SA_INIT;
  OK(deliver_rpline(&x, "a@b"), "rpline");
  EQ_MEM(x.s, x.len, "Return-Path: <a@b>\n", 19, "rpline text");
  OK(deliver_rpline(&x, "a\nb"), "rpline LF");
  EQ_MEM(x.s, x.len, "Return-Path: <\"a\\_b\">\n", 22, "rpline: LF quoted, then becomes _");
  OK(deliver_rpline(&x, "a b@x.org"), "rpline blank");
  EQ_MEM(x.s, x.len, "Return-Path: <\"a b\"@x.org>\n", 27, "rpline: local part quoted as qmail does");
  OK(deliver_rpline(&x, ""), "rpline empty");
  EQ_MEM(x.s, x.len, "Return-Path: <>\n", 16, "rpline: empty sender");
  OK(deliver_rpline(&x, "#@[]"), "rpline #@[]");
  EQ_MEM(x.s, x.len, "Return-Path: <#@[]>\n", 20, "rpline: #@[] left alone");
  OK(deliver_dtline(&x, "joe@x.org"), "dtline");
  EQ_MEM(x.s, x.len, "Delivered-To: joe@x.org\n", 24, "dtline text");
  OK(deliver_ufline(&x, "", 0), "ufline");
  EQ_MEM(x.s, x.len, "From MAILER-DAEMON Thu Jan 01 00:00:00 1970\n", 44, "ufline: empty sender, epoch, day zero-padded");
  OK(deliver_ufline(&x, "x@y", 1698940800), "ufline 3");
  EQ_MEM(x.s, x.len, "From x@y Thu Nov 02 16:00:00 2023\n", 34, "ufline: day 2 is 02 as in qmail");
  OK(deliver_ufline(&x, "a b@c", 1700000000), "ufline 2");
  EQ_MEM(x.s, x.len, "From a-b@c Tue Nov 14 22:13:20 2023\n", 36, "ufline: blank becomes -, two-digit day");
  sa_free(&x);
}

static void test_quote(void)
{
  static const char *const cases[][2] = {
    {"From x\n", ">From x\n"},
    {">From x\n", ">>From x\n"},
    {">>>From x\n", ">>>>From x\n"},
    {"From\n", "From\n"},
    {"Fro", "Fro"},
    {">", ">"},
    {">>Frox\n", ">>Frox\n"},
    {"a From x\nFrom y\n", "a From x\n>From y\n"},
    {"\n\nFrom \n", "\n\n>From \n"},
    {">\nFrom ", ">\n>From "},
    {"FFrom x", "FFrom x"},
    {"x\n>>\n>F\nFrom", "x\n>>\n>F\nFrom"},
  };
  size_t i, chunk;
  sa_t out = SA_INIT;
  char name[80];
  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    for (chunk = 1; chunk <= 8; chunk += 7) {
      quote(&out, cases[i][0], chunk);
      snprintf(name, sizeof name, "quote case %zu chunk %zu", i, chunk);
      EQ_STR(out.s, cases[i][1], name);
    }
  sa_free(&out);
}

static void test_looping(void)
{
  const char *dt = "Delivered-To: a@b\n";
  size_t n = strlen(dt);
  int fd;
  char *big;
  fd = msgfd("X: y\nDelivered-To: a@b\n\nbody\n", 29);
  OK(deliver_looping(fd, dt, n) == 1, "loop: found in header");
  close(fd);
  fd = msgfd("X: y\n\nDelivered-To: a@b\n", 24);
  OK(deliver_looping(fd, dt, n) == 0, "loop: not in body");
  close(fd);
  fd = msgfd("Delivered-To: a@b.c\nDelivered-To: a@\nDelivered-To: A@b\n", 55);
  OK(deliver_looping(fd, dt, n) == 0, "loop: prefixes and case differences do not count");
  close(fd);
  fd = msgfd("Delivered-To: a@b", 17);
  OK(deliver_looping(fd, dt, n) == 0, "loop: unterminated last line does not count");
  close(fd);
  big = malloc(5 << 20);
  memset(big, 'D', 5 << 20);
  memcpy(big + (5 << 20) - n - 1, "\n", 1);
  memcpy(big + (5 << 20) - n, dt, n);
  fd = msgfd(big, 5 << 20);
  OK(deliver_looping(fd, dt, n) == 1, "loop: found after a 5 MB header line");
  close(fd);
  free(big);
}

static void test_maildir(void)
{
  const char *msg = "Subject: x\n\nFrom body\n";
  const char *want = "Return-Path: <s@x>\nDelivered-To: r@y\nSubject: x\n\nFrom body\n";
  deliver_hdr_t h = {0, 0, "Return-Path: <s@x>\n", 19, "Delivered-To: r@y\n", 18};
  char md[80], sub[100], name1[200], name2[200];
  sa_t why = SA_INIT, got, uniq = SA_INIT;
  int fd = msgfd(msg, strlen(msg));

  snprintf(md, sizeof md, "%s/Maildir/", dir);
  OK(deliver_maildir(md, fd, &h, &why) == -1, "maildir: missing maildir fails");
  sa_0(&why);
  OK(strstr(why.s, "(#4.2.1)") != 0, "maildir: failure has a status code");
  mkdir(md, 0700);
  snprintf(sub, sizeof sub, "%snew", md); mkdir(sub, 0700);
  snprintf(sub, sizeof sub, "%scur", md); mkdir(sub, 0700);
  snprintf(sub, sizeof sub, "%stmp", md); mkdir(sub, 0700);
  OK(deliver_maildir(md, fd, &h, &why) == 0, "maildir: delivered");
  snprintf(sub, sizeof sub, "%snew", md);
  OK(one_name(sub, name1, sizeof name1) == 1, "maildir: one file in new/");
  got = file(name1);
  EQ_MEM(got.s, got.len, want, strlen(want), "maildir: content byte for byte");
  sa_free(&got);
  snprintf(sub, sizeof sub, "%stmp", md);
  OK(one_name(sub, name2, sizeof name2) == 0, "maildir: tmp/ is empty");
  /* a second delivery right away gets another name */
  OK(deliver_maildir(md, fd, &h, &why) == 0, "maildir: delivered again");
  snprintf(sub, sizeof sub, "%snew", md);
  OK(one_name(sub, name2, sizeof name2) == 2, "maildir: two files");
  OK(deliver_uniq(&uniq, 12, 345, 678, 9, "a/b:c"), "uniq");
  EQ_STR(uniq.s, "12.M345P678Q9.a\\057b\\072c", "uniq: layout and escapes");
  sa_free(&uniq);
  sa_free(&why);
  close(fd);
}

static void test_mbox(void)
{
  const char *msg = "Subject: x\n\nFrom here\nend";
  deliver_hdr_t h = {"From s@x Thu Jan  1 00:00:00 1970\n", 34, "Return-Path: <s@x>\n", 19,
                     "Delivered-To: r@y\n", 18};
  const char *want1 = "From s@x Thu Jan  1 00:00:00 1970\nReturn-Path: <s@x>\nDelivered-To: r@y\n"
                      "Subject: x\n\n>From here\nend\n\n";
  char mb[80], lock[90];
  sa_t why = SA_INIT, got, before;
  struct rlimit rl, old;
  struct utimbuf ut;
  char *big;
  int fd = msgfd(msg, strlen(msg)), bigfd, lfd;
  time_t t0;

  snprintf(mb, sizeof mb, "%s/Mailbox", dir);
  snprintf(lock, sizeof lock, "%s.lock", mb);
  OK(deliver_mbox(mb, fd, &h, &why) == 0, "mbox: delivered (created)");
  got = file(mb);
  EQ_MEM(got.s, got.len, want1, strlen(want1), "mbox: content byte for byte");
  sa_free(&got);
  OK(access(lock, F_OK) == -1, "mbox: dotlock removed");
  OK(deliver_mbox(mb, fd, &h, &why) == 0, "mbox: appended");
  got = file(mb);
  OK(got.len == 2 * strlen(want1) && !memcmp(got.s + strlen(want1), want1, strlen(want1)),
     "mbox: second message after the first");
  sa_free(&got);

  /* a write error halfway: the mailbox must end up exactly as before */
  before = file(mb);
  big = malloc(1 << 20);
  memset(big, 'x', 1 << 20);
  bigfd = msgfd(big, 1 << 20);
  signal(SIGXFSZ, SIG_IGN);
  getrlimit(RLIMIT_FSIZE, &old);
  rl = old;
  rl.rlim_cur = before.len + 5000;
  setrlimit(RLIMIT_FSIZE, &rl);
  OK(deliver_mbox(mb, bigfd, &h, &why) == -1, "mbox: write past the file size limit fails");
  setrlimit(RLIMIT_FSIZE, &old);
  sa_0(&why);
  OK(strstr(why.s, "(#4.2.2)") != 0, "mbox: file too large is mailbox full");
  got = file(mb);
  EQ_MEM(got.s, got.len, before.s, before.len, "mbox: truncated back to the old content");
  sa_free(&got);
  sa_free(&before);
  free(big);
  close(bigfd);

  /* a stale dotlock is broken, a fresh one waited for */
  lfd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644);
  close(lfd);
  ut.actime = ut.modtime = time(0) - 400;
  utime(lock, &ut);
  OK(deliver_mbox(mb, fd, &h, &why) == 0, "mbox: stale dotlock broken");
  OK(access(lock, F_OK) == -1, "mbox: no lock left behind");
  lfd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644);
  close(lfd);
  deliver_lock_wait = 1;
  before = file(mb);
  t0 = time(0);
  OK(deliver_mbox(mb, fd, &h, &why) == -1, "mbox: fresh dotlock of someone else: timeout");
  OK(time(0) - t0 >= 1, "mbox: waited for the lock");
  sa_0(&why);
  OK(strstr(why.s, "Timed out") != 0, "mbox: timeout reason");
  OK(access(lock, F_OK) == 0, "mbox: the other lock is left alone");
  got = file(mb);
  EQ_MEM(got.s, got.len, before.s, before.len, "mbox: unchanged after lock timeout");
  sa_free(&got);
  sa_free(&before);
  unlink(lock);

  /* flock held by another descriptor: also a timeout */
  lfd = open(mb, O_RDONLY);
  lock_ex(lfd);
  if (fork() == 0) _exit(deliver_mbox(mb, fd, &h, &why) == -1 ? 0 : 1);
  {
    int w;
    wait(&w);
    OK(WIFEXITED(w) && WEXITSTATUS(w) == 0, "mbox: flock held elsewhere: timeout");
  }
  close(lfd);
  deliver_lock_wait = 30;
  sa_free(&why);
  close(fd);
}

int main(void)
{
  char cmd[100];
  if (!mkdtemp(dir)) return 111;
  test_lines();
  test_quote();
  test_looping();
  test_maildir();
  test_mbox();
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 111;
  return t_done();
}
