/* workers: jobs reach an idle worker or a new one, a worker is reused
 * when done, retires after its uses or when idle too long, and a dead
 * one is replaced.  The test workers echo each job back with their pid
 * and the descriptor's first byte. */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "fdio.h"
#include "workers.h"
#include "t.h"

static void child(int js)
{
  for (;;) {
    char b[64], c = '?';
    int fds[FD_PASS_MAX], n;
    ssize_t r = fd_recv(js, b, sizeof b - 16, fds, FD_PASS_MAX, &n, 0);
    if (r <= 0) _exit(0); /* retired */
    if (n == 1) {
      if (read(fds[0], &c, 1) != 1) c = '!';
      close(fds[0]);
    }
    b[r] = c;
    memcpy(b + r + 1, &(pid_t){getpid()}, sizeof(pid_t));
    if (write(js, b, (size_t)r + 1 + sizeof(pid_t)) == -1) _exit(1);
  }
}

static worker_t slot[2];
static workers_t pool = {slot, 2, 3, 5, child};

/* a job "x" with a pipe holding c; the worker's echo checked, then done */
static worker_t *job(char c, pid_t *pid)
{
  int p[2];
  char b[64];
  worker_t *w;
  if (pipe(p) == -1 || write(p[1], &c, 1) != 1) return 0;
  close(p[1]);
  w = workers_job(&pool, "x", 1, &p[0], 1);
  close(p[0]);
  if (!w) return 0;
  if (read(w->js, b, sizeof b) != 2 + (ssize_t)sizeof(pid_t) || b[0] != 'x' || b[1] != c) return 0;
  memcpy(pid, b + 2, sizeof(pid_t));
  return w;
}

static int gone(pid_t pid)
{
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid, 0, WNOHANG) == pid) return 1;
    usleep(10000);
  }
  return 0;
}

int main(void)
{
  pid_t a, b, c, d;
  worker_t *w, *w2;
  signal(SIGPIPE, SIG_IGN);

  w = job('1', &a);
  OK(w && w->pid == a && w->busy && w->uses == 1, "a job forks a worker, which gets the job and the descriptor");
  workers_done(&pool, w);
  OK(!w->busy, "done: idle again");
  w = job('2', &b);
  OK(w && b == a && w->uses == 2, "the idle worker takes the next job");
  w2 = job('3', &c);
  OK(w2 && c != a, "while it is busy, a second worker is forked");
  OK(!workers_job(&pool, "x", 1, 0, 0), "the pool is full: no worker");
  workers_done(&pool, w2);
  workers_done(&pool, w);
  OK(workers_find(&pool, a) == w && workers_find(&pool, c) == w2, "found by pid");
  w = job('4', &d);
  OK(w && d == a && w->uses == 3, "the first idle worker, third use");
  workers_done(&pool, w);
  OK(!workers_find(&pool, a) && gone(a), "after its last use it retires and exits");

  /* a dead worker: the job goes to a new one */
  kill(c, SIGKILL);
  OK(gone(c), "a worker killed");
  w = job('5', &d);
  OK(w && d != c && d != a, "the next job finds it dead and forks another");
  workers_done(&pool, w);

  EQ_INT(workers_tick(&pool, time(0)) > 0, 1, "tick: the idle worker is due in a few seconds");
  EQ_INT(workers_tick(&pool, time(0) + 6), -1, "tick: past its idle time it retires");
  OK(!workers_find(&pool, d) && gone(d), "... and exits");

  w = job('6', &a);
  OK(w != 0, "a fresh worker after all that");
  workers_end(&pool);
  OK(!workers_find(&pool, a) && gone(a), "workers_end: all gone");
  return t_done();
}
