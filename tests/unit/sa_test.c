/* sa: growth, copies, numbers, and the overflow guards.  The qmail bugs of
 * 2005 (CVE-2005-1513..1515) and 2020 (Qualys) came from a length + n that
 * wrapped on 64-bit machines; here we show every route to that sum refuses
 * instead of wrapping, without needing gigabytes of memory: a fake sa_t
 * claims a huge length, and the guard must fire before any byte moves. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include "sa.h"
#include "t.h"

static void test_grow_size(void)
{
  static const struct {
    size_t have, more;
    int ok;
    const char *name;
  } t[] = {
    {0, 0, 1, "0+0"},
    {0, 1, 1, "0+1"},
    {100, 100, 1, "small"},
    {SA_MAX - 1, 1, 1, "exactly SA_MAX"},
    {SA_MAX, 1, 0, "one past SA_MAX"},
    {0, SA_MAX + 1, 0, "more > SA_MAX"},
    {UINT_MAX, 1, 0, "4 GiB (the 2020 size)"},
    {(size_t)INT_MAX + 1, 0, 0, "2 GiB (the 2005 size)"},
    {SIZE_MAX, 1, 0, "SIZE_MAX + 1 wraps to 0"},
    {1, SIZE_MAX, 0, "1 + SIZE_MAX wraps to 0"},
    {SIZE_MAX - 10, 20, 0, "near SIZE_MAX wraps to 9"},
    {SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 1, 0, "two halves wrap"},
    {SIZE_MAX, SIZE_MAX, 0, "SIZE_MAX + SIZE_MAX"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    size_t cap = 12345;
    bool r = sa_grow_size(t[i].have, t[i].more, &cap);
    char name[128];
    snprintf(name, sizeof name, "grow_size %s: %s", t[i].name, t[i].ok ? "ok" : "refused");
    if (t[i].ok)
      OK(r && cap >= t[i].have + t[i].more && cap <= SA_MAX, name);
    else
      OK(!r && cap == 12345, name);
  }
  /* property: whenever growth succeeds, the capacity covers the request
   * and stays within SA_MAX (checked on a spread of sizes) */
  {
    int bad = 0;
    for (size_t h = 1; h && h <= SIZE_MAX / 2; h <<= 1)
      for (size_t m = 1; m && m <= SIZE_MAX / 2; m <<= 1) {
        size_t cap, need;
        if (!sa_grow_size(h - 1, m, &cap)) {
          if (!__builtin_add_overflow(h - 1, m, &need) && need <= SA_MAX) ++bad;
          continue;
        }
        if (cap < h - 1 + m || cap > SA_MAX) ++bad;
      }
    EQ_INT(bad, 0, "grow_size: cap >= need and <= SA_MAX across all powers of two");
  }
}

static void test_huge(void)
{
  char small[64] = "intact";
  sa_t x = SA_INIT;
  /* a real small string: a huge readyplus fails, string untouched */
  OK(sa_copys(&x, "hello"), "copys hello");
  {
    char *s = x.s;
    size_t a = x.a;
    static const size_t huge[] = {SA_MAX, SA_MAX + 1, UINT_MAX, SIZE_MAX - 4, SIZE_MAX};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
      errno = 0;
      OK(!sa_readyplus(&x, huge[i]) && errno == ENOMEM, "readyplus huge fails with ENOMEM");
      OK(x.s == s && x.a == a && x.len == 5 && memcmp(x.s, "hello", 6) == 0, "string intact");
    }
    errno = 0;
    OK(!sa_ready(&x, SA_MAX + 1) && errno == ENOMEM, "ready(SA_MAX+1) fails with ENOMEM");
    errno = 0;
    OK(!sa_catb(&x, "x", SIZE_MAX) && errno == ENOMEM, "catb of SIZE_MAX bytes fails");
    OK(sa_equals(&x, "hello"), "still hello");
  }
  sa_free(&x);

  /* fake strings that claim to be at the limit: any append must fail
   * before touching memory (the buffer is only 64 bytes) */
  {
    static const size_t lens[] = {SA_MAX, SA_MAX - 1, UINT_MAX, SIZE_MAX - 1, SIZE_MAX};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
      sa_t f = {small, lens[i], lens[i]};
      errno = 0;
      OK(!sa_catb(&f, "ab", 2) && errno == ENOMEM, "append to a huge string fails");
      OK(!sa_append(&f, 'c') && !sa_0(&f) && !sa_catulong(&f, 1), "append/0/catulong fail");
      OK(!sa_readyplus(&f, 2) && !sa_readyplus(&f, SIZE_MAX), "readyplus fails");
      OK(f.len == lens[i] && f.s == small && strcmp(small, "intact") == 0, "fake string untouched");
    }
  }
}

static void test_basic(void)
{
  sa_t x = SA_INIT, y = SA_INIT;
  OK(sa_copys(&x, "abc") && x.len == 3 && x.s[3] == 0, "copys");
  OK(sa_cats(&x, "def") && sa_equals(&x, "abcdef"), "cats");
  OK(sa_catb(&x, "\0z", 2) && x.len == 8 && memcmp(x.s, "abcdef\0z", 8) == 0, "catb with NUL");
  OK(sa_copyb(&x, "", 0) && x.len == 0 && sa_equals(&x, ""), "copyb empty");
  OK(sa_append(&x, 'Q') && sa_0(&x) && x.len == 2 && x.s[1] == 0, "append + 0 counts the NUL");
  OK(sa_copys(&y, "XyZ") && sa_copy(&x, &y) && sa_equals(&x, "XyZ"), "copy");
  OK(sa_cat(&x, &y) && sa_equals(&x, "XyZXyZ"), "cat");
  sa_lower(&x);
  OK(sa_equals(&x, "xyzxyz"), "lower");
  OK(sa_starts(&x, "xyz") && sa_starts(&x, "") && !sa_starts(&x, "xyzxyzx") && !sa_starts(&x, "y"),
     "starts");
  OK(!sa_equals(&x, "xyzxy") && !sa_equals(&x, "xyzxyzz"), "equals needs whole string");

  /* an empty, never allocated string compares without touching s */
  {
    sa_t e = SA_INIT;
    OK(sa_equals(&e, "") && sa_starts(&e, "") && !sa_starts(&e, "a"), "empty SA_INIT compares");
    sa_free(&e);
  }

  /* growth: many appends keep every byte and the terminator */
  {
    int good = 1;
    x.len = 0;
    for (int i = 0; i < 100000; i++)
      if (!sa_append(&x, (char)('a' + i % 26))) good = 0;
    for (size_t i = 0; i < x.len; i++)
      if (x.s[i] != (char)('a' + i % 26)) good = 0;
    OK(good && x.len == 100000 && x.a > x.len && x.s[x.len] == 0, "100000 appends");
  }

  /* appending a fresh string to itself, which makes realloc move it */
  {
    sa_t z = SA_INIT;
    int good;
    OK(sa_copys(&z, "0123456789"), "copys digits");
    for (int i = 0; i < 12; i++)
      if (!sa_cat(&z, &z)) break;
    good = z.len == 10 << 12;
    for (size_t i = 0; good && i < z.len; i++) good = z.s[i] == (char)('0' + i % 10);
    OK(good, "sa_cat(x, x) doubles correctly across reallocs");
    sa_free(&z);
  }
  OK(sa_copys(&x, "0123456789") && sa_copyb(&x, x.s + 3, 4) && sa_equals(&x, "3456"),
     "copyb from inside itself");
  OK(sa_catb(&x, x.s + 1, 2) && sa_equals(&x, "345645"), "catb from inside itself");

  /* ready does not lose content */
  OK(sa_copys(&x, "keep") && sa_ready(&x, 100000) && x.a >= 100000 && sa_equals(&x, "keep"),
     "ready grows, keeps content");
  OK(sa_ready(&x, 1) && sa_equals(&x, "keep"), "ready smaller is a no-op");
  sa_free(&x);
  OK(x.s == 0 && x.len == 0 && x.a == 0, "free resets");
  sa_free(&x);
  OK(1, "free twice is harmless");
  sa_free(&y);
}

static void test_numbers(void)
{
  static const struct {
    long v;
    const char *s;
  } sl[] = {
    {0, "0"}, {7, "7"}, {10, "10"}, {-1, "-1"}, {-10, "-10"},
    {LONG_MAX, "9223372036854775807"}, {LONG_MIN, "-9223372036854775808"},
  };
  static const struct {
    unsigned long v;
    const char *s;
  } ul[] = {
    {0, "0"}, {9, "9"}, {10, "10"}, {99, "99"}, {100, "100"}, {4294967295UL, "4294967295"},
    {4294967296UL, "4294967296"}, {ULONG_MAX, "18446744073709551615"},
  };
  sa_t x = SA_INIT;
  for (size_t i = 0; i < sizeof ul / sizeof ul[0]; i++) {
    x.len = 0;
    OK(sa_catulong(&x, ul[i].v) && sa_equals(&x, ul[i].s), ul[i].s);
  }
  for (size_t i = 0; i < sizeof sl / sizeof sl[0]; i++) {
    x.len = 0;
    OK(sa_catlong(&x, sl[i].v) && sa_equals(&x, sl[i].s), sl[i].s);
  }
  OK(sa_copys(&x, "n=") && sa_catulong(&x, 42) && sa_cats(&x, ",") && sa_catlong(&x, -42) &&
     sa_equals(&x, "n=42,-42"), "numbers append");
  sa_free(&x);
}

int main(void)
{
  test_grow_size();
  test_huge();
  test_basic();
  test_numbers();
  return t_done();
}
