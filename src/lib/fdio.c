#include "fdio.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int fd_copy(int to, int from)
{
  if (to == from) return fcntl(to, F_SETFD, 0); /* inheritable, as dup2 makes it */
  if (fcntl(from, F_GETFL, 0) == -1) return -1;
  while (dup2(from, to) == -1) if (errno != EINTR) return -1;
  return 0;
}

int fd_move(int to, int from)
{
  if (to == from) return 0;
  if (fd_copy(to, from) == -1) return -1;
  close(from);
  return 0;
}

int coe(int fd) { return fcntl(fd, F_SETFD, FD_CLOEXEC); }

int ndelay_on(int fd)
{
  int f = fcntl(fd, F_GETFL, 0);
  return f == -1 ? -1 : fcntl(fd, F_SETFL, f | O_NONBLOCK);
}

int ndelay_off(int fd)
{
  int f = fcntl(fd, F_GETFL, 0);
  return f == -1 ? -1 : fcntl(fd, F_SETFL, f & ~O_NONBLOCK);
}

int open_read(const char *fn) { return open(fn, O_RDONLY | O_NONBLOCK | O_CLOEXEC); }
int open_write(const char *fn) { return open(fn, O_WRONLY | O_NONBLOCK | O_CLOEXEC); }
int open_excl(const char *fn, mode_t m) { return open(fn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, m); }
int open_append(const char *fn, mode_t m) { return open(fn, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, m); }
int open_trunc(const char *fn, mode_t m) { return open(fn, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, m); }

int write_all(int fd, const void *p, size_t n)
{
  const char *s = p;
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w == -1) { if (errno == EINTR) continue; return -1; }
    if (w == 0) { errno = EIO; return -1; }
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* waits against a fixed deadline: a stream of signals (EINTR) must not be
 * able to stretch the timeout forever */
static int wait_fd(int fd, short ev, unsigned secs)
{
  struct pollfd p = {.fd = fd, .events = ev};
  struct timespec now, end;
  if (clock_gettime(CLOCK_MONOTONIC, &end) == -1) return -1;
  end.tv_sec += secs;
  for (;;) {
    long long ms;
    int r;
    if (clock_gettime(CLOCK_MONOTONIC, &now) == -1) return -1;
    ms = ((long long)end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
    if (ms < 0) ms = 0;
    if (ms > 2000000000) ms = 2000000000;
    r = poll(&p, 1, (int)ms);
    if (r == 1) return 0;
    if (r == 0) { errno = ETIMEDOUT; return -1; }
    if (errno != EINTR) return -1;
  }
}

ssize_t read_timeout(int fd, void *p, size_t n, unsigned secs)
{
  for (;;) {
    ssize_t r;
    if (wait_fd(fd, POLLIN, secs) == -1) return -1;
    r = read(fd, p, n);
    if (r >= 0 || (errno != EINTR && errno != EAGAIN)) return r;
  }
}

ssize_t write_timeout(int fd, const void *p, size_t n, unsigned secs)
{
  for (;;) {
    ssize_t r;
    if (wait_fd(fd, POLLOUT, secs) == -1) return -1;
    r = write(fd, p, n);
    if (r >= 0 || (errno != EINTR && errno != EAGAIN)) return r;
  }
}

int fsync_dir(const char *path)
{
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r, e;
  if (fd == -1) return -1;
  r = fsync(fd);
  e = errno;
  close(fd);
  errno = e;
  return r;
}

int fsync_parent(const char *path)
{
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t n;
  if (!slash) return fsync_dir(".");
  n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
  memcpy(dir, path, n);
  dir[n] = 0;
  return fsync_dir(dir);
}

int lock_ex(int fd)
{
  int r;
  do r = flock(fd, LOCK_EX); while (r == -1 && errno == EINTR);
  return r;
}

int lock_exnb(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }
int lock_un(int fd) { return flock(fd, LOCK_UN); }

int read_fd(int fd, sa_t *out, size_t max)
{
  out->len = 0;
  for (;;) {
    ssize_t r;
    if (!sa_readyplus(out, 4096)) return -1;
    r = read(fd, out->s + out->len, out->a - out->len);
    if (r == -1) { if (errno == EINTR) continue; return -1; }
    if (r == 0) return 0;
    out->len += (size_t)r;
    if (out->len > max) { errno = E2BIG; return -1; }
  }
}

int read_file(const char *path, sa_t *out, size_t max)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  out->len = 0;
  if (fd == -1) return errno == ENOENT ? 0 : -1;
  if (read_fd(fd, out, max) == -1) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  close(fd);
  return 1;
}

typedef union {
  char b[CMSG_SPACE(FD_PASS_MAX * sizeof(int))];
  struct cmsghdr align;
} fd_ctl_t;

ssize_t fd_send(int sock, const void *p, size_t len, const int *fds, int n, int flags)
{
  struct iovec iov = {(void *)p, len};
  struct msghdr mh;
  struct cmsghdr *cm;
  fd_ctl_t u;
  if (n < 1 || n > FD_PASS_MAX) { errno = EINVAL; return -1; }
  memset(&mh, 0, sizeof mh);
  memset(&u, 0, sizeof u);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.b;
  mh.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
  memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
  return sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
}

ssize_t fd_recv(int sock, void *p, size_t len, int *fds, int max, int *nfd, int flags)
{
  struct iovec iov = {p, len};
  struct msghdr mh;
  struct cmsghdr *cm;
  fd_ctl_t u;
  ssize_t r;
  int n = 0;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.b;
  mh.msg_controllen = sizeof u.b;
  r = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
  *nfd = 0;
  if (r == -1) return -1;
  for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    size_t k;
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    for (k = 0; CMSG_LEN((k + 1) * sizeof(int)) <= cm->cmsg_len; k++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof fd);
      if (n < max) fds[n++] = fd;
      else close(fd);
    }
  }
  *nfd = n;
  if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    while (n > 0) close(fds[--n]);
    *nfd = -1;
  }
  return r;
}
