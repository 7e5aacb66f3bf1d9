/* quote: see quote.h */
#include "quote.h"
#include <string.h>

/* atext of RFC 5322 3.2.3, and the dot */
static bool plain(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c && strchr("!#$%&'*+-/=?^_`{|}~.", c) != 0;
}

bool quote_need(const char *s, size_t n)
{
  size_t i;
  if (!n || s[0] == '.' || s[n - 1] == '.') return true;
  for (i = 0; i < n; ++i) {
    if (!plain((unsigned char)s[i])) return true;
    if (s[i] == '.' && i + 1 < n && s[i + 1] == '.') return true;
  }
  return false;
}

/* a CR or LF would end the header line the address is written into (an
 * envelope from bin/qmail-queue may hold any byte but NUL): '_' instead */
static bool put_safe(sa_t *out, char c) { return sa_append(out, c == '\r' || c == '\n' ? '_' : c); }

bool quote_addr(sa_t *out, const char *addr)
{
  const char *at = strrchr(addr, '@');
  size_t n = at ? (size_t)(at - addr) : strlen(addr), i;
  bool q = *addr && quote_need(addr, n);
  if (q && !sa_append(out, '"')) return false;
  for (i = 0; i < n; ++i) {
    char c = addr[i];
    /* as qmail quotes: CR and LF get a backslash too (then become '_') */
    if ((c == '"' || c == '\\' || c == '\r' || c == '\n') && !sa_append(out, '\\')) return false;
    if (!put_safe(out, c)) return false;
  }
  if (q && !sa_append(out, '"')) return false;
  for (i = n; addr[i]; ++i)
    if (!put_safe(out, addr[i])) return false;
  return true;
}
