#include "num.h"

size_t fmt_ulong(char *s, unsigned long u)
{
  size_t len = 1;
  unsigned long q = u;
  while (q > 9) { ++len; q /= 10; }
  if (s) {
    s += len;
    do { *--s = (char)('0' + u % 10); u /= 10; } while (u);
  }
  return len;
}

size_t fmt_ulong0(char *s, unsigned long u, size_t n)
{
  size_t len = fmt_ulong(0, u);
  size_t pad = len < n ? n - len : 0;
  if (s) {
    for (size_t i = 0; i < pad; i++) s[i] = '0';
    fmt_ulong(s + pad, u);
  }
  return pad + len;
}

size_t fmt_xlong(char *s, unsigned long u)
{
  size_t len = 1;
  unsigned long q = u;
  while (q > 15) { ++len; q /= 16; }
  if (s) {
    s += len;
    do { *--s = "0123456789abcdef"[u & 15]; u /= 16; } while (u);
  }
  return len;
}

size_t scan_ulong(const char *s, unsigned long *u)
{
  size_t pos = 0;
  unsigned long r = 0;
  while (s[pos] >= '0' && s[pos] <= '9') {
    if (__builtin_mul_overflow(r, 10UL, &r) ||
        __builtin_add_overflow(r, (unsigned long)(s[pos] - '0'), &r))
      return 0;
    ++pos;
  }
  if (pos) *u = r;
  return pos;
}

int scan_ulong_all(const char *s, unsigned long *u)
{
  size_t n = scan_ulong(s, u);
  return n > 0 && s[n] == 0;
}
