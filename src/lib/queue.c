/* queue: see queue.h */
#include "queue.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "auto.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"

bool queue_name(sa_t *out, const char *dir, unsigned long id, bool split)
{
  if (!sa_copys(out, dir) || !sa_append(out, '/')) return false;
  if (split && (!sa_catulong(out, id % auto_split) || !sa_append(out, '/')))
    return false;
  return sa_catulong(out, id) && sa_0(out);
}

static void trigger_write(const char *path, const void *b, size_t n)
{
  int fd = open_write(path ? path : "lock/trigger");
  if (fd == -1) return;
  (void)!write(fd, b, n);
  close(fd);
}

void trigger_pull(const char *path) { trigger_write(path, "", 1); }

void trigger_hint(const char *path, unsigned long id)
{
  unsigned long n = id % auto_split;
  unsigned char b[2];
  if (n >= 4096) {
    trigger_pull(path);
    return;
  }
  b[0] = (unsigned char)(0xc0 | (n >> 6));
  b[1] = (unsigned char)(0x80 | (n & 0x3f));
  trigger_write(path, b, 2);
}

int trigger_byte(int *lead, unsigned char c)
{
  int l = *lead;
  *lead = -1;
  if (l >= 0 && (c & 0xc0) == 0x80) return (l << 6) | (c & 0x3f);
  /* a first byte cut off from its second is lost; this one counts anew */
  if ((c & 0xc0) == 0xc0) {
    *lead = c & 0x3f;
    return l >= 0 ? TRIGGER_ALL : TRIGGER_MORE;
  }
  return TRIGGER_ALL;
}

/* runs prog with m, e, x, d on fds 0, 1, 6, 7 (all four are close-on-exec
 * here; the copies are not).  posix_spawn, not fork: the child shares our
 * memory until the exec, so nothing is copied for a process that is
 * replaced at once.  Ignored and blocked signals would survive the exec:
 * qmail-queue gets a clean slate, or its own 24-hour alarm could never
 * fire.  0, or an errno value. */
static int spawn_qq(pid_t *pid, const char *prog, int m, int e, int x, int d)
{
  const char *args[] = {prog, 0};
  int src[4] = {m, e, x, d}, hi[4] = {-1, -1, -1, -1}, to[4] = {0, 1, 6, 7};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, dfl;
  int i, r;

  /* a source on a target number (0, 1, 6 or 7 were free when the pipes
   * were made) would be overwritten before its turn: move all above 9 */
  for (i = 0; i < 4; ++i)
    if ((hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10)) == -1) { r = errno; goto out; }
  if ((r = posix_spawn_file_actions_init(&fa)) != 0) goto out;
  if ((r = posix_spawnattr_init(&at)) != 0) { posix_spawn_file_actions_destroy(&fa); goto out; }
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  sigaddset(&dfl, SIGALRM);
  for (i = 0; i < 4 && !r; ++i) r = posix_spawn_file_actions_adddup2(&fa, hi[i], to[i]);
  if (!r) r = posix_spawnattr_setsigmask(&at, &none);
  if (!r) r = posix_spawnattr_setsigdefault(&at, &dfl);
  if (!r) r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (!r) r = posix_spawn(pid, prog, &fa, &at, (char *const *)args, environ);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
out:
  for (i = 0; i < 4; ++i)
    if (hi[i] != -1) close(hi[i]);
  return r;
}

/* Tries qmail-queued (see qmail-queued(8)): makes the two pipes, passes
 * their reading ends over QMAILHOME/sock/qmail-queue, and waits for the
 * child's go-ahead byte, which it sends once it holds them and before it
 * reads anything.  0: q is set up for the daemon.  -1: nobody took the
 * pipes (nobody listens, the backlog is full because the daemon is at its
 * limit, the daemon went away before accepting, or no go-ahead within
 * ACK_WAIT), so nothing can have been queued; everything made here is
 * closed again (a late child then reads EOF and queues nothing), and the
 * caller execs qmail-queue instead. */
#define ACK_WAIT 10000
static int qq_daemon(qq_t *q)
{
  static const char tail[] = "/sock/qmail-queue";
  struct sockaddr_un sa;
  struct pollfd p;
  size_t l = strlen(auto_qmail);
  int s, pm[2], pe[2], fds[2];
  char ack;

  if (l + sizeof tail > sizeof sa.sun_path) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, auto_qmail, l);
  memcpy(sa.sun_path + l, tail, sizeof tail);
  s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s == -1) return -1;
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) == -1 || ndelay_off(s) == -1) goto no;
  if (pipe2(pm, O_CLOEXEC) == -1) goto no;
  if (pipe2(pe, O_CLOEXEC) == -1) goto no1;
  fds[0] = pm[0];
  fds[1] = pe[0];
  if (fd_send(s, "", 1, fds, 2, 0) != 1) goto no2;
  close(pm[0]);
  close(pe[0]);
  pm[0] = pe[0] = -1;
  p.fd = s;
  p.events = POLLIN;
  for (;;) {
    int r = poll(&p, 1, ACK_WAIT);
    if (r == 1) break;
    if (r == 0 || errno != EINTR) goto no2;
  }
  if (read(s, &ack, 1) != 1 || ack != QUEUED_ACK) goto no2;
  q->sock = s;
  q->pid = 0; /* the child's, known from its answer */
  q->fdm = pm[1];
  q->fde = pe[1];
  buf_init(&q->b, buf_write_op, q->fdm, q->space, sizeof q->space);
  return 0;
no2:
  if (pe[0] != -1) close(pe[0]);
  close(pe[1]);
no1:
  if (pm[0] != -1) close(pm[0]);
  close(pm[1]);
no:
  close(s);
  return -1;
}

int qq_open(qq_t *q, bool allow_env)
{
  int pm[2], pe[2], perr[2] = {-1, -1}, pid_[2] = {-1, -1};
  const char *prog = 0;
  char path[4096];
  q->failed = 0;
  q->bytes = 0;
  q->fderr = -1;
  q->fdid = -1;
  q->sock = -1;
  q->id = 0;
  if (allow_env) prog = env_get("QMAILQUEUE");
  if (!prog || !*prog) {
    size_t l = strlen(auto_qmail);
    if (l + sizeof "/bin/qmail-queue" > sizeof path) { errno = ENAMETOOLONG; return -1; }
    memcpy(path, auto_qmail, l);
    memcpy(path + l, "/bin/qmail-queue", sizeof "/bin/qmail-queue");
    prog = path;
  }
  if (prog == path && qq_daemon(q) == 0) return 0;
  if (pipe2(pm, O_CLOEXEC) == -1) return -1;
  if (pipe2(pe, O_CLOEXEC) == -1) goto fail1;
  if (pipe2(perr, O_CLOEXEC) == -1) goto fail2;
  if (pipe2(pid_, O_CLOEXEC) == -1) goto fail3;
  if (spawn_qq(&q->pid, prog, pm[0], pe[0], perr[1], pid_[1]) != 0) {
    /* could not start it (a missing $QMAILQUEUE, say): report that as
     * before, as the exit code 120 of a child that could not exec */
    q->pid = fork();
    if (q->pid == -1) goto fail4;
    if (q->pid == 0) _exit(120);
  }
  close(pm[0]);
  close(pe[0]);
  close(perr[1]);
  close(pid_[1]);
  q->fdid = pid_[0];
  q->fdm = pm[1];
  q->fde = pe[1];
  q->fderr = perr[0];
  buf_init(&q->b, buf_write_op, q->fdm, q->space, sizeof q->space);
  return 0;
fail4:
  close(pid_[0]);
  close(pid_[1]);
fail3:
  close(perr[0]);
  close(perr[1]);
fail2:
  close(pe[0]);
  close(pe[1]);
fail1:
  { int e = errno; close(pm[0]); close(pm[1]); errno = e; }
  return -1;
}

void qq_put(qq_t *q, const char *s, size_t n)
{
  if (q->failed) return;
  if (buf_put(&q->b, s, n) == -1) q->failed = 1;
  q->bytes += n;
}

void qq_puts(qq_t *q, const char *s) { qq_put(q, s, strlen(s)); }

int qq_copyfd(qq_t *q, int fd)
{
  char space[BUF_SIZE];
  buf_t in;
  buf_init(&in, buf_read_op, fd, space, sizeof space);
  for (;;) {
    ssize_t n = buf_feed(&in);
    if (n == -1) return -1;
    if (n == 0) return 0;
    qq_put(q, buf_peek(&in), (size_t)n);
    buf_skip(&in, (size_t)n);
  }
}

/* after the message, the envelope goes to fd e; q->b is switched to it */
void qq_from(qq_t *q, const char *s)
{
  if (!q->failed && buf_flush(&q->b) == -1) q->failed = 1;
  close(q->fdm);
  q->fdm = -1;
  buf_init(&q->b, buf_write_op, q->fde, q->space, sizeof q->space);
  qq_put(q, "F", 1);
  qq_put(q, s, strlen(s) + 1);
}

void qq_to(qq_t *q, const char *s)
{
  qq_put(q, "T", 1);
  qq_put(q, s, strlen(s) + 1);
}

const char *qq_exit_text(int code)
{
  switch (code) {
  case 0: return "";
  case 11: return "Denvelope address too long for qq (#5.1.3)";
  case 31: return "Dmail server permanently rejected message (#5.3.0)";
  case 51: return "Zqq out of memory (#4.3.0)";
  case 52: return "Zqq timeout (#4.3.0)";
  case 53: return "Zqq write error or disk full (#4.3.0)";
  case 54: return "Zqq read error (#4.3.0)";
  case 55: return "Zqq unable to read configuration (#4.3.0)";
  case 56: return "Zqq trouble making network connection (#4.3.0)";
  case 61: return "Zqq trouble in home directory (#4.3.0)";
  case 62: case 63: case 64: case 65: case 66:
    return "Zqq trouble creating files in queue (#4.3.0)";
  case 71: return "Zmail server temporarily rejected message (#4.3.0)";
  case 72: return "Zconnection to mail server timed out (#4.4.1)";
  case 73: return "Zconnection to mail server rejected (#4.4.1)";
  case 74: return "Zcommunication with mail server failed (#4.4.2)";
  case 81: return "Zqq internal bug (#4.3.0)";
  case 91: return "Zqq envelope format error (#4.3.0)";
  case 120: return "Zunable to exec qq (#4.3.0)";
  default:
    if (code >= 11 && code <= 40) return "Dqq permanent problem (#5.3.0)";
    return "Zqq temporary problem (#4.3.0)";
  }
}

/* qmail-queue writes its id as decimal digits and a NUL on fd 7 after the
 * commit; it has exited, so whatever it wrote is in the pipe (a process it
 * left behind may hold the write end: never block) */
static void read_id(qq_t *q)
{
  char b[FMT_ULONG + 2];
  size_t n = 0;
  unsigned long id;
  ndelay_on(q->fdid);
  while (n < sizeof b - 1) {
    ssize_t r = read(q->fdid, b + n, sizeof b - 1 - n);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  b[n] = 0;
  if (n >= 2 && b[n - 1] == 0 && scan_ulong_all(b, &id)) q->id = id;
}

/* qmail-queued's child answers with qmail-queue's exit code, and after a
 * 0 the id and its pid, each in decimal and ended by a NUL; nothing at
 * all means it crashed.  Only it holds its end, so read to EOF. */
static const char *daemon_answer(qq_t *q)
{
  char b[1 + 2 * (FMT_ULONG + 1) + 1];
  size_t n = 0, i;
  unsigned long id, pid;
  while (n < sizeof b) {
    ssize_t r = read(q->sock, b + n, sizeof b - n);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(q->sock);
  q->sock = -1;
  if (n == 0) return "Zqq crashed (#4.3.0)";
  if (b[0] != 0) return qq_exit_text((unsigned char)b[0]);
  /* "\0" id "\0" pid "\0"; a short or garbled answer after a 0 is odd,
   * but the 0 is the commit */
  i = strnlen(b + 1, n - 1) + 1;
  if (n < sizeof b && i + 1 < n && b[n - 1] == 0 && scan_ulong_all(b + 1, &id) &&
      scan_ulong_all(b + i + 1, &pid)) {
    q->id = id;
    q->pid = (pid_t)pid;
  }
  if (q->failed) return "Zqq write error (#4.3.0)";
  return "";
}

void qq_abort(qq_t *q) { q->failed = 1; }

const char *qq_close(qq_t *q)
{
  static char custom[257];
  int wstat, code;
  if (q->fdm != -1) { /* qq_from was never called */
    close(q->fdm);
    q->fdm = -1;
    q->failed = 1;
  } else if (!q->failed && (buf_put(&q->b, "", 1) == -1 || buf_flush(&q->b) == -1))
    q->failed = 1;
  close(q->fde);
  if (q->sock != -1) return daemon_answer(q);
  if (wait_pid(q->pid, &wstat) == -1) {
    close(q->fderr);
    close(q->fdid);
    return "Zqq waitpid surprise (#4.3.0)";
  }
  code = wait_code(wstat);
  if (code == 82) { /* a replacement qmail-queue supplied its own text */
    /* the text may come in several writes, so read until EOF or full; a
     * process the child left behind may still hold the write end, so
     * never block: whatever the child wrote is in the pipe by now */
    size_t n = 0;
    ndelay_on(q->fderr);
    while (n < sizeof custom - 1) {
      ssize_t r = read(q->fderr, custom + n, sizeof custom - 1 - n);
      if (r == -1 && errno == EINTR) continue;
      if (r <= 0) break;
      n += (size_t)r;
    }
    close(q->fderr);
    close(q->fdid);
    custom[n] = 0;
    for (size_t i = 0; i < n; i++)
      if (custom[i] == '\n' || custom[i] == '\r') { custom[i] = 0; break; }
    if (strlen(custom) > 1 && (custom[0] == 'D' || custom[0] == 'Z')) return custom;
    return "Zqq temporary problem (#4.3.0)";
  }
  close(q->fderr);
  if (code == 0) read_id(q);
  close(q->fdid);
  q->fdid = -1;
  if (code == -1) return "Zqq crashed (#4.3.0)";
  if (code == 0 && q->failed) return "Zqq write error (#4.3.0)";
  return qq_exit_text(code);
}
