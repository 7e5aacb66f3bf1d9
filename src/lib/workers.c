/* workers: see workers.h */
#include "workers.h"
#include <sys/socket.h>
#include <unistd.h>
#include "fdio.h"

void workers_drop(worker_t *w)
{
  close(w->js);
  w->js = -1;
  w->pid = 0;
  w->busy = false;
}

static worker_t *fork_one(workers_t *p)
{
  worker_t *w = 0;
  int sv[2];
  pid_t pid;
  for (size_t i = 0; i < p->n; ++i)
    if (!p->slot[i].pid) { w = &p->slot[i]; break; }
  if (!w) return 0;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) return 0;
  pid = fork();
  if (pid == -1) {
    close(sv[0]);
    close(sv[1]);
    return 0;
  }
  if (pid == 0) {
    /* the other workers' sockets: their end of file must not wait for us */
    for (size_t i = 0; i < p->n; ++i)
      if (p->slot[i].pid) close(p->slot[i].js);
    close(sv[0]);
    p->child(sv[1]);
    _exit(111); /* not reached */
  }
  close(sv[1]);
  w->pid = pid;
  w->js = sv[0];
  w->busy = false;
  w->uses = 0;
  w->idle = time(0);
  return w;
}

worker_t *workers_job(workers_t *p, const void *b, size_t len, const int *fds, int nfd)
{
  for (int tries = 0; tries < 2; ++tries) {
    worker_t *w = 0;
    for (size_t i = 0; i < p->n; ++i)
      if (p->slot[i].pid && !p->slot[i].busy) { w = &p->slot[i]; break; }
    if (!w && !(w = fork_one(p))) return 0;
    /* it waits for jobs, so the socket has room; MSG_DONTWAIT all the same */
    if (fd_send(w->js, b, len, fds, nfd, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len) {
      w->busy = true;
      ++w->uses;
      return w;
    }
    workers_drop(w); /* it died */
  }
  return 0;
}

void workers_done(workers_t *p, worker_t *w)
{
  w->busy = false;
  w->idle = time(0);
  if (w->uses >= p->uses) workers_drop(w);
}

worker_t *workers_find(workers_t *p, pid_t pid)
{
  for (size_t i = 0; i < p->n; ++i)
    if (p->slot[i].pid && p->slot[i].pid == pid) return &p->slot[i];
  return 0;
}

int workers_tick(workers_t *p, time_t now)
{
  time_t next = 0;
  for (size_t i = 0; i < p->n; ++i) {
    worker_t *w = &p->slot[i];
    if (!w->pid || w->busy) continue;
    if (w->idle + p->idle <= now) { workers_drop(w); continue; }
    if (!next || w->idle + p->idle < next) next = w->idle + p->idle;
  }
  return next ? (int)(next - now) * 1000 : -1;
}

void workers_end(workers_t *p)
{
  for (size_t i = 0; i < p->n; ++i)
    if (p->slot[i].pid) workers_drop(&p->slot[i]);
}
