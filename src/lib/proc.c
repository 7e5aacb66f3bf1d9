#include "proc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

void sig_catch(int sig, void (*h)(int))
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, 0);
}

void sig_ignore(int sig) { sig_catch(sig, SIG_IGN); }
void sig_default(int sig) { sig_catch(sig, SIG_DFL); }

static void mask(int how, int sig)
{
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, sig);
  sigprocmask(how, &ss, 0);
}

void sig_block(int sig) { mask(SIG_BLOCK, sig); }
void sig_unblock(int sig) { mask(SIG_UNBLOCK, sig); }

pid_t wait_pid(pid_t pid, int *wstat)
{
  pid_t r;
  do r = waitpid(pid, wstat, 0); while (r == -1 && errno == EINTR);
  return r;
}

pid_t wait_nohang(int *wstat)
{
  pid_t r;
  do r = waitpid(-1, wstat, WNOHANG); while (r == -1 && errno == EINTR);
  return r;
}

int wait_code(int w) { return WIFEXITED(w) ? WEXITSTATUS(w) : -1; }

static int sp[2] = {-1, -1};

static void sp_handler(int sig)
{
  unsigned char c = (unsigned char)sig;
  int e = errno;
  (void)!write(sp[1], &c, 1);
  errno = e;
}

int selfpipe_init(void)
{
  if (sp[0] != -1) return sp[0];
  if (pipe2(sp, O_NONBLOCK | O_CLOEXEC) == -1) return -1;
  return sp[0];
}

int selfpipe_trap(int sig)
{
  if (sp[0] == -1) { errno = EBADF; return -1; }
  sig_catch(sig, sp_handler);
  return 0;
}

int selfpipe_read(void)
{
  unsigned char c;
  ssize_t r;
  do r = read(sp[0], &c, 1); while (r == -1 && errno == EINTR);
  return r == 1 ? c : 0;
}

const char *env_get(const char *name) { return getenv(name); }

int proc_private(void)
{
  return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ? -1 : 0;
}

void proc_name(const char *name)
{
  /* cosmetic: a failure changes nothing else */
  (void)prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int thread_start(pthread_t *t, size_t stack, void *(*f)(void *), void *arg)
{
  pthread_attr_t a;
  sigset_t all, old;
  int r = pthread_attr_init(&a);
  if (r) return r;
  r = pthread_attr_setstacksize(&a, stack);
  if (!r) {
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(t, &a, f, arg);
    pthread_sigmask(SIG_SETMASK, &old, 0);
  }
  pthread_attr_destroy(&a);
  return r;
}
