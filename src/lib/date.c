#include "date.h"
#include <string.h>
#include "num.h"

static const char days[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static size_t put2(char *s, int v)
{
  s[0] = (char)('0' + v / 10 % 10);
  s[1] = (char)('0' + v % 10);
  return 2;
}

static size_t fmt(char *b, const struct tm *tm, long off)
{
  size_t n = 0;
  unsigned long a = off < 0 ? (unsigned long)-off : (unsigned long)off;
  memcpy(b, days + 3 * (tm->tm_wday % 7), 3); n += 3;
  b[n++] = ',';
  b[n++] = ' ';
  n += fmt_ulong(b + n, (unsigned long)tm->tm_mday);
  b[n++] = ' ';
  memcpy(b + n, months + 3 * (tm->tm_mon % 12), 3); n += 3;
  b[n++] = ' ';
  /* tm_year + 1900 overflows int for the largest times gmtime accepts;
   * years before 1 come out with a sign, years past 9999 with more digits */
  {
    long y = (long)tm->tm_year + 1900;
    if (y < 0) b[n++] = '-';
    n += fmt_ulong(b + n, y < 0 ? 0UL - (unsigned long)y : (unsigned long)y);
  }
  b[n++] = ' ';
  n += put2(b + n, tm->tm_hour);
  b[n++] = ':';
  n += put2(b + n, tm->tm_min);
  b[n++] = ':';
  n += put2(b + n, tm->tm_sec);
  b[n++] = ' ';
  b[n++] = off < 0 ? '-' : '+';
  n += put2(b + n, (int)(a / 3600 % 100));
  n += put2(b + n, (int)(a / 60 % 60));
  b[n] = 0;
  return n;
}

size_t date_rfc5322(char *b, time_t t)
{
  struct tm tm;
  if (!gmtime_r(&t, &tm)) { memcpy(b, "Thu, 1 Jan 1970 00:00:00 +0000", 31); return 30; }
  return fmt(b, &tm, 0);
}

size_t date_rfc5322_local(char *b, time_t t)
{
  struct tm tm;
  if (!localtime_r(&t, &tm)) return date_rfc5322(b, t);
  return fmt(b, &tm, tm.tm_gmtoff);
}
