/* fdio: opening, fd shuffling, directory fsyncs, bounded whole-file reads,
 * timeouts (also under a storm of signals), flock across processes,
 * descriptors passed over a Unix socket. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include "fdio.h"
#include "t.h"

static char path[512];
static const char *P(const char *name)
{
  snprintf(path, sizeof path, "%s/%s", t_tmpdir(), name);
  return path;
}

static int cloexec(int fd) { return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
static int is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_open(void)
{
  struct stat st;
  char b[16];
  int fd;
  umask(022);
  fd = open_excl(P("x"), 0640);
  OK(fd >= 0 && cloexec(fd), "open_excl creates, close-on-exec");
  OK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0640, "open_excl mode");
  OK(write_all(fd, "hello", 5) == 0, "write_all");
  close(fd);
  errno = 0;
  OK(open_excl(P("x"), 0640) == -1 && errno == EEXIST, "open_excl on existing file: EEXIST");
  fd = open_append(P("x"), 0600);
  OK(fd >= 0 && cloexec(fd) && write_all(fd, "!", 1) == 0, "open_append");
  close(fd);
  fd = open_read(P("x"));
  OK(fd >= 0 && cloexec(fd) && read(fd, b, sizeof b) == 6 && memcmp(b, "hello!", 6) == 0,
     "open_read sees the appended byte");
  close(fd);
  fd = open_trunc(P("x"), 0600);
  OK(fd >= 0 && cloexec(fd) && fstat(fd, &st) == 0 && st.st_size == 0, "open_trunc truncates");
  close(fd);
  errno = 0;
  OK(open_read(P("missing")) == -1 && errno == ENOENT, "open_read missing: ENOENT");
  OK(mkfifo(P("fifo"), 0600) == 0, "mkfifo");
  errno = 0;
  OK(open_write(P("fifo")) == -1 && errno == ENXIO, "open_write on a FIFO nobody reads: ENXIO, no hang");
}

static void test_fds(void)
{
  int p[2], fd;
  if (pipe2(p, O_CLOEXEC) == -1) t_bail("pipe2");
  OK(fd_move(40, p[0]) == 0 && !is_open(p[0]) && is_open(40) && !cloexec(40),
     "fd_move: old closed, new inheritable");
  OK(fd_copy(41, p[1]) == 0 && is_open(p[1]) && !cloexec(41), "fd_copy keeps the original");
  OK(coe(41) == 0 && cloexec(41), "coe");
  OK(fd_copy(41, 41) == 0 && !cloexec(41), "fd_copy onto itself makes it inheritable");
  OK(fd_move(41, 41) == 0 && is_open(41), "fd_move onto itself is a no-op");
  errno = 0;
  OK(fd_copy(41, 99) == -1 && errno == EBADF && is_open(41), "fd_copy from a closed fd fails, target kept");
  OK(ndelay_on(40) == 0 && (fcntl(40, F_GETFL) & O_NONBLOCK), "ndelay_on");
  OK(ndelay_off(40) == 0 && !(fcntl(40, F_GETFL) & O_NONBLOCK), "ndelay_off");
  errno = 0;
  OK(coe(99) == -1 && errno == EBADF && ndelay_on(99) == -1, "bad fds fail");
  close(40);
  close(41);
  close(p[1]);
  fd = open_read("/dev/null");
  OK(fd >= 0, "open /dev/null");
  close(fd);
}

static void test_fsync(void)
{
  char longp[5000];
  OK(mkdir(P("d"), 0700) == 0 && fsync_dir(P("d")) == 0, "fsync_dir");
  errno = 0;
  OK(fsync_dir(P("nodir")) == -1 && errno == ENOENT, "fsync_dir missing: ENOENT");
  t_write(P("d/f"), "x", 1);
  errno = 0;
  OK(fsync_dir(P("d/f")) == -1 && errno == ENOTDIR, "fsync_dir on a file: ENOTDIR");
  OK(fsync_parent(P("d/f")) == 0, "fsync_parent dir/file");
  OK(fsync_parent(P("d/nonexistent-file-is-fine")) == 0, "fsync_parent needs only the parent");
  errno = 0;
  OK(fsync_parent(P("nodir/f")) == -1 && errno == ENOENT, "fsync_parent missing parent: ENOENT");
  OK(fsync_parent("/etc") == 0, "fsync_parent /etc syncs /");
  OK(fsync_parent("plainname") == 0, "fsync_parent of a bare name syncs .");
  memset(longp, 'a', sizeof longp - 1);
  longp[sizeof longp - 1] = 0;
  longp[4500] = '/';
  errno = 0;
  OK(fsync_parent(longp) == -1 && errno == ENAMETOOLONG, "fsync_parent overlong: ENAMETOOLONG");
}

static void test_read_file(void)
{
  static char big[100000];
  sa_t x = SA_INIT;
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
  t_write(P("ten"), "0123456789", 10);
  t_write(P("empty"), "", 0);
  t_write(P("big"), big, sizeof big);
  sa_copys(&x, "old content");
  OK(read_file(P("missing"), &x, 100) == 0 && x.len == 0, "read_file missing: 0, empty");
  OK(read_file(P("ten"), &x, 100) == 1 && x.len == 10 && memcmp(x.s, "0123456789", 10) == 0,
     "read_file small");
  OK(read_file(P("ten"), &x, 10) == 1 && x.len == 10, "read_file exactly max");
  errno = 0;
  OK(read_file(P("ten"), &x, 9) == -1 && errno == E2BIG, "read_file max - 1: E2BIG");
  OK(read_file(P("empty"), &x, 0) == 1 && x.len == 0, "read_file empty with max 0");
  OK(read_file(P("big"), &x, sizeof big) == 1 && x.len == sizeof big && memcmp(x.s, big, sizeof big) == 0,
     "read_file 100000 bytes");
  errno = 0;
  OK(read_file(P("big"), &x, 4096) == -1 && errno == E2BIG, "read_file big with small max: E2BIG");
  errno = 0;
  OK(read_file(P("d"), &x, 100) == -1 && errno == EISDIR, "read_file on a directory: EISDIR");
  {
    /* read_fd: from where the descriptor stands, to its end */
    int fd = open(P("ten"), O_RDONLY);
    char c;
    OK(fd != -1 && read(fd, &c, 1) == 1, "read_fd: a byte read first");
    sa_copys(&x, "old");
    OK(read_fd(fd, &x, 9) == 0 && x.len == 9 && memcmp(x.s, "123456789", 9) == 0,
       "read_fd: the rest, exactly max");
    OK(read_fd(fd, &x, 9) == 0 && x.len == 0, "read_fd at the end: empty");
    OK(lseek(fd, 0, SEEK_SET) == 0, "read_fd: rewound");
    errno = 0;
    OK(read_fd(fd, &x, 9) == -1 && errno == E2BIG, "read_fd over max: E2BIG");
    close(fd);
    errno = 0;
    OK(read_fd(fd, &x, 9) == -1 && errno == EBADF, "read_fd closed: EBADF");
  }
  sa_free(&x);
}

static volatile sig_atomic_t ticks;
static void tick(int s) { ++ticks; }

static void test_timeouts(void)
{
  int p[2];
  char c, fill[4096];
  double t0;
  ssize_t r;
  if (pipe(p) == -1) t_bail("pipe");
  t0 = now();
  errno = 0;
  r = read_timeout(p[0], &c, 1, 1);
  OK(r == -1 && errno == ETIMEDOUT && now() - t0 >= 0.9 && now() - t0 < 3, "read_timeout expires after 1 s");
  (void)!write(p[1], "z", 1);
  OK(read_timeout(p[0], &c, 1, 1) == 1 && c == 'z', "read_timeout with data");

  /* SIGALRM every 50 ms, without SA_RESTART: the timeout must still end */
  {
    struct sigaction sa = {.sa_handler = tick};
    struct itimerval it = {{0, 50000}, {0, 50000}};
    sigaction(SIGALRM, &sa, 0);
    setitimer(ITIMER_REAL, &it, 0);
    t0 = now();
    errno = 0;
    r = read_timeout(p[0], &c, 1, 1);
    OK(r == -1 && errno == ETIMEDOUT && now() - t0 < 2 && ticks > 5,
       "read_timeout is not stretched by signals");
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, 0);
  }

  close(p[1]);
  OK(read_timeout(p[0], &c, 1, 1) == 0, "read_timeout at EOF: 0");
  close(p[0]);

  if (pipe(p) == -1) t_bail("pipe");
  ndelay_on(p[1]);
  memset(fill, 'f', sizeof fill);
  while (write(p[1], fill, sizeof fill) > 0) continue;
  ndelay_off(p[1]);
  t0 = now();
  errno = 0;
  OK(write_timeout(p[1], "x", 1, 1) == -1 && errno == ETIMEDOUT && now() - t0 >= 0.9,
     "write_timeout on a full pipe expires");
  (void)!read(p[0], fill, sizeof fill);
  OK(write_timeout(p[1], "x", 1, 1) == 1, "write_timeout once there is room");
  close(p[0]);
  close(p[1]);
}

/* child: open the file itself (its own open file description) and try */
static int child_try(const char *fn)
{
  pid_t pid = fork();
  int w;
  if (pid == 0) {
    int fd = open(fn, O_RDWR);
    if (fd == -1) _exit(3);
    if (lock_exnb(fd) == 0) _exit(0);
    _exit(errno == EWOULDBLOCK ? 1 : 2);
  }
  if (pid == -1 || waitpid(pid, &w, 0) != pid || !WIFEXITED(w)) return -1;
  return WEXITSTATUS(w);
}

static void test_locks(void)
{
  char fn[512];
  int fd, s[2], w;
  pid_t pid;
  snprintf(fn, sizeof fn, "%s", P("lock"));
  t_write(fn, "", 0);
  fd = open(fn, O_RDWR | O_CLOEXEC);
  OK(child_try(fn) == 0, "lock free: another process gets it");
  OK(lock_ex(fd) == 0, "lock_ex");
  OK(lock_exnb(fd) == 0, "lock_exnb again on the same fd is fine");
  OK(child_try(fn) == 1, "held: another process gets EWOULDBLOCK");
  OK(lock_un(fd) == 0, "lock_un");
  OK(child_try(fn) == 0, "released: another process gets it");

  /* a child holds the lock until told to go; its exit releases it */
  if (pipe(s) == -1) t_bail("pipe");
  pid = fork();
  if (pid == 0) {
    int cfd = open(fn, O_RDWR);
    char c;
    close(s[1]);
    if (cfd == -1 || lock_exnb(cfd) == -1) _exit(1);
    (void)!read(s[0], &c, 1); /* EOF when the parent closes */
    _exit(0);
  }
  close(s[0]);
  {
    int tries = 0, r, e;
    for (;;) { /* until the child holds it (at most 2 s) */
      r = lock_exnb(fd);
      e = errno;
      if (r == -1 || tries++ >= 200) break;
      lock_un(fd);
      usleep(10000);
    }
    OK(r == -1 && e == EWOULDBLOCK, "held by a child: lock_exnb fails with EWOULDBLOCK");
  }
  close(s[1]);
  waitpid(pid, &w, 0);
  OK(WIFEXITED(w) && WEXITSTATUS(w) == 0, "child held the lock");
  OK(lock_exnb(fd) == 0, "child gone: lock is free");
  close(fd);
}

/* fd_send/fd_recv: what the other side gets is the same open file */
static void test_pass(void)
{
  int sp[2], p[2], fds[FD_PASS_MAX], n = 99, three[3];
  char rec[8] = "", c;
  OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == 0, "socketpair");
  OK(pipe(p) == 0, "pipe");
  int two[2] = {p[0], p[1]};
  EQ_INT(fd_send(sp[0], "record", 7, two, 2, 0), 7, "fd_send: the record's bytes");
  EQ_INT(fd_recv(sp[1], rec, sizeof rec, fds, FD_PASS_MAX, &n, 0), 7, "fd_recv: the bytes");
  EQ_STR(rec, "record", "fd_recv: the record");
  EQ_INT(n, 2, "fd_recv: two descriptors");
  OK(n == 2 && cloexec(fds[0]) && cloexec(fds[1]), "received descriptors are close-on-exec");
  if (n == 2) {
    OK(write(fds[1], "x", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'x', "they are the same pipe");
    close(fds[0]);
    close(fds[1]);
  }
  /* more than the caller takes: the rest are closed, not leaked */
  three[0] = three[1] = three[2] = p[0];
  EQ_INT(fd_send(sp[0], "y", 1, three, 3, 0), 1, "fd_send: three");
  EQ_INT(fd_recv(sp[1], rec, sizeof rec, fds, 1, &n, 0), 1, "fd_recv: max 1");
  EQ_INT(n, 1, "fd_recv: one kept");
  if (n == 1) close(fds[0]);
  /* a record longer than the buffer is truncated: nothing is kept */
  EQ_INT(fd_send(sp[0], "longer", 6, two, 2, 0), 6, "fd_send: long record");
  EQ_INT(fd_recv(sp[1], rec, 2, fds, FD_PASS_MAX, &n, 0), 2, "fd_recv: cut short");
  EQ_INT(n, -1, "fd_recv: truncated message keeps no descriptor");
  /* no descriptors at all */
  EQ_INT(send(sp[0], "z", 1, 0), 1, "plain send");
  EQ_INT(fd_recv(sp[1], rec, sizeof rec, fds, FD_PASS_MAX, &n, 0), 1, "fd_recv: plain message");
  EQ_INT(n, 0, "fd_recv: no descriptors");
  /* limits */
  errno = 0;
  OK(fd_send(sp[0], "w", 1, two, 0, 0) == -1 && errno == EINVAL, "fd_send: none is EINVAL");
  OK(fd_send(sp[0], "w", 1, two, FD_PASS_MAX + 1, 0) == -1 && errno == EINVAL,
     "fd_send: over FD_PASS_MAX is EINVAL");
  /* the peer gone */
  close(sp[1]);
  OK(fd_send(sp[0], "v", 1, two, 2, 0) == -1, "fd_send to a closed peer fails (no SIGPIPE)");
  close(sp[0]);
  close(p[0]);
  close(p[1]);
}

int main(void)
{
  test_open();
  test_fds();
  test_fsync();
  test_read_file();
  test_timeouts();
  test_locks();
  test_pass();
  return t_done();
}
