/* die: the one convention for messages and exits.
 * Each program defines   const char *PROG = "qmail-xxx";
 * Messages go to fd 2 as one line: "PROG: fatal: part part...[: errno text]".
 * Exit codes: 0 ok, 100 permanent, 111 temporary (qmail-command(8)). */
#ifndef DIE_H
#define DIE_H
#include <stddef.h>

extern const char *PROG;

_Noreturn void die_(int code, int syserr, const char *s, ...);
void warn_(int syserr, const char *s, ...);
/* the same line without the "fatal:"/"warning:" word and without exiting */
void say_(int syserr, const char *s, ...);

#define die_temp(...) die_(111, 0, __VA_ARGS__, (const char *)0)
#define die_perm(...) die_(100, 0, __VA_ARGS__, (const char *)0)
#define die_sys(code, ...) die_((code), 1, __VA_ARGS__, (const char *)0)
#define die_usage(u) die_(100, 0, "usage: ", (u), (const char *)0)
#define die_nomem() die_(111, 0, "out of memory", (const char *)0)
#define warn(...) warn_(0, __VA_ARGS__, (const char *)0)
#define warn_sys(...) warn_(1, __VA_ARGS__, (const char *)0)
/* an internal inconsistency: logs file:line and exits 111 */
#define die_bug() die_(111, 0, "internal error at ", __FILE__, ":", die_line(__LINE__), (const char *)0)
const char *die_line(int);

#endif
