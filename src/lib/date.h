/* date: RFC 5322 date-time strings. */
#ifndef DATE_H
#define DATE_H
#include <stddef.h>
#include <time.h>

#define DATE_LEN 64
/* "Sun, 22 Nov 2026 04:01:00 +0000" (UTC); returns length, NUL added */
size_t date_rfc5322(char *buf, time_t t);
/* same in local time with the real numeric offset */
size_t date_rfc5322_local(char *buf, time_t t);

#endif
