/* smtp: see smtp.h */
#include "smtp.h"
#include <string.h>

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

size_t smtp_verb(const char *line, size_t len, const char **arg, size_t *alen)
{
  size_t v = 0, i;
  while (v < len && line[v] != ' ') ++v;
  i = v;
  while (i < len && line[i] == ' ') ++i;
  *arg = line + i;
  *alen = len - i;
  return v;
}

bool smtp_verb_is(const char *verb, size_t vlen, const char *word)
{
  size_t wl = strlen(word);
  if (vlen != wl) return false;
  for (size_t i = 0; i < wl; i++)
    if (lower(verb[i]) != lower(word[i])) return false;
  return true;
}

size_t smtp_last_at(const char *a, size_t len)
{
  size_t i = len;
  while (i > 0)
    if (a[--i] == '@') return i;
  return len;
}

/* appends c unless the address is full; control bytes are refused */
static int put(sa_t *addr, char c)
{
  unsigned char u = (unsigned char)c;
  if (u < 32 || u == 127) return SMTP_PATH_BADCHAR;
  if (addr->len >= SMTP_ADDR_MAX) return SMTP_PATH_TOOLONG;
  if (!sa_append(addr, c)) return SMTP_PATH_TOOLONG;
  return SMTP_PATH_OK;
}

int smtp_path(const char *arg, size_t len, const char *keyword, sa_t *addr, const char **params,
              size_t *plen)
{
  size_t kl = strlen(keyword), i;
  int r;
  addr->len = 0;
  if (len < kl) return SMTP_PATH_SYNTAX;
  for (i = 0; i < kl; i++)
    if (lower(arg[i]) != lower(keyword[i])) return SMTP_PATH_SYNTAX;
  while (i < len && arg[i] == ' ') ++i;
  if (i < len && arg[i] == '<') {
    bool quoted = false;
    ++i;
    /* a source route "@a,@b:" goes; the real address follows the colon */
    if (i < len && arg[i] == '@') {
      size_t j = i;
      while (j < len && arg[j] != ':' && arg[j] != '>' && arg[j] != '"' && arg[j] != '\\') ++j;
      if (j >= len || arg[j] != ':') return SMTP_PATH_SYNTAX;
      i = j + 1;
    }
    for (;; ++i) {
      if (i >= len) return SMTP_PATH_SYNTAX; /* no closing '>' */
      char c = arg[i];
      if (c == '\\') {
        if (++i >= len) return SMTP_PATH_SYNTAX;
        if ((r = put(addr, arg[i])) != SMTP_PATH_OK) return r;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '>' && !quoted) {
        ++i;
        break;
      } else if (c == '<' && !quoted) {
        return SMTP_PATH_SYNTAX;
      } else if ((r = put(addr, c)) != SMTP_PATH_OK) {
        return r;
      }
    }
    /* parameters are separated from the path by a space */
    if (i < len && arg[i] != ' ') return SMTP_PATH_SYNTAX;
  } else {
    /* a bare address, as old clients send: up to the next space */
    if (i >= len) return SMTP_PATH_SYNTAX;
    for (; i < len && arg[i] != ' '; ++i) {
      char c = arg[i];
      if (c == '<' || c == '>' || c == '"' || c == '\\') return SMTP_PATH_SYNTAX;
      if ((r = put(addr, c)) != SMTP_PATH_OK) return r;
    }
  }
  while (i < len && arg[i] == ' ') ++i;
  *params = arg + i;
  *plen = len - i;
  if (!sa_0(addr)) return SMTP_PATH_TOOLONG;
  --addr->len;
  return SMTP_PATH_OK;
}

void smtp_params_init(smtp_params_t *p, const char *s, size_t len)
{
  p->s = s;
  p->len = len;
  p->pos = 0;
}

int smtp_params_next(smtp_params_t *p, const char **key, size_t *klen, const char **val,
                     size_t *vlen)
{
  size_t i = p->pos, start;
  while (i < p->len && p->s[i] == ' ') ++i;
  if (i >= p->len) {
    p->pos = i;
    return 0;
  }
  start = i;
  while (i < p->len && p->s[i] != ' ' && p->s[i] != '=') ++i;
  *key = p->s + start;
  *klen = i - start;
  if (i < p->len && p->s[i] == '=') {
    start = ++i;
    while (i < p->len && p->s[i] != ' ') ++i;
    *val = p->s + start;
    *vlen = i - start;
  } else {
    *val = 0;
    *vlen = 0;
  }
  p->pos = i;
  return 1;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool smtp_ipv4_literal(const char *d, size_t len, char ip[16])
{
  size_t i = 1, n = 0;
  if (len < 9 || len > 17 || d[0] != '[' || d[len - 1] != ']') return false;
  for (int part = 0; part < 4; part++) {
    unsigned v = 0, digits = 0;
    while (i < len - 1 && is_digit(d[i])) {
      v = v * 10 + (unsigned)(d[i++] - '0');
      if (++digits > 3) return false;
    }
    if (!digits || v > 255) return false;
    if (part < 3) {
      if (i >= len - 1 || d[i] != '.') return false;
      ++i;
    }
  }
  if (i != len - 1) return false;
  n = len - 2;
  memcpy(ip, d + 1, n);
  ip[n] = 0;
  return true;
}

/* smtp_domain_ok with labels of at most maxlabel bytes */
static bool domain_ok(const char *d, size_t len, size_t maxlabel)
{
  size_t label = 0;
  if (len == 0 || len > 255) return false;
  if (d[0] == '[') {
    char ip[16];
    if (smtp_ipv4_literal(d, len, ip)) return true;
    if (len < 8 || len > 64 || memcmp(d, "[IPv6:", 6) != 0 || d[len - 1] != ']') return false;
    for (size_t i = 6; i < len - 1; i++) {
      char c = lower(d[i]);
      if (!is_digit(c) && !(c >= 'a' && c <= 'f') && c != ':' && c != '.') return false;
    }
    return true;
  }
  for (size_t i = 0; i < len; i++) {
    char c = lower(d[i]);
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (is_digit(c) || (c >= 'a' && c <= 'z') || c == '-' || c == '_') {
      if (++label > maxlabel) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

bool smtp_domain_ok(const char *d, size_t len) { return domain_ok(d, len, 63); }

/* RFC 5322 atext, plus '.' */
static bool atext(char c)
{
  if (is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z')) return true;
  return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != 0;
}

/* a sender's local part: atext and dots in any number and place, as
 * qmail takes them ("first.last.@", "a..b@" are real addresses at
 * Japanese mobile carriers; VERP and SRS make local parts far longer than
 * RFC 5321's 64 bytes).  What matters is the bytes: no control
 * characters, spaces, double quotes, parentheses, backslashes, ';', '<',
 * '>' or '@' ever reach $SENDER. */
static bool sender_local_ok(const char *a, size_t len)
{
  if (len == 0) return false;
  for (size_t i = 0; i < len; i++)
    if (!atext(a[i])) return false;
  return true;
}

bool smtp_sender_ok(const char *a, size_t len)
{
  size_t at;
  if (len == 0) return true;
  if (len > SMTP_ADDR_MAX) return false;
  at = smtp_last_at(a, len);
  if (at == len) return false;
  /* no RFC 1035 label limit either: the domain is only a name here */
  return sender_local_ok(a, at) && domain_ok(a + at + 1, len - at - 1, 255);
}

bool smtp_sender_unqualified_ok(const char *a, size_t len)
{
  if (len > SMTP_ADDR_MAX || smtp_last_at(a, len) != len) return false;
  return sender_local_ok(a, len);
}

const char *smtp_relay_trick(const char *a, size_t len)
{
  size_t at = smtp_last_at(a, len);
  if (at == len) {
    if (smtp_verb_is(a, len, "postmaster")) return 0;
    return "address without a domain";
  }
  if (at == 0) return "empty local part";
  for (size_t i = 0; i < at; i++) {
    if (a[i] == '@') return "more than one @";
    if (a[i] == '%') return "% in the local part";
    if (a[i] == '!') return "! in the local part";
  }
  if (!smtp_domain_ok(a + at + 1, len - at - 1)) return "malformed domain";
  return 0;
}
