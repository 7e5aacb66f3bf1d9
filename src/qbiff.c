/* qbiff: a .qmail helper.  Tells the user ($USER) on each terminal they
 * are logged in on (utmp) that mail has arrived, as qmail's qbiff does:
 *
 *   CR LF BEL "*** TO <$LOCAL> FROM <$SENDER>" CR LF
 *   "    " Subject value, then the start of the body; CR LF
 *
 * The second line is cut at 78 characters and shows each line end and
 * every other byte outside printable ASCII as '/'; the first shows such
 * bytes as '_'.  So a message cannot send escape sequences to a
 * terminal.  Only terminals that are character devices owned by the user
 * with the owner-execute bit set ("biff y") are written to.  Exits 0
 * at once when USER, LOCAL or SENDER is not set, and never fails a
 * delivery: always exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmpx.h>
#include "buf.h"
#include "die.h"
#include "proc.h"
#include "sa.h"

const char *PROG = "qbiff";

/* the width of the summary line */
#define TEXT_W 78
/* the longest line kept whole; the rest of a longer one is skipped (its
 * start already fills the summary, or it is a field we do not show) */
#define LINE_KEEP 65536

static sa_t note, text, ln;

/* where the next line of the message belongs */
static enum { AT_START, IN_FIELD, IN_BODY } phase = AT_START;
static bool in_subject; /* the field being read is Subject: */
static bool skipping;   /* still skipping the blanks after "Subject:" */

static void text_add(const char *s, size_t n)
{
  for (size_t i = 0; i < n && text.len < TEXT_W; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!sa_append(&text, c >= 32 && c <= 126 ? (char)c : '/')) _exit(0);
  }
}

/* the value of a Subject: field, from after its colon, across folds */
static void subject_add(const char *s, size_t n)
{
  if (skipping) {
    while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) s++, n--;
    if (n) skipping = false;
  }
  text_add(s, n);
}

/* a field name: something before a colon, blanks before the colon
 * aside, all of it printable ASCII other than space */
static bool field_valid(const char *s, size_t n)
{
  const char *c = memchr(s, ':', n);
  size_t j;
  if (!c) return false;
  j = (size_t)(c - s);
  while (j && (s[j - 1] == ' ' || s[j - 1] == '\t')) --j;
  if (!j) return false;
  for (size_t i = 0; i < j; i++)
    if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127) return false;
  return true;
}

static bool is_subject(const char *s, size_t n)
{
  size_t i = 7;
  if (n < 8 || strncasecmp(s, "subject", 7)) return false;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i < n && s[i] == ':';
}

/* one line of the message, its LF included */
static void take_line(const char *s, size_t n)
{
  if (phase == IN_BODY) {
    text_add(s, n);
    return;
  }
  if (phase == IN_FIELD && (s[0] == ' ' || s[0] == '\t')) {
    if (in_subject) subject_add(s, n);
    return;
  }
  in_subject = false;
  if (n == 1) { /* the empty line ending the header */
    phase = IN_BODY;
    text_add(s, n);
    return;
  }
  if (n >= 5 && !memcmp(s, "From ", 5)) { /* an mbox From_ line: a field */
    phase = IN_FIELD;
    return;
  }
  if (!field_valid(s, n)) { /* the body starts without an empty line */
    phase = IN_BODY;
    text_add("\n", 1);
    text_add(s, n);
    return;
  }
  phase = IN_FIELD;
  if (is_subject(s, n)) {
    const char *c = memchr(s, ':', n) + 1;
    in_subject = skipping = true;
    subject_add(c, n - (size_t)(c - s));
  }
}

/* reads the message until the summary is full; false on a read error */
static bool read_message(void)
{
  while (text.len < TEXT_W) {
    int r;
    ln.len = 0;
    r = buf_getln(buf0, &ln, '\n', LINE_KEEP);
    if (r == -1 && errno != E2BIG) return false;
    if (r == 0 && !ln.len) return true;
    if (r != 1 && !sa_append(&ln, '\n')) return false;
    take_line(ln.s, ln.len);
    if (r == 0) return true;
    if (r == -1) { /* a line too long to keep: skip its rest */
      int s;
      do {
        ln.len = 0;
        s = buf_getln(buf0, &ln, '\n', LINE_KEEP);
      } while (s == -1 && errno == E2BIG);
      if (s != 1) return s == 0;
    }
  }
  return true;
}

static void note_add(const char *s)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!sa_append(&note, c >= 32 && c <= 126 ? (char)c : '_')) _exit(0);
  }
}

static void tell(const char *line, size_t n)
{
  char path[5 + sizeof ((struct utmpx *)0)->ut_line + 1];
  struct stat a, b;
  int fd;
  if (n == 0 || line[0] == '/' || memmem(line, n, "..", 2)) return;
  memcpy(path, "/dev/", 5);
  memcpy(path + 5, line, n);
  path[5 + n] = 0;
  /* lstat, O_NOFOLLOW, then the same checks on what was opened: a symlink
   * or a file swapped in between never gets written */
  if (lstat(path, &a) == -1 || !S_ISCHR(a.st_mode)) return;
  if (a.st_uid != getuid() || !(a.st_mode & S_IXUSR)) return;
  fd = open(path, O_WRONLY | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1) return;
  if (fstat(fd, &b) == 0 && S_ISCHR(b.st_mode) && b.st_rdev == a.st_rdev &&
      b.st_uid == getuid() && (b.st_mode & S_IXUSR))
    (void)!write(fd, note.s, note.len); /* one try: a stuck tty is not our problem */
  close(fd);
}

int main(void)
{
  const char *user = env_get("USER"), *local = env_get("LOCAL"), *sender = env_get("SENDER");
  struct utmpx *u;
  if (!user || !*user || !local || !sender) return 0;
  if (!sa_cats(&text, "    ")) return 0;
  if (!read_message()) return 0;
  if (!sa_cats(&note, "\r\n\a*** TO <")) return 0;
  note_add(local);
  if (!sa_cats(&note, "> FROM <")) return 0;
  note_add(sender);
  if (!sa_cats(&note, ">\r\n") || !sa_cat(&note, &text) || !sa_cats(&note, "\r\n")) return 0;

  setutxent();
  while ((u = getutxent())) {
    size_t ul, ll;
    if (u->ut_type != USER_PROCESS) continue;
    ul = strnlen(u->ut_user, sizeof u->ut_user);
    if (ul != strlen(user) || memcmp(u->ut_user, user, ul)) continue;
    ll = strnlen(u->ut_line, sizeof u->ut_line);
    tell(u->ut_line, ll);
  }
  endutxent();
  return 0;
}
