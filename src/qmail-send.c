/* qmail-send: the scheduler.  Preprocesses todo/ into info/local/remote,
 * hands recipients to qmail-lspawn and qmail-rspawn, keeps the retry
 * schedule, writes bounces, and asks qmail-clean to remove what is done.
 * See qmail-send(8) for the behaviour, qmail-log(5) for the log and
 * INTERNALS.md for the queue contracts.
 *
 * Shape: one poll() loop.  Everything slow is cut into bounded steps (a
 * todo batch of at most TODO_BATCH entries, directory scans of SCAN_STEP
 * entries) taken between polls, so deliveries keep flowing while a flood
 * of injections or a big startup scan is worked off.  Memory per queued
 * message is one heap entry per channel (16 bytes); a message's recipients
 * are read from disk only when it is due. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include "auto.h"
#include "buf.h"
#include "control.h"
#include "date.h"
#include "die.h"
#include "envelope.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "qsum.h"
#include "queue.h"
#include "sa.h"
#include "send_bounce.h"
#include "send_rewrite.h"
#include "send_sched.h"

const char *PROG = "qmail-send";

#define TODO_BATCH 64          /* todo entries per loop turn */
#define SYNC_DELAY_MS 200      /* a preprocessed todo entry waits at most this */
#define SYNC_MAX 4096          /* or until this many wait, for its syncfs() */
#define SCAN_STEP 256          /* directory entries per loop turn */
#define REPORT_MAX 10000       /* longer spawner reports are cut */
#define CHANFILE_MAX (64UL << 20) /* a local/remote file we are willing to load */
#define BOUNCEFILE_MAX (16UL << 20)
#define TODO_PERIOD 1500       /* scan todo/ at least this often (s) */
#define SWEEP_PERIOD 76431     /* look for stale messages this often (~21 h) */
#define STALE_AGE 129600       /* 36 h: older than qmail-queue's 24 h alarm */
#define RETRY_LATER 120        /* bounce injection / cleanup failures (s) */
#define NOMEM_PAUSE 10         /* seconds of pause after running out of memory */

enum { LOCAL = 0, REMOTE = 1 };
static const char *const chname[2] = {"local", "remote"};

/* ---- configuration (control files) ---- */

typedef struct {
  rewrite_t rw;
  sa_t bouncefrom, bouncehost, dbto, dbhost; /* NUL-terminated */
  sa_t archive;      /* archiveaddress as given; empty: none */
  sa_t archive_rw;   /* rewritten, NUL-terminated */
  int archive_ch;    /* its channel */
  unsigned long conc[2], lifetime, bouncemax;
} config_t;

static config_t cf;

static void config_free(config_t *c)
{
  rewrite_free(&c->rw);
  sa_free(&c->bouncefrom);
  sa_free(&c->bouncehost);
  sa_free(&c->dbto);
  sa_free(&c->dbhost);
  sa_free(&c->archive);
  sa_free(&c->archive_rw);
}

static bool rl0(sa_t *out, const char *fn, int flagme, const char *def)
{
  return control_rldef(out, fn, flagme, def) != -1 && sa_0(out) && (--out->len, true);
}

/* 0 ok, -1 error (errno); c is complete or freed */
static int config_load(config_t *c)
{
  memset(c, 0, sizeof *c);
  c->conc[LOCAL] = 50; /* see qmail-send(8): slow |programs must leave room */
  c->conc[REMOTE] = 20;
  c->lifetime = 604800;
  c->bouncemax = 0; /* the whole message, as qmail */
  if (control_init() == -1) return -1;
  if (rewrite_load(&c->rw) == -1) return -1;
  if (!rl0(&c->bouncefrom, "bouncefrom", 0, "MAILER-DAEMON") ||
      !rl0(&c->bouncehost, "bouncehost", 1, "bouncehost") ||
      !rl0(&c->dbto, "doublebounceto", 0, "postmaster") ||
      !rl0(&c->dbhost, "doublebouncehost", 1, "doublebouncehost") ||
      !rl0(&c->archive, "archiveaddress", 0, 0) ||
      control_readint(&c->conc[LOCAL], "concurrencylocal") == -1 ||
      control_readint(&c->conc[REMOTE], "concurrencyremote") == -1 ||
      control_readint(&c->lifetime, "queuelifetime") == -1 ||
      control_readint(&c->bouncemax, "bouncemaxbytes") == -1)
    goto fail;
  if (!control_me()[0] && !c->rw.locals_l.len) { errno = ENOENT; goto fail; }
  if (c->archive.len) {
    int r = rewrite_addr(&c->rw, c->archive.s, c->archive.len, &c->archive_rw);
    if (r == -1) goto fail;
    c->archive_ch = r == 1 ? LOCAL : REMOTE;
  }
  return 0;
fail:
  {
    int e = errno;
    config_free(c);
    errno = e;
  }
  return -1;
}

/* ---- log (fd 0), one line at a time ---- */

static char logspace[BUF_SIZE];
static buf_t logbuf = BUF_INIT(buf_write_op, 0, logspace, sizeof logspace);

/* a write error on the log cannot be reported anywhere; go on delivering */
static void log_s(const char *s) { (void)buf_puts(&logbuf, s); }
static void log_u(unsigned long u) { (void)buf_putulong(&logbuf, u); }
static void log_safe(const char *s, size_t len)
{
  char t[256];
  while (len) {
    size_t n = len < sizeof t ? len : sizeof t;
    memcpy(t, s, n);
    text_logsafe(t, n);
    (void)buf_put(&logbuf, t, n);
    s += n;
    len -= n;
  }
}
static void log_flush(void) { (void)buf_flush(&logbuf); }
static void log_sys(void) { log_s(": "); log_s(strerror(errno)); }
/* one line: what, then the file name (may be ""), then the errno text */
static void log_fail(const char *what, const char *fn)
{
  log_s(what);
  log_s(fn);
  log_sys();
  log_s("\n");
}

static bool exitasap, flagnomem;
static time_t now, nomem_until;

static void nomem(void)
{
  if (!flagnomem) log_s("alert: out of memory, sleeping\n");
  flagnomem = true;
  nomem_until = now + NOMEM_PAUSE;
}

_Noreturn static void die_alert(const char *what, bool sys)
{
  log_s("alert: ");
  log_s(what);
  if (sys) log_sys();
  log_s("\n");
  log_flush();
  _exit(111);
}

/* ---- channels (spawners) ---- */

typedef struct job {
  struct job *next;
  unsigned long id;
  time_t birth, started;
  sa_t sender;      /* NUL-terminated */
  sa_t data;        /* the channel file */
  size_t *offs;     /* offsets of the T records in data */
  size_t nrec, nextrec, outstanding;
  bool anyz;
  bool gone;        /* the channel file is removed already (mark_done) */
} job_t;

typedef struct {
  bool used;
  unsigned long dnum;
  job_t *job;
  size_t rec;
} slot_t;

typedef struct {
  int fdw, fdr;
  unsigned limit, used;
  unsigned c;              /* retry schedule constant */
  sched_heap_t heap;
  job_t *jobs;
  slot_t *slots;
  sa_t out;                /* command bytes not written yet */
  size_t outpos;
  int rstate;              /* 0: want slot byte, 1: in report */
  unsigned char rslot;
  sa_t rep;
  bool rcut;
} chan_t;

static chan_t ch[2];
static sched_heap_t done_heap = SCHED_HEAP_INIT; /* messages to complete */
static unsigned long delnum;

static unsigned long conc_of(int c)
{
  return cf.conc[c] < ch[c].limit ? cf.conc[c] : ch[c].limit;
}

static void log_status(void)
{
  log_s("status: local ");
  log_u(ch[LOCAL].used);
  log_s("/");
  log_u(conc_of(LOCAL));
  log_s(" remote ");
  log_u(ch[REMOTE].used);
  log_s("/");
  log_u(conc_of(REMOTE));
  if (exitasap) log_s(" exitasap");
  log_s("\n");
}

/* a push that must not fail: the entry was popped before, or losing it
 * would lose track of a message until the next restart */
static void xpush(sched_heap_t *h, unsigned long id, time_t when)
{
  while (!sched_push(h, id, when)) {
    log_s("alert: out of memory, sleeping\n");
    log_flush();
    sleep(NOMEM_PAUSE);
  }
}

/* nonblocking writes to a pipe: pending bytes wait for POLLOUT */
static void out_flush(int fd, sa_t *out, size_t *pos, const char *who)
{
  while (*pos < out->len) {
    ssize_t w = write(fd, out->s + *pos, out->len - *pos);
    if (w == -1) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      log_s("alert: lost connection to ");
      die_alert(who, true);
    }
    *pos += (size_t)w;
  }
  out->len = *pos = 0;
}

static bool out_add(sa_t *out, size_t *pos, const char *s, size_t n)
{
  /* drop what was written before growing */
  if (*pos && *pos == out->len) out->len = *pos = 0;
  return sa_catb(out, s, n);
}

/* ---- names ---- */

static sa_t fn1 = SA_INIT, fn2 = SA_INIT;

static bool qname(sa_t *out, const char *dir, unsigned long id)
{
  bool split = strcmp(dir, "bounce") != 0;
  if (queue_name(out, dir, id, split)) return true;
  nomem();
  return false;
}

/* ---- qmail-clean ---- */

typedef struct {
  unsigned long id;
  char kind; /* 't' todo, 'f' foop */
} creq_t;

static struct {
  sa_t out;
  size_t outpos;
  creq_t *fifo;     /* requests written, oldest first */
  size_t head, n, a;
  creq_t *later;    /* failed requests to retry at later_at */
  size_t nlater, alater;
  time_t later_at;
} cl;

/* the todo pass */
static struct {
  bool want, active, rescan;
  unsigned dir;
  DIR *d;
  time_t lastall; /* when a pass last read every todo/N */
  /* which todo/N to read: the trigger's hints (trigger_hint) since the
   * pass began, for the next one; and this pass's.  all: every one */
  unsigned char *hint, *pass;
  bool hintall, passall;
  int lead; /* trigger_byte's state */
} todo = {.hintall = true, .lead = -1};

static idset_t intodo = IDSET_INIT; /* preprocessed, todo removal pending */
/* Ids a todo pass skipped while qmail-clean had yet to answer for their
 * removal.  An id is an inode number: once qmail-clean has removed a
 * finished message's files, a new message can have the same id before
 * the answer is read, and the pass takes its todo entry for the old one.
 * When the answer comes, its todo/N is read again, as if hinted. */
static idset_t recheck = IDSET_INIT;

/* Preprocessed messages whose info, local and remote files may not be on
 * disk yet.  Their deliveries run at once, but their todo entries stay,
 * the queue's durable record of them, until one syncfs() covers them all
 * (every SYNC_DELAY_MS at most).  A message whose deliveries are all over
 * before that goes with its todo entry (foop), and the files it made were
 * never written at all.  A crash meanwhile costs repeated deliveries: the
 * todo entry is preprocessed again. */
static struct {
  unsigned long *ids; /* in the order preprocessed; some may be over */
  size_t n, a;
  long long since; /* ms_now() when the first of them was preprocessed */
  time_t retry;    /* after a failed syncfs(), not before this */
} pend;
static idset_t unsynced = IDSET_INIT; /* in pend.ids and not yet over */

static long long ms_now(void)
{
  struct timespec t;
  if (clock_gettime(CLOCK_MONOTONIC, &t) == -1) return 0; /* then at once */
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool clean_request(char kind, unsigned long id)
{
  char b[FMT_ULONG + 8];
  size_t n = 0;
  if (cl.head + cl.n == cl.a) {
    if (cl.head) {
      memmove(cl.fifo, cl.fifo + cl.head, cl.n * sizeof *cl.fifo);
      cl.head = 0;
    } else {
      size_t na = cl.a ? cl.a * 2 : 64;
      creq_t *p = na > SIZE_MAX / sizeof *p ? 0 : realloc(cl.fifo, na * sizeof *p);
      if (!p) { nomem(); return false; }
      cl.fifo = p;
      cl.a = na;
    }
  }
  memcpy(b, kind == 't' ? "todo/" : "foop/", 5);
  n = 5 + fmt_ulong(b + 5, id);
  b[n++] = 0;
  if (!out_add(&cl.out, &cl.outpos, b, n)) { nomem(); return false; }
  cl.fifo[cl.head + cl.n].id = id;
  cl.fifo[cl.head + cl.n].kind = kind;
  ++cl.n;
  out_flush(5, &cl.out, &cl.outpos, "qmail-clean");
  return true;
}

/* a request that must eventually be made: kept for later if memory fails */
static void clean_later(char kind, unsigned long id)
{
  if (cl.nlater == cl.alater) {
    size_t na = cl.alater ? cl.alater * 2 : 16;
    creq_t *p = na > SIZE_MAX / sizeof *p ? 0 : realloc(cl.later, na * sizeof *p);
    if (!p) {
      /* not remembered: the stale-message sweep will find it */
      nomem();
      return;
    }
    cl.later = p;
    cl.alater = na;
  }
  cl.later[cl.nlater].id = id;
  cl.later[cl.nlater].kind = kind;
  ++cl.nlater;
  if (cl.nlater == 1) cl.later_at = now + RETRY_LATER;
}

static void clean_ask(char kind, unsigned long id)
{
  /* a foop removes the todo entry too: the message no longer waits for
   * a sync, and no todo request may follow (its id may name a new
   * message by then) */
  if (kind == 'f') {
    size_t i, k = 0;
    idset_del(&unsynced, id);
    /* nor one that failed before and waits for its retry: made after
     * this removal, it would remove a new message's entries */
    for (i = 0; i < cl.nlater; i++)
      if (cl.later[i].id != id || cl.later[i].kind != 't') cl.later[k++] = cl.later[i];
    cl.nlater = k;
  }
  if (!clean_request(kind, id)) clean_later(kind, id);
}

static void clean_answer(char a)
{
  creq_t r;
  if (!cl.n) {
    log_s("warning: qmail-clean sent an answer nobody asked for\n");
    return;
  }
  r = cl.fifo[cl.head++];
  if (!--cl.n) cl.head = 0;
  if (idset_has(&recheck, r.id)) {
    idset_del(&recheck, r.id);
    todo.hint[r.id % auto_split] = 1;
    todo.want = true;
  }
  if (a == '+') {
    /* 'f' too: a torn entry (see torn()) waits in intodo for its removal */
    idset_del(&intodo, r.id);
    return;
  }
  log_s("warning: qmail-clean unable to clean up ");
  log_s(r.kind == 't' ? "todo/" : "foop/");
  log_u(r.id);
  log_s(a == '!' ? ", will retry\n" : ": request refused\n");
  if (a == '!') clean_later(r.kind, r.id);
  else {
    idset_del(&intodo, r.id);
    todo.hint[r.id % auto_split] = 1; /* the todo entry may still be there */
    todo.want = true;
  }
}

static void clean_retry(void)
{
  size_t i, k = 0;
  if (!cl.nlater || now < cl.later_at) return;
  for (i = 0; i < cl.nlater; i++)
    if (!clean_request(cl.later[i].kind, cl.later[i].id)) cl.later[k++] = cl.later[i];
  cl.nlater = k;
  cl.later_at = now + RETRY_LATER;
}

/* ---- completion: bounce, end msg, cleanup ---- */

static int qq_putcb(void *arg, const char *s, size_t n)
{
  qq_put(arg, s, n);
  return 0;
}

/* the paragraph that ends a bounce whose reports do not all fit; its
 * address is the first one left out */
static const char toolong[] = "The failure reports of this address and of the addresses that "
                              "failed after it are left out: the bounce would be too long. (#5.3.4)"
                              "\n\n";
#define BOUNCE_RESERVE (64UL << 10)

/* text (more than BOUNCEFILE_MAX bytes of a bounce file: only a queue
 * taken over from elsewhere has one) cut after its last whole paragraph
 * that leaves room for the toolong note, which names the address of the
 * first paragraph cut.  0, or -1 nomem */
static int bounce_trim(unsigned long id, sa_t *text)
{
  static sa_t addr = SA_INIT, note = SA_INIT;
  size_t cut = 0, i, e;
  for (i = BOUNCEFILE_MAX - BOUNCE_RESERVE; i >= 2; i--)
    if (text->s[i - 1] == '\n' && text->s[i - 2] == '\n') { cut = i; break; }
  /* "<addr>:" on the first line of the paragraph cut, if it has one */
  addr.len = 0;
  for (e = cut; e < text->len && e - cut < 1024 && text->s[e] != '\n'; e++)
    ;
  if (e - cut >= 3 && e < text->len && text->s[cut] == '<' && text->s[e - 1] == ':' &&
      text->s[e - 2] == '>' && !memchr(text->s + cut, 0, e - cut) &&
      !sa_catb(&addr, text->s + cut + 1, e - cut - 3))
    return -1;
  note.len = 0;
  if (!sa_0(&addr) || bounce_paragraph(&note, addr.s, toolong, sizeof toolong - 3) == -1) return -1;
  text->len = cut;
  if (!sa_catb(text, note.s, note.len)) return -1;
  log_s("warning: msg ");
  log_u(id);
  log_s(": bounce/");
  log_u(id);
  log_s(" is too big: the reports after its first ");
  log_u(cut);
  log_s(" bytes are left out\n");
  return 0;
}

/* 1 done (bounce sent or not needed), 0 try again later */
static int inject_bounce(unsigned long id, const char *sender)
{
  static sa_t from = SA_INIT, to = SA_INIT, text = SA_INIT, head = SA_INIT;
  qq_t qq;
  char date[DATE_LEN];
  const char *r;
  int kind, fd, rf;
  if (!qname(&fn1, "bounce", id)) return 0;
  rf = read_file(fn1.s, &text, BOUNCEFILE_MAX);
  if (rf == 0) return 1;
  if (rf == -1 && errno == E2BIG) rf = bounce_trim(id, &text) == -1 ? -1 : 1;
  if (rf == -1) {
    if (errno == ENOMEM) { nomem(); return 0; }
    log_fail("warning: unable to read ", fn1.s);
    return 0;
  }
  kind = bounce_envelope(sender, cf.dbto.s, cf.dbhost.s, &from, &to);
  if (kind == -1 || !sa_0(&from) || !sa_0(&to)) { nomem(); return 0; }
  if (kind == BOUNCE_TRIPLE || (kind == BOUNCE_DOUBLE && !cf.dbto.len)) {
    log_s(kind == BOUNCE_TRIPLE ? "triple bounce: discarding " : "double bounce: discarding ");
    log_s(fn1.s);
    log_s("\n");
    if (unlink(fn1.s) == -1 && errno != ENOENT) {
      log_fail("warning: unable to unlink ", fn1.s);
      return 0;
    }
    return 1;
  }
  date_rfc5322(date, now);
  head.len = 0;
  if (bounce_head(&head, kind, date, cf.bouncefrom.s, cf.bouncehost.s, to.s) == -1) {
    nomem();
    return 0;
  }
  if (!qname(&fn2, "mess", id)) return 0;
  fd = open_read(fn2.s);
  if (fd == -1 && errno != ENOENT) {
    log_fail("warning: unable to open ", fn2.s);
    return 0;
  }
  if (fd != -1) ndelay_off(fd);
  if (qq_open(&qq, false) == -1) {
    if (fd != -1) close(fd);
    log_fail("warning: unable to start qmail-queue, will try later", "");
    return 0;
  }
  qq_put(&qq, head.s, head.len);
  qq_put(&qq, text.s, text.len);
  head.len = 0;
  if (bounce_tail(&head, kind, sender) == -1) qq_abort(&qq); /* nomem: retried */
  else qq_put(&qq, head.s, head.len);
  if (fd != -1) {
    if (bounce_copy(fd, cf.bouncemax, qq_putcb, &qq) != 0) qq_abort(&qq);
    close(fd);
  } else
    qq_puts(&qq, "(the message itself had already disappeared from the queue)\n");
  qq_from(&qq, from.s);
  qq_to(&qq, to.s);
  r = qq_close(&qq);
  if (*r) {
    log_s("warning: trouble injecting bounce message, will try later: ");
    log_safe(r + 1, strlen(r + 1));
    log_s("\n");
    return 0;
  }
  log_s("bounce msg ");
  log_u(id);
  log_s(" qp ");
  log_u((unsigned long)qq.pid);
  log_s("\n");
  log_flush(); /* as for end msg below */
  if (unlink(fn1.s) == -1 && errno != ENOENT) {
    /* the bounce went out; a second one later is better than a lost one */
    log_fail("warning: unable to unlink ", fn1.s);
    return 0;
  }
  return 1;
}

/* every delivery of id is over */
static void complete(unsigned long id, const char *sender)
{
  if (!inject_bounce(id, sender)) {
    xpush(&done_heap, id, now + RETRY_LATER);
    return;
  }
  log_s("end msg ");
  log_u(id);
  log_s("\n");
  /* once info/ is gone nobody would log it again */
  log_flush();
  if (!qname(&fn1, "info", id)) { xpush(&done_heap, id, now + NOMEM_PAUSE); return; }
  if (unlink(fn1.s) == -1 && errno != ENOENT) {
    log_s("warning: unable to unlink ");
    log_s(fn1.s);
    log_sys();
    log_s("; will try again later\n");
    xpush(&done_heap, id, now + RETRY_LATER);
    return;
  }
  clean_ask('f', id);
}

/* reads the sender and birth time from info/N/id: 1 ok, 0 no such file,
 * -1 error (logged) */
static int read_info(unsigned long id, sa_t *sender, time_t *birth)
{
  static sa_t x = SA_INIT;
  struct stat st;
  int fd;
  if (!qname(&fn2, "info", id)) return -1;
  fd = open(fn2.s, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    if (errno == ENOENT) return 0;
    goto bad;
  }
  if (fstat(fd, &st) == -1 || read_fd(fd, &x, QUEUE_ADDR_MAX * 4 + 64) == -1) {
    int e = errno;
    close(fd);
    errno = e;
    goto bad;
  }
  *birth = st.st_mtime;
  close(fd);
  if (!x.len || x.s[0] != 'F' || !memchr(x.s, 0, x.len)) {
    log_s("warning: ");
    log_s(fn2.s);
    log_s(" is not an info file\n");
    return -1;
  }
  if (!sa_copys(sender, x.s + 1) || !sa_0(sender)) { nomem(); return -1; }
  --sender->len;
  return 1;
bad:
  if (errno == ENOMEM) { nomem(); return -1; }
  log_fail("warning: unable to read ", fn2.s);
  return -1;
}

static void complete_due(void)
{
  static sa_t sender = SA_INIT;
  const sched_ent_t *t;
  int n = 0;
  while (!flagnomem && n++ < 16 && (t = sched_top(&done_heap)) && t->when <= now) {
    sched_ent_t e;
    time_t birth;
    int r;
    sched_pop(&done_heap, &e);
    r = read_info(e.id, &sender, &birth);
    if (r == 1) complete(e.id, sender.s);
    else if (r == 0) clean_ask('f', e.id); /* info gone: nothing left to do */
    else xpush(&done_heap, e.id, now + RETRY_LATER);
  }
}

/* ---- deliveries ---- */

static void job_free(job_t *j)
{
  sa_free(&j->sender);
  sa_free(&j->data);
  free(j->offs);
  free(j);
}

static bool chan_file_exists(int c, unsigned long id)
{
  struct stat st;
  if (!qname(&fn2, chname[c], id)) return true; /* assume so: retried */
  return lstat(fn2.s, &st) == 0 || errno != ENOENT;
}

static void mark_done(int c, job_t *j, size_t rec)
{
  int fd;
  j->data.s[rec] = 'D';
  /* the result's log line goes out before the mark that ends the
   * delivery: a crash in between must not lose it */
  log_flush();
  if (!qname(&fn1, chname[c], j->id)) goto bad;
  /* the job's last delivery, none deferred: the file goes instead of
   * being marked (job_finish would remove it next); if it cannot go,
   * the mark is made */
  if (!j->outstanding && j->nextrec == j->nrec && !j->anyz && unlink(fn1.s) == 0) {
    j->gone = true;
    return;
  }
  fd = open(fn1.s, O_WRONLY | O_CLOEXEC);
  if (fd == -1) goto bad;
  if (pwrite(fd, "D", 1, (off_t)rec) != 1) { close(fd); goto bad; }
  close(fd);
  return;
bad:
  log_s("warning: trouble marking ");
  log_s(chname[c]);
  log_s("/");
  log_u(j->id);
  log_s("; message will be delivered twice!\n");
}

static void job_finish(int c, job_t *j)
{
  job_t **pp;
  for (pp = &ch[c].jobs; *pp != j; pp = &(*pp)->next) {}
  *pp = j->next;
  if (!qname(&fn1, chname[c], j->id)) {
    xpush(&ch[c].heap, j->id, now + NOMEM_PAUSE);
    job_free(j);
    return;
  }
  if (j->anyz) {
    time_t next = sched_next(j->birth, j->started, ch[c].c);
    struct utimbuf ut = {next, next};
    /* the file's mtime keeps the schedule across restarts */
    if (utime(fn1.s, &ut) == -1) {
      log_fail("warning: unable to utime ", fn1.s);
    }
    xpush(&ch[c].heap, j->id, next);
  } else if (!j->gone && unlink(fn1.s) == -1 && errno != ENOENT) {
    log_s("warning: unable to unlink ");
    log_s(fn1.s);
    log_sys();
    log_s("; will try again later\n");
    xpush(&ch[c].heap, j->id, now + RETRY_LATER);
  } else if (!chan_file_exists(!c, j->id))
    complete(j->id, j->sender.s);
  job_free(j);
}

static bool job_active(int c, unsigned long id)
{
  for (job_t *j = ch[c].jobs; j; j = j->next)
    if (j->id == id) return true;
  return false;
}

static bool chan_shrink(int c, unsigned long id);

/* loads the due message id on channel c; returns the job or null */
static job_t *job_open(int c, unsigned long id)
{
  job_t *j;
  envelope_walk_t w;
  const char *rec;
  size_t reclen, n = 0;
  int r;
  if (job_active(c, id)) return 0;
  j = calloc(1, sizeof *j);
  if (!j) { nomem(); xpush(&ch[c].heap, id, now + NOMEM_PAUSE); return 0; }
  j->id = id;
  j->started = now;
  if (!qname(&fn1, chname[c], id)) goto later;
  r = read_file(fn1.s, &j->data, CHANFILE_MAX);
  if (r == -1 && errno == E2BIG) { /* chan_shrink logs its trouble */
    if (!chan_shrink(c, id) || !qname(&fn1, chname[c], id)) goto later;
    r = read_file(fn1.s, &j->data, CHANFILE_MAX);
  }
  if (r == 0) { job_free(j); return 0; } /* gone: nothing to deliver */
  if (r == -1) {
    if (errno == ENOMEM) { nomem(); goto later; }
    log_fail("warning: unable to read ", fn1.s);
    goto later;
  }
  r = read_info(id, &j->sender, &j->birth);
  if (r == 0) {
    log_s("warning: ");
    log_s(fn1.s);
    log_s(" has no info file; leaving it alone\n");
    job_free(j);
    return 0;
  }
  if (r == -1) goto later;
  envelope_walk_init(&w, j->data.s, j->data.len);
  while (envelope_walk(&w, &rec, &reclen) == 1) if (rec[0] == 'T') ++n;
  if (n) {
    j->offs = n > SIZE_MAX / sizeof *j->offs ? 0 : malloc(n * sizeof *j->offs);
    if (!j->offs) { nomem(); goto later; }
  }
  envelope_walk_init(&w, j->data.s, j->data.len);
  while ((r = envelope_walk(&w, &rec, &reclen)) == 1) {
    if (rec[0] == 'T') j->offs[j->nrec++] = (size_t)(rec - j->data.s);
    else if (rec[0] != 'D') {
      log_s("warning: unknown record type in ");
      log_s(fn1.s);
      log_s("\n");
    }
  }
  if (r == ENV_TRUNC) {
    log_s("warning: ");
    log_s(fn1.s);
    log_s(" ends in an unterminated record\n");
  }
  j->next = ch[c].jobs;
  ch[c].jobs = j;
  return j;
later:
  xpush(&ch[c].heap, id, now + (flagnomem ? NOMEM_PAUSE : RETRY_LATER));
  job_free(j);
  return 0;
}

static bool is_archive(int c, const char *addr)
{
  return cf.archive.len && c == cf.archive_ch && !strcmp(addr, cf.archive_rw.s);
}

static bool start_one(int c, job_t *j)
{
  static sa_t orig = SA_INIT, snd = SA_INIT;
  chan_t *h = &ch[c];
  size_t rec = j->offs[j->nextrec], mark = h->out.len;
  const char *addr = j->data.s + rec + 1;
  unsigned s;
  char slotb;
  for (s = 0; s < h->limit && h->slots[s].used; s++) {}
  if (s == h->limit) return false;
  /* VERP names the address the sender used, without a virtual prepend */
  if ((c == LOCAL ? rewrite_unprepend(&cf.rw, addr, &orig) : (sa_copys(&orig, addr) ? 0 : -1)) == -1 ||
      verp_sender(j->sender.s, orig.s, &snd) == -1 || !qname(&fn2, "mess", j->id)) {
    nomem();
    return false;
  }
  slotb = (char)s;
  if (h->outpos && h->outpos == h->out.len) h->out.len = h->outpos = 0, mark = 0;
  /* qmail's spawn protocol names the message below queue/mess: "N/id" */
  if (!sa_catb(&h->out, &slotb, 1) || !sa_catb(&h->out, fn2.s + 5, fn2.len - 5) ||
      !sa_catb(&h->out, snd.s, snd.len) || !sa_append(&h->out, 0) ||
      !sa_catb(&h->out, addr, strlen(addr) + 1)) {
    h->out.len = mark;
    nomem();
    return false;
  }
  j->nextrec++;
  j->outstanding++;
  h->slots[s].used = true;
  h->slots[s].dnum = ++delnum;
  h->slots[s].job = j;
  h->slots[s].rec = rec;
  h->used++;
  log_s("starting delivery ");
  log_u(delnum);
  log_s(": msg ");
  log_u(j->id);
  log_s(" to ");
  log_s(chname[c]);
  log_s(" ");
  log_safe(addr, strlen(addr));
  log_s("\n");
  log_status();
  out_flush(h->fdw, &h->out, &h->outpos, chname[c][0] == 'l' ? "qmail-lspawn" : "qmail-rspawn");
  return true;
}

static void start_deliveries(int c)
{
  chan_t *h = &ch[c];
  int opens = 0;
  while (!exitasap && !flagnomem && h->used < conc_of(c)) {
    job_t *j;
    const sched_ent_t *t;
    for (j = h->jobs; j && j->nextrec == j->nrec; j = j->next) {}
    if (j) {
      if (!start_one(c, j)) return;
      continue;
    }
    /* bounded: a long run of unreadable files must not stall the loop */
    if (opens++ >= 64 || !(t = sched_top(&h->heap)) || t->when > now) return;
    {
      sched_ent_t e;
      sched_pop(&h->heap, &e);
      j = job_open(c, e.id);
      if (j && !j->nrec) job_finish(c, j); /* nothing pending: just finish */
    }
  }
}

static bool chan_wants_now(int c)
{
  const sched_ent_t *t;
  if (exitasap || flagnomem || ch[c].used >= conc_of(c)) return false;
  for (job_t *j = ch[c].jobs; j; j = j->next)
    if (j->nextrec < j->nrec) return true;
  t = sched_top(&ch[c].heap);
  return t && t->when <= now;
}

/* the bounce file must stay loadable (BOUNCEFILE_MAX): a paragraph that
 * would reach into its last BOUNCE_RESERVE bytes becomes a short note that
 * the reports from here on are left out, and after the note (the file's
 * end) nothing more is added: para is then empty.  0, or -1 nomem */
static int bounce_fit(int fd, sa_t *para, const char *addr)
{
  char tail[sizeof toolong - 1];
  struct stat st;
  /* an fstat failure shows in the write */
  if (fstat(fd, &st) == -1) return 0;
  if ((unsigned long)st.st_size >= sizeof tail &&
      pread(fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail) == (ssize_t)sizeof tail &&
      !memcmp(tail, toolong, sizeof tail)) {
    para->len = 0;
    return 0;
  }
  if ((unsigned long)st.st_size + para->len <= BOUNCEFILE_MAX - BOUNCE_RESERVE) return 0;
  para->len = 0;
  return bounce_paragraph(para, addr, toolong, sizeof toolong - 3);
}

/* para, about addr, onto the end of bounce/id as bounce_fit allows;
 * with sync, fsynced too.  false on trouble (logged) */
static bool bounce_append(unsigned long id, sa_t *para, const char *addr, bool sync)
{
  int fd;
  if (!qname(&fn1, "bounce", id)) return false;
  /* read too: bounce_fit looks at the file's end */
  fd = open(fn1.s, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd != -1 && bounce_fit(fd, para, addr) == -1) {
    nomem();
    close(fd);
    return false;
  }
  if (fd == -1 || write_all(fd, para->s, para->len) == -1 || (sync && fsync(fd) == -1)) {
    log_fail("alert: unable to append to ", fn1.s);
    if (fd != -1) close(fd);
    return false;
  }
  close(fd);
  return true;
}

static const char giveup[] =
    "\nGiving up on this address: the message has been in the queue longer than queuelifetime "
    "allows.\n";

static void report(int c, unsigned s, char *rep, size_t len)
{
  static sa_t para = SA_INIT, fixed = SA_INIT, orig = SA_INIT;
  chan_t *h = &ch[c];
  slot_t *sl;
  job_t *j;
  const char *addr;
  char kind = len ? rep[0] : 0;
  if (s >= h->limit || !h->slots[s].used) {
    log_s("warning: internal error: delivery report out of range\n");
    return;
  }
  sl = &h->slots[s];
  j = sl->job;
  addr = j->data.s + sl->rec + 1;
  sl->used = false;
  h->used--;
  j->outstanding--;
  /* past its lifetime a temporary failure is the last one; a mangled
   * report counts as temporary, so it ends there too */
  if (j->started > j->birth && (unsigned long)(j->started - j->birth) > cf.lifetime &&
      kind != 'K' && kind != 'D') {
    static char unreadable[] = "ZThe delivery report was unreadable.";
    if (kind != 'Z') {
      rep = unreadable;
      len = sizeof unreadable - 1;
    }
    fixed.len = 0;
    while (len > 1 && rep[len - 1] == '\n') --len;
    if (sa_catb(&fixed, rep, len) && sa_cats(&fixed, giveup)) {
      fixed.s[0] = 'D';
      rep = fixed.s;
      len = fixed.len;
      kind = 'D';
    }
  }
  log_s("delivery ");
  log_u(sl->dnum);
  switch (kind) {
  case 'K':
    log_s(": success: ");
    log_safe(rep + 1, len - 1);
    log_s("\n");
    mark_done(c, j, sl->rec);
    break;
  case 'D':
    log_s(": failure: ");
    log_safe(rep + 1, len - 1);
    log_s("\n");
    /* the archive copy never bounces to the sender */
    if (!is_archive(c, addr)) {
      para.len = 0;
      if ((c == LOCAL ? rewrite_unprepend(&cf.rw, addr, &orig) : (sa_copys(&orig, addr) ? 0 : -1)) == -1 ||
          bounce_paragraph(&para, orig.s, rep + 1, len - 1) == -1) {
        nomem();
        j->anyz = true;
        break;
      }
      if (!bounce_append(j->id, &para, orig.s, false)) {
        j->anyz = true;
        break;
      }
    }
    mark_done(c, j, sl->rec);
    break;
  case 'Z':
    log_s(": deferral: ");
    log_safe(rep + 1, len - 1);
    log_s("\n");
    j->anyz = true;
    break;
  default:
    log_s(": report mangled, will defer\n");
    j->anyz = true;
  }
  log_status();
  if (!j->outstanding && j->nextrec == j->nrec) job_finish(c, j);
}

static void chan_read(int c)
{
  chan_t *h = &ch[c];
  char b[4096];
  ssize_t r;
  do r = read(h->fdr, b, sizeof b); while (r == -1 && errno == EINTR);
  if (r == -1) {
    if (errno == EAGAIN) return;
    die_alert(c == LOCAL ? "lost connection to qmail-lspawn" : "lost connection to qmail-rspawn", true);
  }
  if (r == 0)
    die_alert(c == LOCAL ? "lost connection to qmail-lspawn" : "lost connection to qmail-rspawn", false);
  for (ssize_t i = 0; i < r; i++) {
    if (h->rstate == 0) {
      h->rslot = (unsigned char)b[i];
      h->rstate = 1;
      h->rep.len = 0;
      h->rcut = false;
      continue;
    }
    if (b[i]) {
      if (h->rep.len >= REPORT_MAX) continue; /* cut */
      if (!h->rcut && !sa_append(&h->rep, b[i])) { nomem(); h->rcut = true; }
      continue;
    }
    h->rstate = 0;
    if (!h->rep.s) h->rep.len = 0;
    report(c, h->rslot, h->rep.s ? h->rep.s : (char *)"", h->rep.len);
  }
}

/* ---- preprocessing (the todo pass) ---- */

static int queuefd = -1;

static void unlink_quiet(const char *dir, unsigned long id)
{
  if (qname(&fn2, dir, id) && unlink(fn2.s) == -1 && errno != ENOENT) {
    log_fail("warning: unable to unlink ", fn2.s);
  }
}

typedef struct {
  int fd;
  buf_t b;
  char space[2048];
} wfile_t;

/* a new file dir/id: 1 made, 0 out of memory (noted), -1 errno */
static int wf_try(wfile_t *w, const char *dir, unsigned long id)
{
  if (!qname(&fn2, dir, id)) return 0;
  w->fd = open_excl(fn2.s, 0600);
  if (w->fd == -1) return -1;
  buf_init(&w->b, buf_write_op, w->fd, w->space, sizeof w->space);
  return 1;
}

static bool wf_open(wfile_t *w, const char *dir, unsigned long id)
{
  int r = wf_try(w, dir, id);
  if (r == -1) log_fail("warning: unable to create ", fn2.s);
  return r == 1;
}

/* info/id for preprocessing.  An earlier pass that a crash cut short may
 * have left info, local, remote and bounce files of id.  info is made
 * before the others and removed after them (complete), so they can be
 * there only when info is: only then are they removed first. */
static bool info_open(wfile_t *w, unsigned long id)
{
  int r = wf_try(w, "info", id);
  if (r != -1) return r == 1;
  if (errno != EEXIST) {
    log_fail("warning: unable to create ", fn2.s);
    return false;
  }
  unlink_quiet("local", id);
  unlink_quiet("remote", id);
  unlink_quiet("bounce", id);
  unlink_quiet("info", id);
  return wf_open(w, "info", id);
}

static bool wf_close(wfile_t *w, const char *dir, unsigned long id)
{
  bool ok = true;
  if (w->fd == -1) return true;
  if (buf_flush(&w->b) == -1) ok = false;
  if (close(w->fd) == -1) ok = false;
  w->fd = -1;
  if (!ok) {
    log_s("warning: trouble writing to ");
    log_s(dir);
    log_s("/");
    log_u(id);
    log_sys();
    log_s("\n");
  }
  return ok;
}

/* onto bounce/id, for the recipients left out of a local or remote file
 * (preprocess, chan_shrink): one paragraph, for the first of them, with
 * the count (a paragraph each could be as big as the list).  false on
 * trouble (logged). */
static bool skip_bounce(unsigned long id, const char *first, unsigned long n)
{
  static sa_t text = SA_INIT, para = SA_INIT;
  char num[FMT_ULONG];
  log_s("warning: msg ");
  log_u(id);
  log_s(": ");
  log_u(n);
  log_s(" recipients left out: the list is too long for one queue file\n");
  text.len = para.len = 0;
  if (!sa_cats(&text, "This message has more recipients than one queue file can hold once "
                      "their addresses are rewritten (") ||
      !sa_catb(&text, num, fmt_ulong(num, CHANFILE_MAX >> 20)) ||
      !sa_cats(&text, " MB). This address and ") ||
      !sa_catb(&text, num, fmt_ulong(num, n - 1)) ||
      !sa_cats(&text, " more later in the list were not tried. Send the message in smaller "
                      "parts. (#5.5.3)") ||
      bounce_paragraph(&para, first, text.s, text.len) == -1) {
    nomem();
    return false;
  }
  return bounce_append(id, &para, first, true);
}

/* A local or remote file too big to load whole (CHANFILE_MAX) comes only
 * from a queue taken over from elsewhere: preprocessing never writes
 * one.  It is written anew, without its done records and with the
 * pending recipients that fit; those beyond get one bounce paragraph
 * (skip_bounce), made durable before the new file replaces the old.  A
 * crash in between repeats the paragraph, never loses a recipient.
 * true when replaced (logged), false on trouble (logged). */
static bool chan_shrink(int c, unsigned long id)
{
  static sa_t fn = SA_INIT, tmp = SA_INIT, rec = SA_INIT, skip1 = SA_INIT;
  char ispace[4096];
  wfile_t out;
  buf_t in;
  unsigned long kept = 0, skipped = 0;
  size_t size = 0;
  int fd, r;
  /* qname counts its NUL in len */
  if (!qname(&fn, chname[c], id) || !sa_copyb(&tmp, fn.s, fn.len - 1) || !sa_cats(&tmp, ".new") ||
      !sa_0(&tmp)) {
    nomem();
    return false;
  }
  fd = open_read(fn.s);
  if (fd == -1) {
    log_fail("warning: unable to open ", fn.s);
    return false;
  }
  ndelay_off(fd);
  /* a leftover of a shrink that a crash cut short goes too */
  out.fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out.fd == -1) {
    log_fail("warning: unable to create ", tmp.s);
    close(fd);
    return false;
  }
  buf_init(&out.b, buf_write_op, out.fd, out.space, sizeof out.space);
  buf_init(&in, buf_read_op, fd, ispace, sizeof ispace);
  while ((r = envelope_get(&in, &rec, ENV_REC_MAX)) == 1) {
    if (!rec.len || rec.s[0] != 'T') continue; /* done, or unknown: job_open skips them too */
    if (rec.len + 1 > CHANFILE_MAX - size) {
      /* the bounce names the address the sender used, as report's do */
      if (!skipped++ && (c == LOCAL ? rewrite_unprepend(&cf.rw, rec.s + 1, &skip1)
                                    : (sa_copys(&skip1, rec.s + 1) ? 0 : -1)) == -1) {
        nomem();
        goto fail;
      }
      continue;
    }
    size += rec.len + 1;
    kept++;
    if (envelope_put(&out.b, 'T', rec.s + 1, rec.len - 1) == -1) goto fail_write;
  }
  if (r == ENV_ERR) {
    log_fail("warning: unable to read ", fn.s);
    goto fail;
  }
  if (r == ENV_LONG) {
    log_s("warning: ");
    log_s(fn.s);
    log_s(" is too big to load and holds a record too long for an address\n");
    goto fail;
  }
  /* a record cut short at the end is left out, as job_open would */
  close(fd);
  fd = -1;
  if (buf_flush(&out.b) == -1 || fsync(out.fd) == -1) goto fail_write;
  if (close(out.fd) == -1) { out.fd = -1; goto fail_write; }
  out.fd = -1;
  if (skipped && !skip_bounce(id, skip1.s, skipped)) goto fail;
  if (rename(tmp.s, fn.s) == -1) {
    log_fail("warning: unable to rename ", tmp.s);
    goto fail;
  }
  log_s("warning: msg ");
  log_u(id);
  log_s(": ");
  log_s(fn.s);
  log_s(" was too big to load: rewritten with its ");
  log_u(kept);
  log_s(" pending recipients\n");
  return true;
fail_write:
  log_fail("warning: trouble writing to ", tmp.s);
fail:
  if (fd != -1) close(fd);
  if (out.fd != -1) close(out.fd);
  (void)unlink(tmp.s);
  return false;
}

static char bootid[QSUM_BOOTID + 1]; /* this system's ("" if unknown) */

/* Is todo/N/id (open as fd) an entry that a system crash left incomplete
 * before it was accepted?  Only an envelope with a boot id other than
 * ours can be one (qsum.h), or an empty one.  1 yes (logged), 0 no, -1
 * unable to tell now. */
static int torn(int fd, unsigned long id)
{
  static sa_t fn = SA_INIT;
  char b[QSUM_BOOTID + 2];
  int env, mess, r;
  ssize_t n = pread(fd, b, sizeof b, 0);
  if (n == -1) return -1;
  /* qmail-queue writes 'b' or 'u' first: an empty envelope, or zeros,
   * can only be what a crash left of one */
  if (n >= 1 && b[0] != 'b' && b[0]) return 0;
  if (n == sizeof b && !b[QSUM_BOOTID + 1] && bootid[0] && !memcmp(b + 1, bootid, QSUM_BOOTID))
    return 0;
  /* a file of its own: fd's offset stays where it is */
  if (!qname(&fn, "todo", id)) return -1;
  env = open_read(fn.s);
  if (env == -1) return errno == ENOENT ? 0 : -1;
  if (!qname(&fn, "mess", id)) { close(env); return -1; }
  mess = open_read(fn.s);
  if (mess == -1) {
    close(env);
    return errno == ENOENT ? 0 : -1; /* preprocess() sees to that */
  }
  ndelay_off(env);
  ndelay_off(mess);
  r = qsum_check(env, mess);
  close(env);
  close(mess);
  if (r == -1) {
    log_fail("warning: unable to check ", fn.s);
    return -1;
  }
  if (r == 1) return 0;
  log_s("warning: msg ");
  log_u(id);
  log_s(": discarded: it was never accepted, and a system crash left its queue files incomplete\n");
  return 1;
}

/* what preprocessing id made, info last (see preprocess) */
static void preprocess_undo(unsigned long id)
{
  unlink_quiet("local", id);
  unlink_quiet("remote", id);
  unlink_quiet("bounce", id);
  unlink_quiet("info", id);
}

/* preprocesses todo/N/id.  Returns a channel mask (bit 0 local, bit 1
 * remote) + 4 on success, 0 to leave it for a later pass, -1 if the entry
 * is garbage to hand to qmail-clean (no message file), -2 if all of it
 * is (torn()). */
static int preprocess(unsigned long id)
{
  static sa_t rec = SA_INIT, addr = SA_INIT, sender = SA_INIT, skip1 = SA_INIT;
  wfile_t info, out[2];
  struct stat st;
  char space[4096];
  buf_t in;
  unsigned long uid = 0, pid = 0, skipped = 0;
  size_t size[2] = {0, 0};
  bool havef = false, havearch = false;
  int fd, r, mask = 0;
  info.fd = out[0].fd = out[1].fd = -1;
  if (!qname(&fn1, "mess", id)) return 0;
  if (stat(fn1.s, &st) == -1) {
    if (errno != ENOENT) return 0;
    log_s("warning: todo/");
    log_u(id);
    log_s(" has no message file; removing it\n");
    return -1;
  }
  if (!qname(&fn1, "todo", id)) return 0;
  fd = open_read(fn1.s);
  if (fd == -1) {
    if (errno != ENOENT) {
      log_fail("warning: unable to open ", fn1.s);
    }
    return 0;
  }
  ndelay_off(fd);
  switch (torn(fd, id)) {
  case 1: close(fd); return -2;
  case -1: close(fd); return 0;
  }
  if (!info_open(&info, id)) { close(fd); return 0; }
  log_s("new msg ");
  log_u(id);
  log_s("\n");
  buf_init(&in, buf_read_op, fd, space, sizeof space);
  while ((r = envelope_get(&in, &rec, ENV_REC_MAX)) == 1) {
    if (!rec.len) goto corrupt;
    switch (rec.s[0]) {
    case 'b': /* boot id and trailer: torn() checked them */
    case 'c': break;
    case 'u': envelope_num(rec.s, rec.len, &uid); break;
    case 'p': envelope_num(rec.s, rec.len, &pid); break;
    case 'F':
      if (havef) goto corrupt;
      havef = true;
      if (envelope_put(&info.b, 'F', rec.s + 1, rec.len - 1) == -1) goto fail;
      if (!sa_copyb(&sender, rec.s + 1, rec.len - 1)) { nomem(); goto fail; }
      log_s("info msg ");
      log_u(id);
      log_s(": bytes ");
      log_u((unsigned long)st.st_size);
      log_s(" from <");
      log_safe(rec.s + 1, rec.len - 1);
      log_s("> qp ");
      log_u(pid);
      log_s(" uid ");
      log_u(uid);
      log_s("\n");
      break;
    case 'T': {
      int c;
      if (!havef) goto corrupt;
      r = rewrite_addr(&cf.rw, rec.s + 1, rec.len - 1, &addr);
      if (r == -1) { nomem(); goto fail; }
      c = r == 1 ? LOCAL : REMOTE;
      /* job_open loads a channel file whole, so none may outgrow what
       * it loads (rewriting can lengthen each address many times over):
       * the recipients beyond are not tried, and the bounce says so */
      if (addr.len + 2 > CHANFILE_MAX - size[c]) {
        if (!skipped++ && (!sa_copyb(&skip1, rec.s + 1, rec.len - 1) || !sa_0(&skip1))) {
          nomem();
          goto fail;
        }
        break;
      }
      size[c] += addr.len + 2;
      if (is_archive(c, addr.s)) havearch = true;
      if (out[c].fd == -1 && !wf_open(&out[c], chname[c], id)) goto fail;
      if (envelope_put(&out[c].b, 'T', addr.s, addr.len) == -1) goto fail;
      mask |= 1 << c;
      break;
    }
    default:
      goto corrupt;
    }
  }
  if (r != 0 || !havef) goto corrupt;
  if (cf.archive.len && !havearch && cf.archive_rw.len + 2 > CHANFILE_MAX - size[cf.archive_ch]) {
    log_s("warning: msg ");
    log_u(id);
    log_s(": no archive copy: the recipient list is too long\n");
  } else if (cf.archive.len && !havearch) {
    int c = cf.archive_ch;
    if (out[c].fd == -1 && !wf_open(&out[c], chname[c], id)) goto fail;
    if (envelope_put(&out[c].b, 'T', cf.archive_rw.s, cf.archive_rw.len) == -1) goto fail;
    mask |= 1 << c;
  }
  close(fd);
  fd = -1;
  if (skipped && !skip_bounce(id, skip1.s, skipped)) goto undo;
  /* the files get durable with the whole batch (one syncfs) */
  if (!wf_close(&info, "info", id) || !wf_close(&out[0], "local", id) ||
      !wf_close(&out[1], "remote", id))
    goto undo;
  return mask + 4;
corrupt:
  log_s("warning: trouble reading ");
  log_s(fn1.s);
  log_s(r == ENV_ERR ? "" : ": malformed envelope");
  if (r == ENV_ERR) log_sys();
  log_s("; will try again later\n");
  goto undo;
fail:
  if (!flagnomem) {
    log_s("warning: trouble preprocessing todo/");
    log_u(id);
    log_sys();
    log_s("\n");
  }
undo:
  if (fd != -1) close(fd);
  wf_close(&info, "info", id);
  wf_close(&out[0], "local", id);
  wf_close(&out[1], "remote", id);
  preprocess_undo(id);
  return 0;
}

static bool digits_id(const char *s, unsigned long *id)
{
  return s[0] >= '0' && s[0] <= '9' && scan_ulong_all(s, id);
}

/* next todo entry not already being handled; false when the pass is over */
static bool todo_next(unsigned long *id)
{
  char dn[FMT_ULONG + 8];
  for (;;) {
    struct dirent *e;
    if (!todo.d) {
      while (todo.dir < auto_split && !todo.passall && !todo.pass[todo.dir]) todo.dir++;
      if (todo.dir >= auto_split) return false;
      memcpy(dn, "todo/", 5);
      dn[5 + fmt_ulong(dn + 5, todo.dir)] = 0;
      todo.d = opendir(dn);
      if (!todo.d) {
        log_fail("alert: unable to opendir ", dn);
        todo.dir++;
        continue;
      }
    }
    errno = 0;
    e = readdir(todo.d);
    if (!e) {
      closedir(todo.d);
      todo.d = 0;
      todo.dir++;
      continue;
    }
    if (!digits_id(e->d_name, id)) continue;
    if (*id % auto_split != todo.dir) {
      log_s("warning: todo/");
      log_u(todo.dir);
      log_s("/");
      log_safe(e->d_name, strlen(e->d_name));
      log_s(" is in the wrong directory\n");
      continue;
    }
    if (idset_has(&intodo, *id)) {
      /* one still in unsynced is being delivered: its message file holds
       * the inode, so this entry is its own */
      if (!idset_has(&unsynced, *id) && !idset_add(&recheck, *id)) nomem();
      continue;
    }
    return true;
  }
}

static void todo_batch(void)
{
  size_t n = 0, tries = 0;
  if (!sched_reserve(&ch[LOCAL].heap, TODO_BATCH + 512) ||
      !sched_reserve(&ch[REMOTE].heap, TODO_BATCH + 512) ||
      !sched_reserve(&done_heap, TODO_BATCH + 64)) {
    nomem();
    return;
  }
  if (pend.a - pend.n < TODO_BATCH) {
    size_t na = pend.n + TODO_BATCH + pend.a;
    unsigned long *p = na > SIZE_MAX / sizeof *p ? 0 : realloc(pend.ids, na * sizeof *p);
    if (!p) {
      nomem();
      return;
    }
    pend.ids = p;
    pend.a = na;
  }
  /* entries that fail count too, so one call stays bounded */
  while (n < TODO_BATCH && tries++ < 2 * TODO_BATCH && !flagnomem) {
    unsigned long id;
    int m;
    if (!todo_next(&id)) {
      todo.active = false;
      break;
    }
    m = preprocess(id);
    if (m == 0) { /* again in the next pass */
      todo.hint[id % auto_split] = 1;
      continue;
    }
    if (m < 0) { /* garbage: qmail-clean removes it */
      if (idset_add(&intodo, id)) clean_ask(m == -1 ? 't' : 'f', id);
      else nomem();
      continue;
    }
    if (!idset_add(&intodo, id) || !idset_add(&unsynced, id)) {
      /* untracked, the next pass would preprocess it again under its
       * running deliveries: undone, it waits for that pass instead */
      idset_del(&intodo, id);
      preprocess_undo(id);
      nomem();
      break;
    }
    if (!pend.n) pend.since = ms_now();
    pend.ids[pend.n++] = id;
    n++;
    if (m & 1) xpush(&ch[LOCAL].heap, id, now);
    if (m & 2) xpush(&ch[REMOTE].heap, id, now);
    if (!(m & 3)) xpush(&done_heap, id, now);
  }
}

/* One flush of the whole file system makes the files of every waiting
 * message durable; then their todo entries can go.  force: now, whatever
 * the delay.  False if a sync was due and failed. */
static bool pend_sync(bool force)
{
  if (!pend.n) return true;
  if (!force && (now < pend.retry || (pend.n < SYNC_MAX && ms_now() - pend.since < SYNC_DELAY_MS)))
    return true;
  if (syncfs(queuefd) == -1) {
    log_fail("warning: unable to sync the queue; its todo entries stay for now", "");
    pend.retry = now + NOMEM_PAUSE;
    return false;
  }
  for (size_t i = 0; i < pend.n; i++) {
    if (!idset_has(&unsynced, pend.ids[i])) continue;
    idset_del(&unsynced, pend.ids[i]);
    clean_ask('t', pend.ids[i]);
  }
  pend.n = 0;
  return true;
}

/* ms until pend_sync() is due, or -1 */
static long long pend_wait(void)
{
  long long left;
  if (!pend.n) return -1;
  if (now < pend.retry) return (long long)(pend.retry - now) * 1000;
  left = pend.since + SYNC_DELAY_MS - ms_now();
  return left < 0 ? 0 : left;
}

static void todo_start(void)
{
  unsigned char *t;
  todo.want = false;
  if (todo.active) { todo.rescan = true; return; }
  todo.active = true;
  todo.dir = 0;
  /* this pass reads what the hints named; the next, what comes now */
  t = todo.pass;
  todo.pass = todo.hint;
  todo.hint = t;
  memset(todo.hint, 0, auto_split);
  todo.passall = todo.hintall;
  todo.hintall = false;
  if (todo.passall) todo.lastall = now;
}

/* the trigger was pulled: collects its hints; more than a full pass's
 * worth, and writers may have found it full, their hints lost */
static void trigger_read(int fd)
{
  unsigned char b[256];
  size_t total = 0;
  ssize_t r;
  while ((r = read(fd, b, sizeof b)) > 0) {
    total += (size_t)r;
    for (ssize_t k = 0; k < r; k++) {
      int n = trigger_byte(&todo.lead, b[k]);
      if (n >= 0 && (unsigned)n < auto_split) todo.hint[n] = 1;
      else if (n != TRIGGER_MORE) todo.hintall = true;
    }
  }
  if (todo.lead >= 0 || total > 4096) todo.hintall = true;
  todo.lead = -1;
  todo.want = true;
}

/* ---- startup scan of info/ and the stale-message sweep ---- */

typedef struct {
  bool active;
  unsigned dir;
  DIR *d;
  const char *top;
} scan_t;
static scan_t infoscan, sweep;
static time_t sweep_next;

static bool scan_next(scan_t *s, unsigned long *id)
{
  char dn[FMT_ULONG + 16];
  for (;;) {
    struct dirent *e;
    if (!s->d) {
      size_t l = strlen(s->top);
      if (s->dir >= auto_split) { s->active = false; return false; }
      memcpy(dn, s->top, l);
      dn[l] = '/';
      dn[l + 1 + fmt_ulong(dn + l + 1, s->dir)] = 0;
      s->d = opendir(dn);
      if (!s->d) {
        log_fail("alert: unable to opendir ", dn);
        s->dir++;
        continue;
      }
    }
    e = readdir(s->d);
    if (!e) {
      closedir(s->d);
      s->d = 0;
      s->dir++;
      continue;
    }
    if (digits_id(e->d_name, id) && *id % auto_split == s->dir) return true;
  }
}

static bool exists(const char *dir, unsigned long id, struct stat *st)
{
  struct stat dummy;
  if (!qname(&fn2, dir, id)) return true;
  return lstat(fn2.s, st ? st : &dummy) == 0 || errno != ENOENT;
}

static void infoscan_step(void)
{
  for (int k = 0; k < SCAN_STEP && infoscan.active; k++) {
    unsigned long id;
    struct stat st;
    bool any = false;
    if (!scan_next(&infoscan, &id)) break;
    if (exists("todo", id, 0)) continue; /* the todo pass redoes it */
    if (!exists("mess", id, 0)) {
      log_s("warning: message ");
      log_u(id);
      log_s(" has info but no message file; removing it\n");
      unlink_quiet("local", id);
      unlink_quiet("remote", id);
      unlink_quiet("bounce", id);
      unlink_quiet("info", id);
      clean_ask('f', id);
      continue;
    }
    for (int c = 0; c < 2; c++) {
      if (!qname(&fn2, chname[c], id)) continue;
      if (lstat(fn2.s, &st) == 0) {
        xpush(&ch[c].heap, id, st.st_mtime);
        any = true;
      }
    }
    if (!any) xpush(&done_heap, id, now);
  }
}

static void sweep_step(void)
{
  for (int k = 0; k < SCAN_STEP && sweep.active; k++) {
    unsigned long id;
    struct stat st;
    if (!scan_next(&sweep, &id)) break;
    if (idset_has(&intodo, id)) continue;
    if (!qname(&fn2, "mess", id) || lstat(fn2.s, &st) == -1) continue;
    if (st.st_mtime > now - STALE_AGE) continue;
    if (exists("info", id, 0) || exists("todo", id, 0)) continue;
    log_s("warning: removing stale message ");
    log_u(id);
    log_s("\n");
    clean_ask('f', id);
  }
}

/* ---- signals and the loop ---- */

static void reread(void)
{
  config_t n;
  if (chdir(auto_qmail) == -1) die_alert("unable to switch back to the home directory", true);
  if (config_load(&n) == -1) {
    log_fail("alert: unable to reread control files, keeping the old settings", "");
  } else {
    config_free(&cf);
    cf = n;
    log_s("status: control files reread\n");
  }
  if (chdir("queue") == -1) die_alert("unable to switch back to the queue directory", true);
}

static void on_signal(int sig)
{
  switch (sig) {
  case SIGHUP:
    reread();
    break;
  case SIGALRM:
    sched_all_now(&ch[LOCAL].heap, now);
    sched_all_now(&ch[REMOTE].heap, now);
    sched_all_now(&done_heap, now);
    if (cl.nlater) cl.later_at = now;
    todo.want = todo.hintall = true;
    break;
  case SIGTERM:
    if (!exitasap) {
      exitasap = true;
      /* what it waits for; idle, qmail's "status: exiting" alone */
      if (ch[LOCAL].used || ch[REMOTE].used) log_status();
    }
    break;
  }
}

static time_t min_t(time_t a, time_t b) { return a < b ? a : b; }

/* true if dir has an entry that is not one of our subdirectories: a
 * message id sitting there (an unreadable dir is found out later) */
static bool has_flat_entries(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  bool flat = false;
  if (!d) return false;
  while (!flat && (e = readdir(d)) != 0) {
    unsigned long id;
    struct stat st;
    if (!scan_ulong_all(e->d_name, &id)) continue;
    if (e->d_type == DT_DIR) continue;
    if (e->d_type == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
      continue;
    flat = true;
  }
  closedir(d);
  return flat;
}

/* true if dir/N (hashed) holds a message of another split: qmail-send
 * would never find it.  The first message of each subdirectory tells (a
 * queue hashed for another split has nearly every one elsewhere), and
 * any message in a subdirectory beyond the split */
static bool misplaced(const char *dir)
{
  DIR *top = opendir(dir);
  struct dirent *t;
  bool bad = false;
  if (!top) return false;
  while (!bad && (t = readdir(top)) != 0) {
    unsigned long n, id;
    DIR *d;
    struct dirent *e;
    if (!scan_ulong_all(t->d_name, &n)) continue;
    fn1.len = 0;
    if (!sa_cats(&fn1, dir) || !sa_append(&fn1, '/') || !sa_cats(&fn1, t->d_name) || !sa_0(&fn1))
      die_alert("cannot start: out of memory", false);
    if (!(d = opendir(fn1.s))) continue;
    while ((e = readdir(d)) != 0) {
      if (!scan_ulong_all(e->d_name, &id)) continue;
      bad = n >= auto_split || id % auto_split != n;
      break;
    }
    closedir(d);
  }
  closedir(top);
  return bad;
}

int main(void)
{
  int trig, trigw, lockfd, sp;
  unsigned char lim;
  sig_ignore(SIGPIPE);
  now = time(0);
  if (chdir(auto_qmail) == -1) die_alert("cannot start: unable to switch to home directory", true);
  if (config_load(&cf) == -1) die_alert("cannot start: unable to read controls", true);
  if (chdir("queue") == -1) die_alert("cannot start: unable to switch to queue directory", true);
  lockfd = open("lock/sendmutex", O_WRONLY | O_CLOEXEC);
  if (lockfd == -1) die_alert("cannot start: unable to open mutex", true);
  if (lock_exnb(lockfd) == -1) die_alert("cannot start: qmail-send is already running", false);
  /* qmail-upq leaves this while files may sit in the wrong subdirectories:
   * starting then would take half-moved messages for stale ones */
  if (access("lock/upq", F_OK) == 0)
    die_alert("cannot start: queue/lock/upq exists: qmail-upq has not finished, run it again", false);
  /* qmail-1.03 keeps todo/ and intd/ flat; we would not see those
   * entries, and the stale-message sweep would remove their messages */
  if (has_flat_entries("todo") || has_flat_entries("intd"))
    die_alert("cannot start: queue/todo or queue/intd holds entries of qmail's flat layout: run qmail-upq", false);
  /* installed with another conf-split than the queue was hashed with */
  if (misplaced("info") || misplaced("todo"))
    die_alert("cannot start: the queue is hashed for another conf-split: run qmail-upq", false);
  queuefd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (queuefd == -1) die_alert("cannot start: unable to open the queue directory", true);
  qsum_bootid(bootid); /* none: every entry with a boot id gets checked */
  trig = open("lock/trigger", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (trig == -1) die_alert("cannot start: unable to open lock/trigger", true);
  /* our own writer keeps poll() from reporting a hangup forever */
  trigw = open_write("lock/trigger");
  if (trigw == -1) die_alert("cannot start: unable to open lock/trigger", true);
  sp = selfpipe_init();
  if (sp == -1 || selfpipe_trap(SIGHUP) == -1 || selfpipe_trap(SIGALRM) == -1 ||
      selfpipe_trap(SIGTERM) == -1)
    die_alert("cannot start: unable to set up signals", true);

  for (int c = 0; c < 2; c++) {
    ssize_t r;
    ch[c].fdw = c == LOCAL ? 1 : 3;
    ch[c].fdr = c == LOCAL ? 2 : 4;
    ch[c].c = c == LOCAL ? 10 : 20;
    do r = read(ch[c].fdr, &lim, 1); while (r == -1 && errno == EINTR);
    if (r != 1)
      die_alert(c == LOCAL ? "cannot start: no slot count from qmail-lspawn"
                           : "cannot start: no slot count from qmail-rspawn", r == -1);
    ch[c].limit = lim;
    ch[c].slots = calloc(lim ? lim : 1, sizeof *ch[c].slots);
    if (!ch[c].slots) die_alert("cannot start: out of memory", false);
    if (ndelay_on(ch[c].fdw) == -1 || ndelay_on(ch[c].fdr) == -1)
      die_alert("cannot start: unable to set up pipes", true);
  }
  if (ndelay_on(5) == -1 || ndelay_on(6) == -1) die_alert("cannot start: unable to set up pipes", true);
  /* qmail-queue (for bounces) must not inherit our pipes: a spawner has
   * to see EOF when we go away */
  for (int fd = 0; fd <= 6; fd++) coe(fd);

  todo.hint = calloc(auto_split, 1);
  todo.pass = calloc(auto_split, 1);
  if (!todo.hint || !todo.pass) die_alert("cannot start: out of memory", false);
  infoscan.active = true;
  infoscan.top = "info";
  sweep.top = "mess";
  sweep_next = now;
  todo.want = true;
  log_status();

  for (;;) {
    struct pollfd pf[9];
    int npf = 0, timeout;
    time_t wake = todo.lastall + TODO_PERIOD;
    bool busy = false;
    now = time(0);
    if (flagnomem && now >= nomem_until) flagnomem = false;

    /* the last deliveries are over: what still waits for a sync gets it
     * (failing that, its todo entries stay and are preprocessed again at
     * the next start) */
    if (exitasap && !ch[LOCAL].used && !ch[REMOTE].used && pend.n && !pend_sync(true)) pend.n = 0;
    if (exitasap && !ch[LOCAL].used && !ch[REMOTE].used && !cl.n) {
      log_s("status: exiting\n");
      log_flush();
      _exit(0);
    }
    if (!exitasap) {
      clean_retry();
      complete_due();
      start_deliveries(LOCAL);
      start_deliveries(REMOTE);
      if (!infoscan.active) {
        if (now >= todo.lastall + TODO_PERIOD) todo.hintall = true;
        if (todo.want || todo.hintall) todo_start();
        if (todo.active && !flagnomem) todo_batch();
        if (!todo.active && todo.rescan) {
          todo.rescan = false;
          todo_start();
        }
      } else if (!flagnomem)
        infoscan_step();
      pend_sync(false);
      if (now >= sweep_next && !sweep.active && !infoscan.active) {
        sweep.active = true;
        sweep.dir = 0;
        sweep_next = now + SWEEP_PERIOD;
      }
      if (sweep.active && !flagnomem) sweep_step();
      /* a todo pass asked for (at start, by the trigger) but not begun
       * because the info/ scan had it wait: go on at once, not at the
       * next timer (mail queued while we were down sat for 25 minutes) */
      busy = !flagnomem && (todo.want || todo.rescan || todo.active || infoscan.active || sweep.active);
    }
    log_flush();

    /* the next timer: due deliveries, completions, cleanup retries */
    for (int c = 0; c < 2; c++) {
      const sched_ent_t *t = sched_top(&ch[c].heap);
      if (chan_wants_now(c)) busy = true;
      else if (t && ch[c].used < conc_of(c)) wake = min_t(wake, t->when);
    }
    if (sched_top(&done_heap)) wake = min_t(wake, sched_top(&done_heap)->when);
    if (cl.nlater) wake = min_t(wake, cl.later_at);
    if (flagnomem) wake = min_t(wake, nomem_until);
    if (!sweep.active) wake = min_t(wake, sweep_next);
    if (busy) timeout = 0;
    else if (wake <= now) timeout = 0;
    else timeout = wake - now > 3600 ? 3600000 : (int)(wake - now) * 1000;
    if (!exitasap) {
      long long p = pend_wait();
      if (p >= 0 && p < timeout) timeout = (int)p;
    }
    if (exitasap && timeout > 1000) timeout = 1000;

    pf[npf++] = (struct pollfd){.fd = sp, .events = POLLIN};
    pf[npf++] = (struct pollfd){.fd = trig, .events = POLLIN};
    pf[npf++] = (struct pollfd){.fd = 2, .events = POLLIN};
    pf[npf++] = (struct pollfd){.fd = 4, .events = POLLIN};
    pf[npf++] = (struct pollfd){.fd = 6, .events = POLLIN};
    if (ch[LOCAL].outpos < ch[LOCAL].out.len) pf[npf++] = (struct pollfd){.fd = 1, .events = POLLOUT};
    if (ch[REMOTE].outpos < ch[REMOTE].out.len) pf[npf++] = (struct pollfd){.fd = 3, .events = POLLOUT};
    if (cl.outpos < cl.out.len) pf[npf++] = (struct pollfd){.fd = 5, .events = POLLOUT};
    if (poll(pf, (nfds_t)npf, timeout) == -1) {
      if (errno == EINTR) continue;
      die_alert("poll failed", true);
    }
    now = time(0);
    for (int i = 0; i < npf; i++) {
      if (!pf[i].revents) continue;
      switch (pf[i].fd) {
      case 1: out_flush(1, &ch[LOCAL].out, &ch[LOCAL].outpos, "qmail-lspawn"); break;
      case 3: out_flush(3, &ch[REMOTE].out, &ch[REMOTE].outpos, "qmail-rspawn"); break;
      case 5: out_flush(5, &cl.out, &cl.outpos, "qmail-clean"); break;
      case 2: chan_read(LOCAL); break;
      case 4: chan_read(REMOTE); break;
      case 6: {
        char b[256];
        ssize_t r;
        do r = read(6, b, sizeof b); while (r == -1 && errno == EINTR);
        if (r == 0) die_alert("lost connection to qmail-clean", false);
        if (r == -1 && errno != EAGAIN) die_alert("lost connection to qmail-clean", true);
        for (ssize_t k = 0; k < r; k++) clean_answer(b[k]);
        break;
      }
      default:
        if (pf[i].fd == sp) {
          int sig;
          while ((sig = selfpipe_read()) != 0) on_signal(sig);
        } else if (pf[i].fd == trig)
          trigger_read(trig);
      }
    }
  }
}
