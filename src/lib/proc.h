/* proc: signals, child processes, environment, and the self-pipe that
 * turns signals into readable events for poll()-driven daemons. */
#ifndef PROC_H
#define PROC_H
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

void sig_catch(int sig, void (*handler)(int));
void sig_ignore(int sig);
void sig_default(int sig);
void sig_block(int sig);
void sig_unblock(int sig);

/* waits for pid (retrying EINTR): pid on success, -1 on error */
pid_t wait_pid(pid_t pid, int *wstat);
/* reaps any exited child: pid, 0 if none, -1 if no children */
pid_t wait_nohang(int *wstat);
/* exit code of a wait status, or -1 if the child was killed by a signal */
int wait_code(int wstat);

/* self-pipe: selfpipe_init returns the read end; signals passed to
 * selfpipe_trap write their number into it.  selfpipe_read returns the next
 * pending signal number, or 0 when none is pending. */
int selfpipe_init(void);
int selfpipe_trap(int sig);
int selfpipe_read(void);

const char *env_get(const char *name);

/* no core dump, and no ptrace or /proc/PID/mem, environ or fd by other
 * processes of our uid (root excepted), until the next exec: the network
 * servers run every client's session as one shared uid, and a session
 * somebody subverted must not read or steer the others.  0, or -1 */
int proc_private(void);
/* names this process for ps -e, top and pgrep (its comm, at most 15
 * characters): a forked child that runs another program's code without
 * an exec shows as that program, e.g. qmail-local */
void proc_name(const char *name);

/* starts f(arg) in a thread with every signal blocked and a stack of the
 * given size: not glibc's default, which is RLIMIT_STACK, as large as the
 * whole address space under softlimit -m, so that no thread could start.
 * pthread_create's result (0, or an error number). */
int thread_start(pthread_t *t, size_t stack, void *(*f)(void *), void *arg);

#endif
