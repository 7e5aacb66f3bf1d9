/* queue: queue_name, qq_exit_text, and the qmail-queue client against a
 * fake queue program named by $QMAILQUEUE: a shell script that saves what
 * it gets on fd 0 and fd 1, or exits with a chosen code, or exits 82 with
 * its own text on fd 6.  The unit build's QMAILHOME does not exist, so the
 * real qmail-queue can never run here. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include "auto.h"
#include "fdio.h"
#include "queue.h"
#include "t.h"

static char script[512], msgfile[512], envfile[512], fdsfile[512];

static const char fake[] =
  "#!/bin/sh\n"
  "# fake qmail-queue for queue_test; FAKEQ_MODE picks the behaviour\n"
  "d=\"$FAKEQ_DIR\"\n"
  "case \"$FAKEQ_MODE\" in\n"
  "save)\n"
  "  ls /proc/$$/fd > \"$d/fds\"\n"
  "  cat > \"$d/msg\" || exit 54\n"
  "  cat <&1 > \"$d/env\" || exit 54\n"
  "  exit 0 ;;\n"
  "code) exit \"$FAKEQ_CODE\" ;;\n"
  "text) printf '%s' \"$FAKEQ_TEXT\" >&6; exit 82 ;;\n"
  "split) printf 'D' >&6; sleep 0.2; printf 'split text\\n' >&6; exit 82 ;;\n"
  "linger) sleep 5 & printf 'Zlinger' >&6; exit 82 ;;\n"
  "crash) kill -9 $$ ;;\n"

  "esac\n"
  "exit 81\n";

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_name(void)
{
  static const struct {
    const char *dir;
    unsigned long id;
    bool split;
    const char *want;
  } t[] = {
    {"mess", 12345, true, "mess/17/12345"},   /* 12345 mod 23 = 17 (unit split is 23) */
    {"todo", 0, true, "todo/0/0"},
    {"intd", 22, true, "intd/22/22"},
    {"info", 23, true, "info/0/23"},
    {"bounce", 12345, false, "bounce/12345"},
    {"local", 18446744073709551615UL, true, "local/5/18446744073709551615"},
  };
  sa_t x = SA_INIT;
  EQ_INT(auto_split, 23, "unit build uses split 23");
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    sa_copys(&x, "junk");
    OK(queue_name(&x, t[i].dir, t[i].id, t[i].split) && x.len == strlen(t[i].want) + 1 &&
       x.s[x.len - 1] == 0, "queue_name NUL-terminated");
    EQ_STR(x.s, t[i].want, t[i].want);
  }
  sa_free(&x);
}

static void test_exit_text(void)
{
  static const struct {
    int code;
    const char *want;
  } t[] = {
    {0, ""},
    {11, "Denvelope address too long for qq (#5.1.3)"},
    {31, "Dmail server permanently rejected message (#5.3.0)"},
    {51, "Zqq out of memory (#4.3.0)"},
    {52, "Zqq timeout (#4.3.0)"},
    {53, "Zqq write error or disk full (#4.3.0)"},
    {54, "Zqq read error (#4.3.0)"},
    {55, "Zqq unable to read configuration (#4.3.0)"},
    {56, "Zqq trouble making network connection (#4.3.0)"},
    {61, "Zqq trouble in home directory (#4.3.0)"},
    {62, "Zqq trouble creating files in queue (#4.3.0)"},
    {63, "Zqq trouble creating files in queue (#4.3.0)"},
    {64, "Zqq trouble creating files in queue (#4.3.0)"},
    {65, "Zqq trouble creating files in queue (#4.3.0)"},
    {66, "Zqq trouble creating files in queue (#4.3.0)"},
    {71, "Zmail server temporarily rejected message (#4.3.0)"},
    {72, "Zconnection to mail server timed out (#4.4.1)"},
    {73, "Zconnection to mail server rejected (#4.4.1)"},
    {74, "Zcommunication with mail server failed (#4.4.2)"},
    {81, "Zqq internal bug (#4.3.0)"},
    {91, "Zqq envelope format error (#4.3.0)"},
    {120, "Zunable to exec qq (#4.3.0)"},
    /* undocumented codes: 11-40 permanent, everything else temporary */
    {12, "Dqq permanent problem (#5.3.0)"},
    {40, "Dqq permanent problem (#5.3.0)"},
    {1, "Zqq temporary problem (#4.3.0)"},
    {10, "Zqq temporary problem (#4.3.0)"},
    {41, "Zqq temporary problem (#4.3.0)"},
    {82, "Zqq temporary problem (#4.3.0)"},
    {100, "Zqq temporary problem (#4.3.0)"},
    {111, "Zqq temporary problem (#4.3.0)"},
    {255, "Zqq temporary problem (#4.3.0)"},
    {-1, "Zqq temporary problem (#4.3.0)"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char name[64];
    snprintf(name, sizeof name, "qq_exit_text(%d)", t[i].code);
    EQ_STR(qq_exit_text(t[i].code), t[i].want, name);
  }
}

/* runs one injection: message m (mlen bytes), sender, recipients; returns
 * qq_close's report, or "open failed" */
static const char *inject(bool allow_env, const char *m, size_t mlen, const char *from,
                          const char *const *to, bool skip_from)
{
  qq_t q;
  if (qq_open(&q, allow_env) == -1) return "open failed";
  /* write in uneven pieces, as an injector reading its input would */
  for (size_t off = 0; off < mlen;) {
    size_t n = mlen - off < 777 ? mlen - off : 777;
    qq_put(&q, m + off, n);
    off += n;
  }
  if (!skip_from) {
    qq_from(&q, from);
    for (; to && *to; ++to) qq_to(&q, *to);
  }
  return qq_close(&q);
}

static int file_is(const char *fn, const char *want, size_t n)
{
  sa_t x = SA_INIT;
  int ok = read_file(fn, &x, 10 << 20) == 1 && x.len == n && (n == 0 || memcmp(x.s, want, n) == 0);
  sa_free(&x);
  return ok;
}

static void mode(const char *m) { setenv("FAKEQ_MODE", m, 1); }

static void test_qq(void)
{
  static const char msg[] = "Subject: hi\n\nbody\n";
  static const char *const to[] = {"c@d", "e@f", 0};
  static const char env[] = "Fa@b\0Tc@d\0Te@f\0";   /* + the final NUL below */
  static char big[300000];
  const char *r;

  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
  big[sizeof big - 1] = '\n';
  setenv("QMAILQUEUE", script, 1);
  setenv("FAKEQ_DIR", t_tmpdir(), 1);

  mode("save");
  EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), "", "save: success");
  OK(file_is(msgfile, msg, sizeof msg - 1), "save: message bytes exact");
  OK(file_is(envfile, env, sizeof env), "save: envelope F..\\0T..\\0T..\\0\\0");
  {
    sa_t f = SA_INIT;
    read_file(fdsfile, &f, 4096);
    sa_0(&f);
    OK(strstr(f.s, "0\n") && strstr(f.s, "1\n") && strstr(f.s, "2\n") && strstr(f.s, "6\n"),
       "qmail-queue has fds 0, 1, 2 and 6");
    sa_free(&f);
  }
  EQ_STR(inject(true, big, sizeof big, "", 0, false), "", "save: 300000-byte message, empty sender");
  OK(file_is(msgfile, big, sizeof big), "save: big message exact");
  OK(file_is(envfile, "F\0", 3), "save: envelope of an empty sender and no recipients");
  EQ_STR(inject(true, "", 0, "#@[]", to, false), "", "save: empty message");
  OK(file_is(msgfile, "", 0), "save: empty message saved empty");

  /* qq_close without qq_from: never a success, even if the child says 0 */
  EQ_STR(inject(true, msg, sizeof msg - 1, 0, 0, true), "Zqq write error (#4.3.0)",
         "no qq_from: temporary failure");

  /* qq_abort: the envelope is never ended, so qmail-queue queues nothing,
   * and the report is temporary whatever the child says */
  {
    qq_t q;
    OK(qq_open(&q, true) == 0, "qq_open (qq_abort)");
    qq_puts(&q, msg);
    qq_from(&q, "a@b");
    qq_to(&q, "c@d");
    qq_abort(&q);
    EQ_STR(qq_close(&q), "Zqq write error (#4.3.0)", "qq_abort: temporary failure");
    OK(!file_is(envfile, "Fa@b\0Tc@d\0", 11), "qq_abort: the envelope was not ended");
  }

  /* the exit code, even if the child did not read the message; SIGPIPE is
   * ignored, as queue.h tells callers to */
  signal(SIGPIPE, SIG_IGN);
  mode("code");
  {
    static const int codes[] = {11, 31, 51, 53, 71, 81, 91, 100};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
      char c[16], name[64];
      snprintf(c, sizeof c, "%d", codes[i]);
      setenv("FAKEQ_CODE", c, 1);
      snprintf(name, sizeof name, "exit %d, message unread", codes[i]);
      EQ_STR(inject(true, big, sizeof big, "a@b", to, false), qq_exit_text(codes[i]), name);
      snprintf(name, sizeof name, "exit %d, small message", codes[i]);
      EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), qq_exit_text(codes[i]), name);
    }
  }
  /* exit 0 without reading: the writes failed, so no success claimed */
  setenv("FAKEQ_CODE", "0", 1);
  EQ_STR(inject(true, big, sizeof big, "a@b", to, false), "Zqq write error (#4.3.0)",
         "exit 0 without reading: temporary failure");

  /* custom text on fd 6 with exit 82 */
  {
    static const struct {
      const char *text, *want;
    } t[] = {
      {"Dcustom text", "Dcustom text"},
      {"Zcustom temporary\n", "Zcustom temporary"},
      {"Done line\nsecond line\n", "Done line"},
      {"Dcr\r\n", "Dcr"},
      {"", "Zqq temporary problem (#4.3.0)"},
      {"D", "Zqq temporary problem (#4.3.0)"},
      {"Xnot a report", "Zqq temporary problem (#4.3.0)"},
      {"\nDlate", "Zqq temporary problem (#4.3.0)"},
    };
    mode("text");
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
      char name[64];
      setenv("FAKEQ_TEXT", t[i].text, 1);
      snprintf(name, sizeof name, "exit 82, text case %zu", i);
      EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), t[i].want, name);
    }
    {
      char longt[400];
      memset(longt, 'x', sizeof longt - 1);
      longt[0] = 'D';
      longt[sizeof longt - 1] = 0;
      setenv("FAKEQ_TEXT", longt, 1);
      r = inject(true, msg, sizeof msg - 1, "a@b", to, false);
      OK(r[0] == 'D' && strlen(r) == 256 && strncmp(r, longt, 256) == 0,
         "exit 82, text over 256 bytes is cut to 256");
    }
  }
  mode("split");
  EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), "Dsplit text",
         "exit 82, text in two writes is read whole");
  mode("linger");
  {
    double t0 = now();
    EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), "Zlinger",
           "exit 82 while a leftover process holds fd 6");
    OK(now() - t0 < 3, "  and qq_close does not wait for that process");
  }

  /* a caller that blocks and ignores signals must not pass that on; this
   * binary itself plays qmail-queue here (see sigcheck) */
  {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, 0);
    signal(SIGALRM, SIG_IGN);
    setenv("QMAILQUEUE", "/proc/self/exe", 1);
    setenv("UNIT_QQ_SIGCHECK", "1", 1);
    EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), "",
           "qmail-queue starts with no blocked or ignored signals");
    unsetenv("UNIT_QQ_SIGCHECK");
    setenv("QMAILQUEUE", script, 1);
    sigprocmask(SIG_UNBLOCK, &s, 0);
    signal(SIGALRM, SIG_DFL);
  }

  mode("crash");
  EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), "Zqq crashed (#4.3.0)", "killed: crashed");

  /* exec failures: a missing $QMAILQUEUE, and the (missing) QMAILHOME one */
  {
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-qq", t_tmpdir());
    setenv("QMAILQUEUE", missing, 1);
    EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), "Zunable to exec qq (#4.3.0)",
           "QMAILQUEUE missing: unable to exec");
    setenv("QMAILQUEUE", script, 1);
    mode("save");
    EQ_STR(inject(false, msg, sizeof msg - 1, "a@b", to, false), "Zunable to exec qq (#4.3.0)",
           "allow_env false ignores QMAILQUEUE (QMAILHOME/bin/qmail-queue is missing)");
    setenv("QMAILQUEUE", "", 1);
    EQ_STR(inject(true, msg, sizeof msg - 1, "a@b", to, false), "Zunable to exec qq (#4.3.0)",
           "empty QMAILQUEUE means the default");
  }

  /* byte count, and no fd left behind by a whole run */
  {
    qq_t q;
    int before = open_read("/dev/null"), after;
    close(before);
    setenv("QMAILQUEUE", script, 1);
    OK(qq_open(&q, true) == 0, "qq_open");
    qq_puts(&q, "12345");
    qq_put(&q, "678", 3);
    EQ_INT(q.bytes, 8, "qq bytes counts the message");
    qq_from(&q, "a@b");
    qq_to(&q, "c@d");
    EQ_STR(qq_close(&q), "", "closed ok");
    after = open_read("/dev/null");
    EQ_INT(after, before, "no fd leaked");
    close(after);
  }
}

static void test_trigger(void)
{
  char fifo[600];
  int fd;
  char c = 'x';
  snprintf(fifo, sizeof fifo, "%s/trigger", t_tmpdir());
  trigger_pull(fifo);
  OK(1, "trigger_pull on a missing FIFO is silent");
  mkfifo(fifo, 0622);
  trigger_pull(fifo);
  OK(1, "trigger_pull with no reader does not block");
  fd = open(fifo, O_RDONLY | O_NONBLOCK);
  trigger_pull(fifo);
  OK(read(fd, &c, 1) == 1 && c == 0, "trigger_pull writes one byte to a reader");
  {
    unsigned char h[4];
    int lead = -1;
    trigger_hint(fifo, 23 * 1000 + 17);
    EQ_INT(read(fd, h, sizeof h), 2, "trigger_hint writes two bytes");
    EQ_INT(trigger_byte(&lead, h[0]), TRIGGER_MORE, "first byte of a hint");
    EQ_INT(trigger_byte(&lead, h[1]), 17, "second byte: the subdirectory");
    EQ_INT(lead, -1, "nothing pending after a whole hint");
  }
  close(fd);
}

/* the reader's side: every N up to 4095 comes through; anything that is
 * not a whole hint means "look everywhere", and the next hint still counts */
static void test_trigger_bytes(void)
{
  int lead = -1, bad = 0;
  for (int n = 0; n < 4096; n++) {
    unsigned char b0 = (unsigned char)(0xc0 | (n >> 6)), b1 = (unsigned char)(0x80 | (n & 0x3f));
    if (trigger_byte(&lead, b0) != TRIGGER_MORE || trigger_byte(&lead, b1) != n) bad++;
  }
  EQ_INT(bad, 0, "all 4096 hints decode");
  lead = -1;
  EQ_INT(trigger_byte(&lead, 0), TRIGGER_ALL, "qmail's NUL byte: everything");
  EQ_INT(trigger_byte(&lead, 'x'), TRIGGER_ALL, "any other byte: everything");
  EQ_INT(trigger_byte(&lead, 0x85), TRIGGER_ALL, "a second byte alone: everything");
  EQ_INT(trigger_byte(&lead, 0xc0), TRIGGER_MORE, "a first byte");
  EQ_INT(trigger_byte(&lead, 0xc1), TRIGGER_ALL, "another first byte: the first is lost");
  EQ_INT(trigger_byte(&lead, 0x82), 66, "and the second counts with the new first");
  EQ_INT(trigger_byte(&lead, 0xc0), TRIGGER_MORE, "a first byte");
  EQ_INT(trigger_byte(&lead, 'a'), TRIGGER_ALL, "then junk: everything");
  EQ_INT(lead, -1, "and nothing pending");
}

/* run as qmail-queue: exit 71 if a signal is blocked, 72 if SIGALRM or
 * SIGPIPE is ignored, else 0 after draining fd 0 and fd 1 */
static int sigcheck(void)
{
  sigset_t cur;
  struct sigaction a, p;
  char b[4096];
  sigprocmask(SIG_BLOCK, 0, &cur);
  if (sigismember(&cur, SIGALRM) || sigismember(&cur, SIGTERM)) return 71;
  sigaction(SIGALRM, 0, &a);
  sigaction(SIGPIPE, 0, &p);
  if (a.sa_handler == SIG_IGN || p.sa_handler == SIG_IGN) return 72;
  while (read(0, b, sizeof b) > 0) continue;
  while (read(1, b, sizeof b) > 0) continue;
  return 0;
}

int main(void)
{
  if (getenv("UNIT_QQ_SIGCHECK")) return sigcheck();
  snprintf(script, sizeof script, "%s/fakeq", t_tmpdir());
  snprintf(msgfile, sizeof msgfile, "%s/msg", t_tmpdir());
  snprintf(envfile, sizeof envfile, "%s/env", t_tmpdir());
  snprintf(fdsfile, sizeof fdsfile, "%s/fds", t_tmpdir());
  t_write(script, fake, sizeof fake - 1);
  chmod(script, 0755);
  test_name();
  test_exit_text();
  test_qq();
  test_trigger();
  test_trigger_bytes();
  return t_done();
}
