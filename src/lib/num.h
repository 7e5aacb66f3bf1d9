/* num: formatting and scanning of unsigned numbers, no stdio. */
#ifndef NUM_H
#define NUM_H
#include <stddef.h>

#define FMT_ULONG 40 /* enough for any unsigned long, plus slack */

/* writes the decimal digits of u to s (if s is not null), returns count */
size_t fmt_ulong(char *s, unsigned long u);
/* same, left-padded with zeros to at least n digits */
size_t fmt_ulong0(char *s, unsigned long u, size_t n);
size_t fmt_xlong(char *s, unsigned long u);
/* scans decimal digits; returns number of bytes used, 0 if none or on
 * overflow (then *u is untouched) */
size_t scan_ulong(const char *s, unsigned long *u);
/* whole NUL-terminated string must be a number */
int scan_ulong_all(const char *s, unsigned long *u);

#endif
