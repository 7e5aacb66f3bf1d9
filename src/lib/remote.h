#ifndef REMOTE_H
#define REMOTE_H
/* remote: qmail-remote's delivery (see qmail-remote(8)).
 *
 * remote_main(argc, argv) is qmail-remote's whole run: argv as qmail-remote
 * gets it, the message on fd 0 (seekable), the result records on fd 1, the
 * log on fd 2.  It never returns.  Called by qmail-remote's main, and by
 * qmail-rspawn's child after it has closed everything but fds 0-2. */
_Noreturn void remote_main(int argc, char **argv);

#endif
