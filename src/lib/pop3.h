/* pop3: what qmail-popup and qmail-pop3d share: the connection on fds 0
 * (in) and 1 (out) with RFC 1939's idle timeout, and command lines.
 * Output is flushed whenever input is needed. */
#ifndef POP3_H
#define POP3_H
#include "buf.h"
#include "sa.h"

#define POP3_TIMEOUT 1200 /* seconds of client silence (RFC 1939: 10 minutes at least) */
#define POP3_CMD_MAX 1024 /* command line; RFC 2449 allows 255 octets */

extern buf_t pop3_out;
/* the exit code when the client hangs up, is silent too long or sends
 * an overlong line */
extern int pop3_lost;

void pop3_puts(const char *);
void pop3_err(const char *);          /* "-ERR text\r\n" */
_Noreturn void pop3_leave(int code);  /* flush, then _exit(code) */
/* The next command line, without its line end, NUL-terminated (the
 * terminator not counted).  Returns 0, or -1 for a line holding a NUL
 * (already answered).  Ends the session on EOF and on overlong lines. */
int pop3_getcmd(sa_t *line);
#endif
