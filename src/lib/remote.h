#ifndef REMOTE_H
#define REMOTE_H
/* remote: qmail-remote's delivery (see qmail-remote(8)).
 *
 * remote_main(argc, argv) is qmail-remote's whole run: argv as qmail-remote
 * gets it, the message on fd 0 (a file; a pipe is copied first), the result records on fd 1, the
 * log on fd 2.  It never returns.  Called by qmail-remote's main, and by
 * qmail-rspawn's child after it has closed everything but fds 0-2. */
_Noreturn void remote_main(int argc, char **argv);

/* the same delivery for a long-lived worker (qmail-rspawn): it returns
 * once the records are written, with every descriptor it opened closed
 * and its state as a fresh process has it; fds 0 and 1 stay open.  Out of
 * memory still ends the process. */
void remote_run(int argc, char **argv);

/* Connection reuse (qmail-rspawn's cache, see qmail-rspawn(8)).  After a
 * message is accepted (2xx to the final dot), remote_main hands its open
 * SMTP connection back instead of QUIT: one datagram on the handback fd,
 * this record as data and the socket as SCM_RIGHTS.  A child that is
 * given such a connection for the same host skips DNS, connect and EHLO;
 * if the connection turns out to be dead before the server answered MAIL
 * (or it answers 421), it is dropped and the delivery goes on as if it
 * had never been offered, so nothing is reported twice. */
typedef struct {
  char host[256];     /* the argument "host" it was made for, lower case */
  char ip[48];        /* the server, as text, for reports */
  long born;          /* time() of the connect */
  unsigned long long maxsize;
  int size, pipelining, eightbitmime;
} remote_conn_t;

/* before remote_main: handback is the datagram socket to give connections
 * back on (-1 for none); fd, with c, a connection to use first (-1 for
 * none) */
void remote_reuse(int handback, int fd, const remote_conn_t *c);

/* a connection is not reused once it is this old (seconds) */
#define REMOTE_CONN_AGE 300

#endif
