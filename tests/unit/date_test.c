/* date: RFC 5322 dates for known timestamps, in UTC and with negative,
 * half-hour and sub-hour offsets.  Expected strings were produced with GNU
 * date (year format aside: we print years without zero padding). */
#include <time.h>
#include "date.h"
#include "t.h"

static void test_utc(void)
{
  static const struct {
    long long t;
    const char *want;
  } v[] = {
    {0, "Thu, 1 Jan 1970 00:00:00 +0000"},
    {-1, "Wed, 31 Dec 1969 23:59:59 +0000"},
    {951782400, "Tue, 29 Feb 2000 00:00:00 +0000"},
    {1000000000, "Sun, 9 Sep 2001 01:46:40 +0000"},
    {1700000000, "Tue, 14 Nov 2023 22:13:20 +0000"},
    {2147483647, "Tue, 19 Jan 2038 03:14:07 +0000"},
    {2147483648LL, "Tue, 19 Jan 2038 03:14:08 +0000"},
    {253402300799LL, "Fri, 31 Dec 9999 23:59:59 +0000"},
    {253402300800LL, "Sat, 1 Jan 10000 00:00:00 +0000"},
    {67768036191676799LL, "Wed, 31 Dec 2147485547 23:59:59 +0000"}, /* the last gmtime takes */
    {-62135596800LL, "Mon, 1 Jan 1 00:00:00 +0000"},
    {-62167219200LL, "Sat, 1 Jan 0 00:00:00 +0000"},
    {-62167219201LL, "Fri, 31 Dec -1 23:59:59 +0000"},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char b[DATE_LEN];
    size_t n;
    memset(b, 'X', sizeof b);
    n = date_rfc5322(b, (time_t)v[i].t);
    EQ_STR(b, v[i].want, v[i].want);
    OK(n == strlen(b), "  length returned");
  }
  /* past what gmtime can represent: still a well-formed string */
  {
    char b[DATE_LEN];
    size_t n = date_rfc5322(b, (time_t)0x7fffffffffffffffLL);
    OK(n == strlen(b) && n < DATE_LEN && n > 20, "unrepresentable time: still a well-formed string");
  }
}

static void test_local(void)
{
  static const struct {
    const char *tz;
    long long t;
    const char *want;
  } v[] = {
    {"UTC0", 0, "Thu, 1 Jan 1970 00:00:00 +0000"},
    {"EST5", 0, "Wed, 31 Dec 1969 19:00:00 -0500"},
    {"IST-5:30", 0, "Thu, 1 Jan 1970 05:30:00 +0530"},
    {"NST3:30", 0, "Wed, 31 Dec 1969 20:30:00 -0330"},
    {"XXX0:30", 0, "Wed, 31 Dec 1969 23:30:00 -0030"},   /* negative, under an hour */
    {"XXX-0:30", 0, "Thu, 1 Jan 1970 00:30:00 +0030"},
    {"XXX-14", 0, "Thu, 1 Jan 1970 14:00:00 +1400"},
    {"XXX12", 0, "Wed, 31 Dec 1969 12:00:00 -1200"},
    {"Europe/Berlin", 1690000000, "Sat, 22 Jul 2023 06:26:40 +0200"},
    {"Europe/Berlin", 1700000000, "Tue, 14 Nov 2023 23:13:20 +0100"},
    {"America/St_Johns", 1690000000, "Sat, 22 Jul 2023 01:56:40 -0230"},
    {"America/St_Johns", 1700000000, "Tue, 14 Nov 2023 18:43:20 -0330"},
    {"Asia/Kathmandu", 1700000000, "Wed, 15 Nov 2023 03:58:20 +0545"},
    {"Europe/Amsterdam", -1500000000LL, "Tue, 20 Jun 1922 22:39:32 +0119"}, /* +01:19:32 */
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char b[DATE_LEN], name[96];
    size_t n;
    setenv("TZ", v[i].tz, 1);
    tzset();
    n = date_rfc5322_local(b, (time_t)v[i].t);
    snprintf(name, sizeof name, "%s: %s", v[i].tz, v[i].want);
    EQ_STR(b, v[i].want, name);
    OK(n == strlen(b), "  length returned");
  }
}

int main(void)
{
  test_utc();
  test_local();
  return t_done();
}
