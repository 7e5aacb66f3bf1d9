/* qmail-clean: removes queue files on behalf of qmail-send.
 *
 * Runs as qmailq (the owner of mess/, intd/, todo/, which qmail-send may
 * not write).  Requests come NUL-terminated on fd 0, one answer byte goes
 * to fd 1 (INTERNALS.md, "qmail-clean protocol"):
 *   foop/<id>   remove intd/N/id, todo/N/id, mess/N/id
 *   todo/<id>   remove intd/N/id, todo/N/id
 * Answers: '+' done, '!' some removal failed (ask again later), 'x' the
 * request was malformed.  The id must be digits that fit an unsigned long;
 * the names are rebuilt from the number, so no request can reach outside
 * the queue.  Every CLEAN_EVERY requests, files in pid/ older than 36 h
 * (left by a qmail-queue that died) are removed too.  EOF: exit 0. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "auto.h"
#include "buf.h"
#include "die.h"
#include "fdio.h"
#include "num.h"
#include "proc.h"
#include "queue.h"
#include "sa.h"

const char *PROG = "qmail-clean";

/* longest sensible request: "foop/" and 20 digits; more is malformed */
#define REQ_MAX 64
#define CLEAN_EVERY 50
/* pid/ files live milliseconds in a working qmail-queue, whose alarm ends
 * it after 24 h; 36 h old means dead for sure */
#define OSSIFIED (36 * 3600)

static void clean_pid(void)
{
  DIR *d = opendir("pid");
  struct dirent *de;
  time_t now = time(0);
  int dfd;
  if (!d) {
    warn_sys("unable to open queue/pid");
    return;
  }
  dfd = dirfd(d);
  while ((errno = 0, de = readdir(d))) {
    struct stat st;
    if (de->d_name[0] == '.') continue; /* ".", ".." (qmail-queue makes no dot names) */
    if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) continue;
    if (!S_ISREG(st.st_mode)) continue;
    if (now - st.st_mtime <= OSSIFIED) continue;
    if (unlinkat(dfd, de->d_name, 0) == -1 && errno != ENOENT)
      warn_sys("unable to remove queue/pid/", de->d_name);
  }
  if (errno) warn_sys("unable to read queue/pid");
  closedir(d);
}

static bool rm(const char *dir, unsigned long id)
{
  sa_t fn = SA_INIT;
  bool ok;
  if (!queue_name(&fn, dir, id, true)) {
    sa_free(&fn);
    return false;
  }
  ok = unlink(fn.s) == 0 || errno == ENOENT;
  if (!ok) warn_sys("unable to remove queue/", fn.s);
  sa_free(&fn);
  return ok;
}

/* one request (without its NUL) → the answer byte */
static char handle(const sa_t *req)
{
  char num[REQ_MAX + 1];
  unsigned long id;
  bool foop;
  if (req->len <= 5 || req->len - 5 >= sizeof num) return 'x';
  if (!memcmp(req->s, "foop/", 5)) foop = true;
  else if (!memcmp(req->s, "todo/", 5)) foop = false;
  else return 'x';
  memcpy(num, req->s + 5, req->len - 5);
  num[req->len - 5] = 0;
  /* digits only (a NUL inside would stop the scan early and fail here) */
  if (!scan_ulong_all(num, &id)) return 'x';
  /* intd before todo, and the message last: a crash in between leaves a
   * state the next request or sweep finishes, never a todo without mess */
  if (!rm("intd", id)) return '!';
  if (!rm("todo", id)) return '!';
  if (foop && !rm("mess", id)) return '!';
  return '+';
}

int main(void)
{
  sa_t req = SA_INIT;
  unsigned long count = 0;

  /* a dead qmail-send gives EPIPE on the answer, not a signal death */
  sig_ignore(SIGPIPE);
  if (chdir(auto_qmail) == -1) die_sys(111, "unable to chdir to ", auto_qmail);
  if (chdir("queue") == -1) die_sys(111, "unable to chdir to ", auto_qmail, "/queue");
  clean_pid();

  for (;;) {
    char ans;
    int r;
    req.len = 0;
    r = buf_getln(buf0, &req, 0, REQ_MAX);
    if (r == 0) _exit(0); /* qmail-send went away; a partial request is dropped */
    if (r == -1) {
      if (errno != E2BIG) die_sys(111, "unable to read request");
      /* overlong: skip to the end of this request, then refuse it */
      for (;;) {
        req.len = 0;
        r = buf_getln(buf0, &req, 0, REQ_MAX);
        if (r == 1) break;
        if (r == 0) _exit(0);
        if (errno != E2BIG) die_sys(111, "unable to read request");
      }
      ans = 'x';
    } else {
      req.len--; /* the NUL */
      ans = handle(&req);
    }
    if (write_all(1, &ans, 1) == -1) {
      if (errno == EPIPE) _exit(0);
      die_sys(111, "unable to write answer");
    }
    if (++count % CLEAN_EVERY == 0) clean_pid();
  }
}
