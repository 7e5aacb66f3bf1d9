#ifndef LOCAL_H
#define LOCAL_H
/* local: qmail-local's delivery (see qmail-local(8)).
 *
 * local_main(argc, argv) is qmail-local's whole run: argv as qmail-local
 * gets it, the message on fd 0, the report on fd 1, errors on fd 2.  It
 * never returns: exit 0 delivered, 100 permanent, 111 temporary.  Called
 * by qmail-local's main, and by qmail-lspawn's child once it has become
 * the recipient, set environ and closed everything but fds 0-2. */
_Noreturn void local_main(int argc, char **argv);

#endif
