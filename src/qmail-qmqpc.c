/* qmail-qmqpc: qmail-queue's interface, but the message goes over QMQP
 * to the first server in control/qmqpservers that takes it (see
 * qmail-qmqpc(8)).  A "null client" (mini-qmail) runs it in place of
 * qmail-queue and needs no queue of its own.
 *
 * fd 0: the message; fd 1: the envelope (F sender, T recipients, an empty
 * record), exit codes as qmail-queue(8).  It prints nothing.  Exit 0 only
 * after a server answered K: a K is the server's promise that the message
 * is in its queue.
 *
 * The message is spooled to an unlinked temporary file (its size must be
 * known before the first byte is sent); the envelope is held in memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "control.h"
#include "date.h"
#include "die.h"
#include "envelope.h"
#include "fdio.h"
#include "netstr.h"
#include "num.h"
#include "proc.h"
#include "qqwrite.h"
#include "sa.h"

const char *PROG = "qmail-qmqpc";

#define PORT 628
#define CONNECT_TIMEOUT 10
#define IO_TIMEOUT 60
/* the longest reply read from a server */
#define REPLY_MAX 1000

/* exit codes of qmail-queue(8) that only a network client uses */
enum { QC_CONFIG = 55, QC_REFUSED_TEMP = 71, QC_TIMEOUT = 72, QC_CONNECT = 73, QC_BROKEN = 74,
       QC_REFUSED_PERM = 31 };

static int tmpfd = -1;
static size_t msize;
static sa_t sender, rcpts, servers;

/* an unlinked file for the message: on disk under $TMPDIR or /tmp, or in
 * memory where O_TMPFILE is not supported */
static int spool_open(void)
{
  const char *dir = env_get("TMPDIR");
  int fd;
  if (!dir || *dir != '/') dir = "/tmp";
  fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
  if (fd == -1 && strcmp(dir, "/tmp") != 0) fd = open("/tmp", O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
  if (fd == -1) fd = memfd_create("qmail-qmqpc", MFD_CLOEXEC);
  return fd;
}

/* the Received line qmail-queue would have added, then fd 0 */
static void spool_message(void)
{
  static char space[BUF_SIZE * 4];
  char date[DATE_LEN];
  sa_t rl = SA_INIT;
  tmpfd = spool_open();
  if (tmpfd == -1) _exit(QQ_WRITE);
  if (!sa_cats(&rl, "Received: (qmail ") || !sa_catulong(&rl, (unsigned long)getpid()) ||
      !sa_cats(&rl, " invoked by uid ") || !sa_catulong(&rl, (unsigned long)getuid()) ||
      !sa_cats(&rl, "); "))
    _exit(QQ_NOMEM);
  date_rfc5322(date, time(0));
  if (!sa_cats(&rl, date) || !sa_cats(&rl, "\n")) _exit(QQ_NOMEM);
  if (write_all(tmpfd, rl.s, rl.len) == -1) _exit(QQ_WRITE);
  msize = rl.len;
  sa_free(&rl);
  for (;;) {
    ssize_t r = read(0, space, sizeof space);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) _exit(QQ_READ);
    if (r == 0) break;
    if (__builtin_add_overflow(msize, (size_t)r, &msize)) _exit(QQ_WRITE);
    if (write_all(tmpfd, space, (size_t)r) == -1) _exit(QQ_WRITE);
  }
}

/* the envelope, checked as qmail-queue checks it; the recipients become
 * the netstrings they are sent as */
static void read_envelope(void)
{
  static char space[BUF_SIZE];
  buf_t in = BUF_INIT(buf_read_op, 1, space, sizeof space);
  envelope_qq_t g = ENV_QQ_INIT;
  sa_t rec = SA_INIT;
  for (;;) {
    int r = envelope_get(&in, &rec, ENV_REC_MAX);
    if (r == ENV_LONG) {
      if (envelope_qq_next(&g, rec.s, 1) == ENV_QQ_BAD) _exit(QQ_FORMAT);
      _exit(QQ_ADDR);
    }
    if (r == ENV_ERR) _exit(errno == ENOMEM ? QQ_NOMEM : QQ_READ);
    if (r == 0 || r == ENV_TRUNC) _exit(QQ_READ);
    switch (envelope_qq_next(&g, rec.s, rec.len)) {
    case ENV_QQ_FROM:
      if (!netstr_cat(&sender, rec.s + 1, rec.len - 1)) _exit(QQ_NOMEM);
      break;
    case ENV_QQ_TO:
      if (!netstr_cat(&rcpts, rec.s + 1, rec.len - 1)) _exit(QQ_NOMEM);
      break;
    case ENV_QQ_END:
      sa_free(&rec);
      return;
    default:
      _exit(QQ_FORMAT);
    }
  }
}

/* connects to ip:PORT within CONNECT_TIMEOUT: the socket, or -1 with
 * *err set to the exit code to report */
static int connect_to(const char *ip, int *err)
{
  struct sockaddr_storage ss;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  socklen_t sl;
  struct pollfd p;
  int fd, e = 0, r;
  socklen_t el = sizeof e;
  memset(&ss, 0, sizeof ss);
  if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(PORT);
    sl = sizeof *s4;
  } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(PORT);
    sl = sizeof *s6;
  } else {
    *err = QC_CONFIG; /* not an address: a broken qmqpservers line */
    return -1;
  }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) {
    *err = QC_CONNECT;
    return -1;
  }
  if (connect(fd, (struct sockaddr *)&ss, sl) == 0) goto ok;
  if (errno != EINPROGRESS) goto refused;
  p.fd = fd;
  p.events = POLLOUT;
  do r = poll(&p, 1, CONNECT_TIMEOUT * 1000); while (r == -1 && errno == EINTR);
  if (r == 0) {
    close(fd);
    *err = QC_TIMEOUT;
    return -1;
  }
  if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1 || e != 0) goto refused;
ok:
  if (ndelay_off(fd) == -1) goto refused;
  return fd;
refused:
  close(fd);
  *err = QC_CONNECT;
  return -1;
}

static int io_err; /* what the last failed I/O means */
static ssize_t rd(int fd, void *b, size_t n)
{
  ssize_t r = read_timeout(fd, b, n, IO_TIMEOUT);
  if (r == -1) io_err = errno == ETIMEDOUT ? QC_TIMEOUT : QC_BROKEN;
  return r;
}
static ssize_t wr(int fd, void *b, size_t n)
{
  ssize_t r = write_timeout(fd, b, n, IO_TIMEOUT);
  if (r == -1) io_err = errno == ETIMEDOUT ? QC_TIMEOUT : QC_BROKEN;
  return r;
}

/* one server: 0 it answered K; else the exit code its failure means
 * (QC_REFUSED_PERM: it answered D, try no other) */
static int try_server(const char *ip)
{
  char ospace[BUF_SIZE], ispace[REPLY_MAX + 32];
  buf_t out, in;
  sa_t reply = SA_INIT;
  size_t mtotal, outer;
  int err, fd = connect_to(ip, &err), r;
  if (fd == -1) return err;
  if (!netstr_size(msize, &mtotal) || __builtin_add_overflow(mtotal, sender.len, &outer) ||
      __builtin_add_overflow(outer, rcpts.len, &outer)) {
    close(fd);
    return QQ_NOMEM;
  }
  io_err = QC_BROKEN;
  buf_init(&out, wr, fd, ospace, sizeof ospace);
  if (netstr_putlen(&out, outer) == -1 || netstr_putlen(&out, msize) == -1) goto broken;
  if (lseek(tmpfd, 0, SEEK_SET) == -1) {
    close(fd);
    return QQ_READ;
  }
  {
    buf_t m;
    char mspace[BUF_SIZE];
    buf_init(&m, buf_read_op, tmpfd, mspace, sizeof mspace);
    r = buf_copy(&out, &m);
    if (r == -2) {
      close(fd);
      return QQ_READ;
    }
    if (r != 0) goto broken;
  }
  if (buf_put(&out, ",", 1) == -1 || buf_putsa(&out, &sender) == -1 ||
      buf_putsa(&out, &rcpts) == -1 || buf_put(&out, ",", 1) == -1 || buf_flush(&out) == -1)
    goto broken;
  /* everything is sent; the answer decides */
  io_err = QC_BROKEN;
  buf_init(&in, rd, fd, ispace, sizeof ispace);
  r = netstr_get(&in, &reply, REPLY_MAX);
  close(fd);
  if (r != 1 || !reply.len) {
    sa_free(&reply);
    return io_err;
  }
  switch (reply.s[0]) {
  case 'K': r = 0; break;
  case 'D': r = QC_REFUSED_PERM; break;
  case 'Z': r = QC_REFUSED_TEMP; break;
  default: r = QC_BROKEN; break; /* not a QMQP answer: never success */
  }
  sa_free(&reply);
  return r;
broken:
  close(fd);
  return io_err;
}

int main(void)
{
  int last = QC_CONFIG;
  sig_ignore(SIGPIPE);
  if (chdir(auto_qmail) == -1) _exit(QQ_HOME);
  if (control_readfile(&servers, "qmqpservers", 0) == -1) _exit(QC_CONFIG);
  spool_message();
  read_envelope();
  for (size_t i = 0; i < servers.len; i += strlen(servers.s + i) + 1) {
    int r = try_server(servers.s + i);
    if (r == 0) _exit(0);
    if (r == QC_REFUSED_PERM) _exit(r);
    last = r;
  }
  _exit(last);
}
