/* spawn: see spawn.h.
 *
 * One poll() loop watches: the self-pipe (SIGCHLD), the command pipe (fd 0,
 * non-blocking), the result pipe (fd 1, non-blocking, only while results
 * wait to be written), one output pipe per running child and the
 * program's extra descriptor, if any (qmail-rspawn's connection cache).  A slot
 * run by a worker (spawn_by_eof) is finished at its pipe's end of file;
 * any other when its child has been reaped: its output pipe is then drained
 * without blocking (everything the child wrote is in it by then; output of
 * grandchildren that keep the pipe open is not waited for, so they cannot
 * hold a slot forever). */
#include "spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auto.h"
#include "die.h"
#include "fdio.h"
#include "proc.h"
#include "prot.h"

/* the message name is "N/id" (or "mess/N/id"); the addresses are bounded by
 * qmail-queue (1000 bytes) but a VERP sender carries the recipient too */
#define MESS_MAX 100
#define ADDR_MAX 4000

struct slot {
  bool busy;
  bool byeof;  /* ends at the pipe's EOF: pid is a worker, not a child */
  pid_t pid;
  int fd;      /* read end of the output pipe, -1 once closed */
  sa_t out;
};

static const spawn_hooks_t *H;
/* static: the protocol caps the limit at 255 (one byte), and a static
 * table is never a leak at exit */
static struct slot slots[255];
static struct pollfd pf[255 + 4];
static unsigned limit;
static unsigned running;
static sa_t results;      /* encoded results waiting for fd 1 */
static bool senddead;     /* fd 1 is broken: qmail-send is gone */
static uid_t uidq;        /* owner of every message file */
static void (*other)(pid_t, int); /* told of reaped non-delivery children */

/* the command being read */
static int phase;         /* 0 slot byte, 1 mess, 2 sender, 3 recipient */
static unsigned char cslot;
static sa_t field[3];
static bool toolong;

void spawn_on_other(void (*f)(pid_t, int)) { other = f; }

static bool byeof;
void spawn_by_eof(void) { byeof = true; }

static int xfd = -1;
static void (*xready)(void);
static int (*xtick)(void);
void spawn_on_extra(int fd, void (*ready)(void), int (*tick)(void))
{
  xfd = fd;
  xready = ready;
  xtick = tick;
}

void spawn_child_reset(void)
{
  sig_default(SIGPIPE);
  sig_default(SIGCHLD);
  sig_unblock(SIGCHLD);
}

static void queue_result(unsigned s, const char *r, size_t len)
{
  size_t start, i;
  if (senddead) return;
  if (len > SPAWN_REPORT_MAX) len = SPAWN_REPORT_MAX;
  start = results.len;
  if (!sa_append(&results, (char)s) || !sa_catb(&results, r, len) || !sa_append(&results, 0)) {
    /* cannot even queue the answer: qmail-send would wait forever */
    die_nomem();
  }
  /* a NUL inside the text would end the report early and make the rest
   * look like the next result */
  for (i = start + 1; i < results.len - 1; ++i)
    if (!results.s[i]) results.s[i] = '_';
}

static void queue_text(unsigned s, const char *r) { queue_result(s, r, strlen(r)); }

/* reads what is in a child's pipe now; true at EOF or error */
static bool slot_read(struct slot *sl)
{
  char b[4096];
  for (;;) {
    ssize_t r = read(sl->fd, b, sizeof b);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1 && errno == EAGAIN) return false;
    if (r <= 0) return true;
    if (sl->out.len < H->outmax) {
      size_t k = (size_t)r;
      if (k > H->outmax - sl->out.len) k = H->outmax - sl->out.len;
      if (!sa_catb(&sl->out, b, k)) return true; /* keep what we have */
    }
  }
}

static void slot_close(struct slot *sl)
{
  if (sl->fd != -1) close(sl->fd);
  sl->fd = -1;
}

/* the delivery in slot i is over: its report goes to qmail-send */
static void slot_done(unsigned i, int w)
{
  struct slot *sl = &slots[i];
  sa_t rep = SA_INIT;
  if (sl->fd != -1) slot_read(sl);
  slot_close(sl);
  H->finish(w, sl->out.s ? sl->out.s : "", sl->out.len, &rep);
  if (!rep.len && !sa_copys(&rep, "Zspawner produced no report. (#4.3.0)")) die_nomem();
  queue_result(i, rep.s, rep.len);
  sa_free(&rep);
  sl->out.len = 0;
  sl->busy = false;
  --running;
  if (sl->byeof && H->ended) H->ended(sl->pid);
}

static void reap(void)
{
  for (;;) {
    int w;
    unsigned i;
    pid_t pid = wait_nohang(&w);
    if (pid <= 0) return;
    for (i = 0; i < limit; ++i)
      if (slots[i].busy && !slots[i].byeof && slots[i].pid == pid) break;
    if (i < limit) slot_done(i, w);
    else if (other) other(pid, w);
  }
}

/* "N/id": two runs of digits around one slash */
static bool mess_name_ok(const char *m)
{
  size_t a = strspn(m, "0123456789"), b;
  if (!a || m[a] != '/') return false;
  b = strspn(m + a + 1, "0123456789");
  return b && !m[a + 1 + b];
}

/* runs one complete command */
static void dispatch(void)
{
  unsigned s = cslot;
  const char *mess = field[0].s, *sender = field[1].s, *rcpt = field[2].s;
  struct slot *sl;
  sa_t path = SA_INIT, rep = SA_INIT;
  struct stat st;
  int fdm = -1, p[2] = {-1, -1};
  pid_t pid;

  if (s >= limit || slots[s].busy) {
    /* nowhere to put an answer without confusing qmail-send */
    warn("qmail-send used slot ", die_line((int)s), ", which is not free; command ignored");
    return;
  }
  sl = &slots[s];
  if (toolong) { queue_text(s, "Zdelivery command is too long. (#4.3.0)"); return; }
  /* qmail's "N/id" below queue/mess (also "mess/N/id" below queue):
   * digits only, never a way out of the queue */
  if (!strncmp(mess, "mess/", 5)) mess += 5;
  if (!mess_name_ok(mess)) {
    queue_text(s, "Zqmail-send named an impossible message file. (#4.3.0)");
    return;
  }
  if (!strchr(rcpt, '@')) {
    queue_text(s, "DSorry, address must include host name. (#5.1.3)");
    return;
  }
  if (!sa_copys(&path, "queue/mess/") || !sa_cats(&path, mess)) die_nomem();
  fdm = open(path.s, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  sa_free(&path);
  if (fdm == -1) {
    queue_text(s, errno == ENOENT ? "Zmessage file has disappeared. (#4.3.0)"
                                  : "Zunable to open message file. (#4.3.0)");
    return;
  }
  if (fstat(fdm, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != uidq) {
    close(fdm);
    queue_text(s, "Zmessage file is not a regular file owned by the queue. (#4.3.0)");
    return;
  }
  if (pipe2(p, O_CLOEXEC) == -1 || ndelay_on(p[0]) == -1) {
    if (p[0] != -1) { close(p[0]); close(p[1]); }
    close(fdm);
    queue_text(s, "Zunable to make a pipe. (#4.3.0)");
    return;
  }
  byeof = false;
  pid = H->start(fdm, sender, rcpt, p[1], &rep);
  close(fdm);
  close(p[1]);
  if (pid > 0) {
    sl->busy = true;
    sl->byeof = byeof;
    sl->pid = pid;
    sl->fd = p[0];
    sl->out.len = 0;
    ++running;
    return;
  }
  close(p[0]);
  if (pid == -1) {
    queue_text(s, "Zunable to fork. (#4.3.0)");
  } else {
    if (!rep.len && !sa_copys(&rep, "Zspawner produced no report. (#4.3.0)")) die_nomem();
    queue_result(s, rep.s, rep.len);
  }
  sa_free(&rep);
}

/* feeds command bytes to the parser */
static void commands(const char *b, size_t n)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    sa_t *f;
    size_t max;
    const char *z;
    size_t k;
    if (phase == 0) {
      cslot = (unsigned char)b[i];
      phase = 1;
      toolong = false;
      field[0].len = field[1].len = field[2].len = 0;
      continue;
    }
    f = &field[phase - 1];
    max = phase == 1 ? MESS_MAX : ADDR_MAX;
    z = memchr(b + i, 0, n - i);
    k = z ? (size_t)(z - (b + i)) : n - i;
    if (k > max - f->len) {
      /* keep a bounded prefix; the command is answered with an error */
      toolong = true;
      if (!sa_catb(f, b + i, max - f->len)) die_nomem();
    } else if (!sa_catb(f, b + i, k)) die_nomem();
    i += k;
    if (!z) break;
    /* b[i] is the NUL ending this field (sa_catb keeps f NUL-terminated) */
    if (++phase == 4) {
      phase = 0;
      dispatch();
    }
  }
}

static void write_results(void)
{
  size_t done = 0;
  while (done < results.len) {
    ssize_t w = write(1, results.s + done, results.len - done);
    if (w == -1 && errno == EINTR) continue;
    if (w == -1 && errno == EAGAIN) break;
    if (w <= 0) {
      /* qmail-send is gone; finish the running deliveries quietly */
      senddead = true;
      results.len = 0;
      return;
    }
    done += (size_t)w;
  }
  memmove(results.s, results.s + done, results.len - done);
  results.len -= done;
}

int spawn_main(const spawn_hooks_t *h)
{
  unsigned char c;
  bool eof = false;
  int sp;
  unsigned i;

  H = h;
  limit = auto_spawn > 255 ? 255 : auto_spawn;
  if (!limit) limit = 1;
  for (i = 0; i < limit; ++i) slots[i].fd = -1;

  if (ids_user(auto_userq, &uidq, 0) == -1) die_sys(111, "unable to look up ", auto_userq);
  sig_ignore(SIGPIPE);
  sp = selfpipe_init();
  if (sp == -1 || selfpipe_trap(SIGCHLD) == -1) die_sys(111, "unable to make the self-pipe");
  c = (unsigned char)limit;
  /* EPIPE: qmail-send refused to start and logged why; a line of ours
   * would only put "Broken pipe" beside (or before) its reason */
  if (write_all(1, &c, 1) == -1) {
    if (errno == EPIPE) _exit(111);
    die_sys(111, "unable to write to qmail-send");
  }
  if (ndelay_on(0) == -1 || ndelay_on(1) == -1) die_sys(111, "unable to set non-blocking mode");

  while (!eof || running || (results.len && !senddead)) {
    unsigned n = 0, map[259];
    int wait = xtick ? xtick() : -1;
    pf[n].fd = sp; pf[n].events = POLLIN; map[n++] = ~0u;
    if (xfd != -1) { pf[n].fd = xfd; pf[n].events = POLLIN; map[n++] = ~3u; }
    if (!eof) { pf[n].fd = 0; pf[n].events = POLLIN; map[n++] = ~1u; }
    if (results.len && !senddead) { pf[n].fd = 1; pf[n].events = POLLOUT; map[n++] = ~2u; }
    for (i = 0; i < limit; ++i)
      if (slots[i].busy && slots[i].fd != -1) {
        pf[n].fd = slots[i].fd;
        pf[n].events = POLLIN;
        map[n++] = i;
      }
    if (poll(pf, n, wait) == -1) {
      if (errno == EINTR) continue;
      die_sys(111, "poll failed");
    }
    for (i = 0; i < n; ++i) {
      if (!pf[i].revents) continue;
      if (map[i] == ~0u) {
        while (selfpipe_read()) {}
        reap();
      } else if (map[i] == ~1u) {
        char b[4096];
        ssize_t r = read(0, b, sizeof b);
        if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) { eof = true; continue; }
        commands(b, (size_t)r);
      } else if (map[i] == ~2u) {
        write_results();
      } else if (map[i] == ~3u) {
        xready();
      } else {
        struct slot *sl = &slots[map[i]];
        /* the child may have been reaped by an earlier entry */
        if (sl->busy && sl->fd == pf[i].fd && slot_read(sl)) {
          slot_close(sl);
          if (sl->byeof) slot_done(map[i], 0);
        }
      }
    }
    /* SIGCHLD may have come while we were busy elsewhere */
    reap();
    if (results.len && !senddead) write_results();
  }
  for (i = 0; i < limit; ++i) sa_free(&slots[i].out);
  sa_free(&results);
  for (i = 0; i < 3; ++i) sa_free(&field[i]);
  return 0;
}
