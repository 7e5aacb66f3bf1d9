/* qmail-local: delivers one message to one local recipient, as that
 * recipient's user (see qmail-local(8)).  The code is in lib/local.c,
 * which qmail-lspawn runs in its child without an exec. */
#include "die.h"
#include "local.h"

const char *PROG = "qmail-local";

int main(int argc, char **argv) { local_main(argc, argv); }
