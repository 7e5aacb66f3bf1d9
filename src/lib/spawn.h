/* spawn: the driver shared by qmail-lspawn and qmail-rspawn (the spawn
 * protocol of INTERNALS.md).  It reads delivery commands from qmail-send
 * on fd 0, runs each delivery as a child through the program's hooks,
 * collects the child's output through a pipe, and writes one result per
 * command on fd 1.  Everything is non-blocking and poll()-driven: a slow
 * delivery never holds back the others, and qmail-send never blocks us.
 *
 * Before calling start the driver has checked the command: the message
 * queue/<mess> is a regular file owned by the queue account (opened
 * read-only, offset 0) and the recipient contains '@'. */
#ifndef SPAWN_H
#define SPAWN_H
#include <stddef.h>
#include <sys/types.h>
#include "sa.h"

typedef struct {
  /* Starts one delivery.  fdmess is the message, fdout the write end of
   * the pipe collecting the child's report (both close-on-exec; the
   * driver closes its copies afterwards).  Returns the child's pid; or 0
   * after putting an immediate report ("K...", "Z...", "D...") in report;
   * or -1 with errno for a temporary failure. */
  pid_t (*start)(int fdmess, const char *sender, const char *recipient,
                 int fdout, sa_t *report);
  /* Turns the child's wait status and collected output into the report. */
  void (*finish)(int wstat, const char *out, size_t len, sa_t *report);
  /* output kept per child; the rest is read and discarded */
  size_t outmax;
  /* for deliveries start handed to a worker (see spawn_by_eof): called
   * with the worker's pid once that delivery is over; may be null */
  void (*ended)(pid_t worker);
} spawn_hooks_t;

/* Called by start instead of forking a child per delivery: the pid it
 * returns is a long-lived worker of the program's own, which holds the
 * write end of the output pipe for this one delivery.  The delivery is
 * over when that pipe reaches end of file (finish then gets wait status
 * 0); the worker's own death is reported through spawn_on_other. */
void spawn_by_eof(void);

/* runs the protocol until qmail-send closes the command pipe and every
 * child has been reported; cwd must be QMAILHOME.  Returns the exit code. */
int spawn_main(const spawn_hooks_t *);

/* f is called with the pid and wait status of every reaped child that
 * is not a delivery (a helper process the program started itself) */
void spawn_on_other(void (*f)(pid_t pid, int wstat));

/* one more descriptor for the program's own use: ready() is called when
 * fd is readable; tick(), if not null, after every poll, and returns how
 * long (ms) the next poll may wait at most (-1: no limit) */
void spawn_on_extra(int fd, void (*ready)(void), int (*tick)(void));

/* for the child between fork and exec: default signal handling again */
void spawn_child_reset(void);

/* the longest report sent to qmail-send (it cuts at 10000 anyway) */
#define SPAWN_REPORT_MAX 10000

#endif
