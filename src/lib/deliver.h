/* deliver: writing one message into a Maildir or an mbox file, and the
 * header lines local delivery adds.  Used by qmail-local (default delivery
 * and .qmail file/maildir lines) and usable by maildir2mbox.
 *
 * The message comes from a seekable descriptor and is always read from
 * offset 0, so one message can be delivered several times.  Functions
 * return 0 on success and -1 on failure, with a one-line human reason
 * (ending in an enhanced status code) in *why; every such failure is
 * temporary: nothing here ever decides that mail is undeliverable. */
#ifndef DELIVER_H
#define DELIVER_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "sa.h"

/* lines put in front of the message; any may be empty (s null, len 0) */
typedef struct {
  const char *uf; size_t uflen;  /* "From sender date\n" (mbox only) */
  const char *rp; size_t rplen;  /* "Return-Path: <sender>\n" */
  const char *dt; size_t dtlen;  /* "Delivered-To: local@domain\n" */
} deliver_hdr_t;

/* "Return-Path: <sender>\n", the sender quoted as in SMTP (quote_addr:
 * "a b@x" is written "\"a b\"@x"); LF in sender becomes '_' */
bool deliver_rpline(sa_t *out, const char *sender);
/* "Delivered-To: recipient\n"; LF becomes '_' */
bool deliver_dtline(sa_t *out, const char *recipient);
/* "From sender Www Mmm dd hh:mm:ss yyyy\n" (UTC, ctime layout but the day
 * zero-padded, as qmail writes it: "Thu Nov 02"); empty
 * sender is MAILER-DAEMON, blanks and controls in sender become '-' */
bool deliver_ufline(sa_t *out, const char *sender, time_t t);

/* Scans the message header (up to the first empty line or EOF) for a line
 * byte-identical to dt (which ends in LF).  Reads byte by byte against the
 * target, so header lines of any length cost no memory.
 * 1 found, 0 not found, -1 read error. */
int deliver_looping(int fdmess, const char *dt, size_t dtlen);

/* Maildir: a unique name "sec.M<usec>P<pid>Q<n>.<host>" ('/' and ':' in
 * host escaped as \057 and \072) */
bool deliver_uniq(sa_t *out, time_t sec, long usec, pid_t pid,
                  unsigned long n, const char *host);
/* writes rp+dt+message into dir/tmp/<uniq> (O_EXCL), fsyncs it, links it
 * into dir/new/ (rename where the file system has no hard links), fsyncs
 * new/, removes the tmp name.  dir may or may not end in '/'. */
int deliver_maildir(const char *dir, int fdmess, const deliver_hdr_t *h, sa_t *why);

/* mbox: locks path (a dotlock path.lock when the directory allows one, and
 * flock), appends uf+rp+dt+message with ">From " quoting and a final empty
 * line, fsyncs.  On any failure the file is truncated back to its old
 * size, so a full disk never leaves a half message. */
int deliver_mbox(const char *path, int fdmess, const deliver_hdr_t *h, sa_t *why);

/* the same in steps, for appending several messages under one lock
 * (maildir2mbox): open creates the mbox if missing and takes both locks;
 * put appends one message (buffered); close with commit flushes and
 * fsyncs, and on any failure (or without commit) truncates the file back
 * to its size at open.  Then the locks are released.  close always
 * releases everything, also after a failed open or put. */
typedef struct {
  const char *path;
  int fd, locked;
  off_t old;
  sa_t lock;
  buf_t out;
  char space[8192];
} deliver_mbox_t;
int deliver_mbox_open(deliver_mbox_t *, const char *path, sa_t *why);
int deliver_mbox_put(deliver_mbox_t *, int fdmess, const deliver_hdr_t *h, sa_t *why);
int deliver_mbox_close(deliver_mbox_t *, bool commit, sa_t *why);

/* the ">From " quoting state machine, exposed for tests and maildir2mbox:
 * call deliver_quote_init once per message, then deliver_quote for each
 * chunk; output goes to put(ctx, bytes, len), which returns -1 on error. */
typedef struct {
  int state;        /* 0 inside a line, 1 counting '>' at line start, 2 matching "From " */
  size_t gt;        /* '>' seen at this line's start */
  size_t from;      /* bytes of "From " matched */
  char last;        /* last byte seen (for the final newline) */
} deliver_quote_t;
typedef int (*deliver_put_fn)(void *ctx, const char *, size_t);
void deliver_quote_init(deliver_quote_t *);
int deliver_quote(deliver_quote_t *, const char *, size_t, deliver_put_fn, void *ctx);
/* flushes a pending partial match at EOF */
int deliver_quote_end(deliver_quote_t *, deliver_put_fn, void *ctx);

/* the exit code of a .qmail helper's child (preline, condredirect,
 * bouncesaying, except) whose exec failed with err, as qmail's helpers
 * give it: 111 when err is a passing condition (out of memory, a busy
 * text file, I/O, too many files, no space, a network error, ...), else
 * 100 (no such program, permission denied, not executable) */
int deliver_exec_code(int err);

/* seconds to wait for a mailbox lock (default 30) and the age after which
 * a dotlock is taken to be stale (default 300); tests lower them */
extern unsigned deliver_lock_wait;
extern unsigned deliver_lock_stale;

#endif
