/* qmail-remote: delivers one message to one destination over SMTP (see
 * qmail-remote(8)).  The code is in lib/remote.c, which qmail-rspawn runs
 * in its child without an exec. */
#include "die.h"
#include "remote.h"

const char *PROG = "qmail-remote";

int main(int argc, char **argv) { remote_main(argc, argv); }
