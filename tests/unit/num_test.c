/* num: decimal/hex formatting and scanning, edges and overflow. */
#include <limits.h>
#include "num.h"
#include "t.h"

static void test_fmt(void)
{
  static const struct {
    unsigned long u;
    const char *dec, *hex;
  } t[] = {
    {0, "0", "0"},
    {1, "1", "1"},
    {9, "9", "9"},
    {10, "10", "a"},
    {15, "15", "f"},
    {16, "16", "10"},
    {255, "255", "ff"},
    {1000000, "1000000", "f4240"},
    {4294967295UL, "4294967295", "ffffffff"},
    {ULONG_MAX, "18446744073709551615", "ffffffffffffffff"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char b[FMT_ULONG + 1];
    size_t n;
    memset(b, 'X', sizeof b);
    n = fmt_ulong(b, t[i].u);
    EQ_MEM(b, n, t[i].dec, strlen(t[i].dec), t[i].dec);
    OK(b[n] == 'X', "fmt_ulong writes nothing past its length");
    EQ_INT(fmt_ulong(0, t[i].u), strlen(t[i].dec), "fmt_ulong(0) counts");
    n = fmt_xlong(b, t[i].u);
    EQ_MEM(b, n, t[i].hex, strlen(t[i].hex), t[i].hex);
    EQ_INT(fmt_xlong(0, t[i].u), strlen(t[i].hex), "fmt_xlong(0) counts");
  }
  OK(fmt_ulong(0, ULONG_MAX) < FMT_ULONG, "FMT_ULONG is enough for ULONG_MAX");
}

static void test_fmt0(void)
{
  static const struct {
    unsigned long u;
    size_t width;
    const char *want;
  } t[] = {
    {0, 0, "0"}, {0, 1, "0"}, {0, 3, "000"}, {7, 2, "07"},
    {123, 2, "123"}, {123, 3, "123"}, {123, 6, "000123"},
    {ULONG_MAX, 22, "0018446744073709551615"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char b[64];
    size_t n = fmt_ulong0(b, t[i].u, t[i].width);
    EQ_MEM(b, n, t[i].want, strlen(t[i].want), t[i].want);
    EQ_INT(fmt_ulong0(0, t[i].u, t[i].width), n, "fmt_ulong0(0) counts");
  }
}

static void test_scan(void)
{
  static const struct {
    const char *s;
    size_t used;      /* 0: nothing scanned, *u untouched */
    unsigned long u;
    int all;          /* scan_ulong_all result */
  } t[] = {
    {"0", 1, 0, 1},
    {"42", 2, 42, 1},
    {"007", 3, 7, 1},
    {"12abc", 2, 12, 0},
    {"12 ", 2, 12, 0},
    {"", 0, 0, 0},
    {"abc", 0, 0, 0},
    {"-1", 0, 0, 0},
    {"+1", 0, 0, 0},
    {" 1", 0, 0, 0},
    {"4294967296", 10, 4294967296UL, 1},
    {"18446744073709551615", 20, ULONG_MAX, 1},
    {"000000000000000000000018446744073709551615", 42, ULONG_MAX, 1},
    {"18446744073709551616", 0, 0, 0},   /* ULONG_MAX + 1 */
    {"18446744073709551620", 0, 0, 0},   /* overflow in the last add */
    {"28446744073709551615", 0, 0, 0},   /* overflow in the multiply */
    {"99999999999999999999999", 0, 0, 0},
    {"184467440737095516150", 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    unsigned long u = 4242;
    char name[128];
    size_t n = scan_ulong(t[i].s, &u);
    snprintf(name, sizeof name, "scan_ulong \"%s\"", t[i].s);
    OK(n == t[i].used && u == (t[i].used ? t[i].u : 4242), name);
    u = 4242;
    snprintf(name, sizeof name, "scan_ulong_all \"%s\"", t[i].s);
    OK(scan_ulong_all(t[i].s, &u) == t[i].all && (!t[i].all || u == t[i].u), name);
  }
}

/* what fmt writes, scan reads back */
static void test_roundtrip(void)
{
  int bad = 0;
  for (unsigned long u = 1, k = 0; k < 64; k++, u = u * 3 + k) {
    char b[FMT_ULONG + 1];
    unsigned long v = 0;
    b[fmt_ulong(b, u)] = 0;
    if (!scan_ulong_all(b, &v) || v != u) ++bad;
  }
  EQ_INT(bad, 0, "fmt/scan round trip");
}

int main(void)
{
  test_fmt();
  test_fmt0();
  test_scan();
  test_roundtrip();
  return t_done();
}
