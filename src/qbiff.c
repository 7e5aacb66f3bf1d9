/* qbiff: a .qmail helper.  Tells the recipient ($USER) on each terminal
 * they are logged in on (utmp) that mail has arrived, with the From and
 * Subject lines, but only on terminals that are character devices owned
 * by the user with the owner-execute bit set ("biff y").  Everything
 * written is made printable, so a message cannot send escape sequences to
 * a terminal.  Never fails a delivery: always exits 0. */
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

/* how much of the message we look at, and how wide a summary line gets */
#define HEAD_MAX 8192
#define LINE_W 78

static sa_t note;

/* appends up to max bytes of s, each unprintable one as '?' */
static void clean(const char *s, size_t n, size_t max)
{
  for (size_t i = 0; i < n && i < max; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!sa_append(&note, c >= 32 && c < 127 ? (char)c : (c == '\t' ? ' ' : '?'))) _exit(0);
  }
}

/* one header line, cut at LINE_W characters */
static void add(const char *s, size_t n)
{
  clean(s, n, LINE_W);
  if (!sa_cats(&note, "\r\n")) _exit(0);
}

/* the From: and Subject: lines of the header read so far */
static void summary(const char *h, size_t n)
{
  size_t i = 0;
  while (i < n) {
    const char *nl = memchr(h + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - h) : n;
    if (end == i) break; /* end of header */
    if (end - i >= 5 && strncasecmp(h + i, "from:", 5) == 0) add(h + i, end - i);
    else if (end - i >= 8 && strncasecmp(h + i, "subject:", 8) == 0) add(h + i, end - i);
    i = end + 1;
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
  const char *user = env_get("USER"), *rcpt = env_get("RECIPIENT"), *sender = env_get("SENDER");
  char head[HEAD_MAX];
  size_t n = 0;
  struct utmpx *u;
  if (!user || !*user) return 0;
  while (n < sizeof head) {
    ssize_t r = read(0, head + n, sizeof head - n);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  if (!rcpt) rcpt = user;
  if (!sender) sender = "";
  if (!sa_cats(&note, "\r\n*** TO <")) return 0;
  clean(rcpt, strlen(rcpt), LINE_W);
  if (!sa_cats(&note, "> FROM <")) return 0;
  clean(sender, strlen(sender), LINE_W);
  if (!sa_cats(&note, ">\r\n")) return 0;
  summary(head, n);

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
