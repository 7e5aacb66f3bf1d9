/* workers: a pool of long-lived children that each take one job at a
 * time, for programs whose per-job fork and exit cost more CPU than the
 * job (qmail-rspawn's deliveries, qmail-queued's messages).
 *
 * A worker is forked when a job comes and none is idle.  Jobs reach it as
 * datagrams (with descriptors, SCM_RIGHTS) on its job socket, one end of
 * a SOCK_SEQPACKET pair.  How a job ends is the program's business; it
 * then calls workers_done.  A worker retires (its socket is closed, it
 * sees end of file and exits) after `uses` jobs or `idle` seconds
 * without one.  Dead workers are the program's to notice (a reaped pid,
 * or end of file on the socket): workers_drop forgets them. */
#ifndef WORKERS_H
#define WORKERS_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

typedef struct {
  pid_t pid;   /* 0: a free slot */
  int js;      /* our end of its job socket */
  bool busy;
  unsigned uses;
  time_t idle; /* since when it waits */
} worker_t;

typedef struct {
  worker_t *slot;  /* the pool: all zero at first */
  size_t n;
  unsigned uses;   /* jobs before a worker retires */
  int idle;        /* seconds without a job before it retires */
  /* runs in a new worker, with its end of the job socket (close-on-exec);
   * the other workers' sockets are closed, everything else of the
   * parent's is still open.  Must not return. */
  void (*child)(int js);
} workers_t;

/* sends one job (p, len and up to FD_PASS_MAX descriptors) to an idle
 * worker, forking one if none waits: the worker, now busy, or 0 if none
 * could be had (the pool full, fork failed, or the worker died) */
worker_t *workers_job(workers_t *, const void *p, size_t len, const int *fds, int nfd);

/* its job is over: idle again, or retired after its last */
void workers_done(workers_t *, worker_t *);

/* the worker with this pid, or 0 */
worker_t *workers_find(workers_t *, pid_t);

/* forgets a worker and closes its socket: it exits when it sees that */
void workers_drop(worker_t *);

/* retires the workers idle too long; ms until the next one is due, or -1 */
int workers_tick(workers_t *, time_t now);

/* drops every worker */
void workers_end(workers_t *);

#endif
