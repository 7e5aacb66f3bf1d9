/* fdio: small file-descriptor helpers: opening, moving, locking, timed
 * reads and writes, durable directory updates.  All return -1 with errno
 * on failure. */
#ifndef FDIO_H
#define FDIO_H
#include <stddef.h>
#include <sys/types.h>
#include "sa.h"

int fd_move(int to, int from);  /* dup2 then close from (no-op if equal) */
int fd_copy(int to, int from);  /* dup2 */
int coe(int fd);                /* close-on-exec */
int ndelay_on(int fd);
int ndelay_off(int fd);

int open_read(const char *);             /* O_NONBLOCK: a FIFO cannot hang the open */
int open_write(const char *);            /* O_WRONLY|O_NONBLOCK (FIFOs) */
int open_excl(const char *, mode_t);     /* O_WRONLY|O_CREAT|O_EXCL */
int open_append(const char *, mode_t);   /* O_WRONLY|O_APPEND|O_CREAT */
int open_trunc(const char *, mode_t);    /* O_WRONLY|O_CREAT|O_TRUNC */

int write_all(int fd, const void *, size_t);
/* read/write waiting at most secs seconds; -1 ETIMEDOUT on timeout */
ssize_t read_timeout(int fd, void *, size_t, unsigned secs);
ssize_t write_timeout(int fd, const void *, size_t, unsigned secs);

/* fsync the directory itself, so entries made in it survive a crash
 * (link/rename/unlink are not synchronous on Linux file systems) */
int fsync_dir(const char *path);
/* fsync the directory holding path (its dirname; "." if none) */
int fsync_parent(const char *path);

/* descriptors over a Unix socket (SCM_RIGHTS), with the bytes p[0..len)
 * as the message; at most FD_PASS_MAX descriptors.  fd_send: sendmsg's
 * result.  fd_recv: recvmsg's result; the descriptors received (close-on-
 * exec) go to fds, their count to *nfd; beyond max they are closed, and a
 * truncated message or control part sets *nfd to -1 after closing all. */
#define FD_PASS_MAX 4
ssize_t fd_send(int sock, const void *p, size_t len, const int *fds, int n, int flags);
ssize_t fd_recv(int sock, void *p, size_t len, int *fds, int max, int *nfd, int flags);

int lock_ex(int fd);    /* flock, waits */
int lock_exnb(int fd);  /* flock, fails with EWOULDBLOCK if held */
int lock_un(int fd);

/* whole file into out, at most max bytes (more: -1 E2BIG).
 * 1 read, 0 file does not exist, -1 error */
int read_file(const char *path, sa_t *out, size_t max);
/* the rest of fd into out, as read_file: 0 at its end, -1 error */
int read_fd(int fd, sa_t *out, size_t max);

#endif
