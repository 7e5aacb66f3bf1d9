/* proc: the self-pipe, child waiting and exit codes, signal masks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "proc.h"
#include "t.h"

static pid_t child_exit(int code)
{
  pid_t pid = fork();
  if (pid == 0) _exit(code);
  return pid;
}

static void test_wait(void)
{
  static const int codes[] = {0, 1, 100, 111, 255};
  int w;
  pid_t pid;
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    char name[64];
    pid = child_exit(codes[i]);
    snprintf(name, sizeof name, "wait_pid + wait_code: exit %d", codes[i]);
    OK(wait_pid(pid, &w) == pid && wait_code(w) == codes[i], name);
  }
  pid = fork();
  if (pid == 0) { raise(SIGKILL); _exit(0); }
  OK(wait_pid(pid, &w) == pid && wait_code(w) == -1, "killed child: wait_code -1");
  pid = fork();
  if (pid == 0) { sig_default(SIGSEGV); raise(SIGSEGV); _exit(0); }
  OK(wait_pid(pid, &w) == pid && wait_code(w) == -1 && WTERMSIG(w) == SIGSEGV, "crashed child: -1");

  errno = 0;
  OK(wait_nohang(&w) == -1 && errno == ECHILD, "wait_nohang without children: -1");
  {
    int s[2];
    char c;
    if (pipe(s) == -1) t_bail("pipe");
    pid = fork();
    if (pid == 0) { close(s[1]); (void)!read(s[0], &c, 1); _exit(7); }
    close(s[0]);
    OK(wait_nohang(&w) == 0, "wait_nohang with a running child: 0");
    close(s[1]); /* child exits */
    {
      pid_t r;
      int n = 0;
      while ((r = wait_nohang(&w)) == 0 && n++ < 500) usleep(10000);
      OK(r == pid && wait_code(w) == 7, "wait_nohang reaps the exited child");
    }
  }
  errno = 0;
  OK(wait_pid(getpid(), &w) == -1 && errno == ECHILD, "wait_pid on a non-child: ECHILD");
}

static void test_selfpipe(void)
{
  int fd = selfpipe_init(), fl;
  struct pollfd p;
  OK(fd >= 0, "selfpipe_init");
  OK(selfpipe_init() == fd, "selfpipe_init twice gives the same fd");
  fl = fcntl(fd, F_GETFL);
  OK((fl & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "self-pipe is nonblocking, close-on-exec");
  OK(selfpipe_read() == 0, "nothing pending: 0");
  OK(selfpipe_trap(SIGUSR1) == 0 && selfpipe_trap(SIGCHLD) == 0 && selfpipe_trap(SIGHUP) == 0, "trap");

  kill(getpid(), SIGUSR1);
  p.fd = fd;
  p.events = POLLIN;
  OK(poll(&p, 1, 1000) == 1, "a signal makes the pipe readable");
  EQ_INT(selfpipe_read(), SIGUSR1, "selfpipe_read gives SIGUSR1");
  OK(selfpipe_read() == 0, "then nothing");

  kill(getpid(), SIGHUP);
  kill(getpid(), SIGUSR1);
  {
    int a = selfpipe_read(), b = selfpipe_read();
    OK((a == SIGHUP && b == SIGUSR1) || (a == SIGUSR1 && b == SIGHUP), "two signals, two bytes");
  }

  /* SIGCHLD from a real child */
  {
    pid_t pid = child_exit(0);
    int w, n = 0, got = 0;
    while (n++ < 200 && !got) {
      p.revents = 0;
      if (poll(&p, 1, 10) == 1) got = selfpipe_read();
    }
    EQ_INT(got, SIGCHLD, "a child's exit arrives as SIGCHLD");
    OK(wait_pid(pid, &w) == pid, "reaped");
  }

  /* a blocked signal waits until unblocked */
  sig_block(SIGUSR1);
  kill(getpid(), SIGUSR1);
  OK(selfpipe_read() == 0, "blocked signal is not delivered");
  sig_unblock(SIGUSR1);
  EQ_INT(selfpipe_read(), SIGUSR1, "delivered on unblock");

  sig_ignore(SIGUSR1);
  kill(getpid(), SIGUSR1);
  OK(selfpipe_read() == 0, "ignored signal is not delivered");
  sig_default(SIGUSR1);
}

static void test_env(void)
{
  setenv("UNIT_PROC_X", "value", 1);
  EQ_STR(env_get("UNIT_PROC_X"), "value", "env_get");
  OK(env_get("UNIT_PROC_NOT_SET") == 0, "env_get unset: null");
}

static void *in_thread(void *arg)
{
  sigset_t m;
  size_t size = 0;
  pthread_attr_t a;
  int *r = arg;
  pthread_sigmask(SIG_SETMASK, 0, &m);
  r[0] = sigismember(&m, SIGALRM) && sigismember(&m, SIGTERM);
  if (pthread_getattr_np(pthread_self(), &a) == 0) {
    pthread_attr_getstacksize(&a, &size);
    pthread_attr_destroy(&a);
  }
  r[1] = size >= 256 * 1024 && size < 1024 * 1024;
  return 0;
}

static void test_thread(void)
{
  pthread_t t;
  int r[2] = {0, 0};
  sigset_t m;
  OK(thread_start(&t, 256 * 1024, in_thread, r) == 0 && pthread_join(t, 0) == 0, "thread_start runs the thread");
  OK(r[0], "... with every signal blocked");
  OK(r[1], "... on a stack of the size asked, not RLIMIT_STACK's");
  pthread_sigmask(SIG_SETMASK, 0, &m);
  OK(!sigismember(&m, SIGALRM), "the caller's mask is as it was");
}

static void test_name(void)
{
  char b[32] = {0};
  int fd;
  ssize_t r = -1;
  proc_name("qmail-local");
  fd = open("/proc/self/comm", O_RDONLY);
  if (fd != -1) {
    r = read(fd, b, sizeof b - 1);
    close(fd);
  }
  OK(r == 12 && !memcmp(b, "qmail-local\n", 12), "proc_name sets the name ps and pgrep show");
}

int main(void)
{
  test_name();
  test_wait();
  test_selfpipe();
  test_env();
  test_thread();
  return t_done();
}
