/* users: see users.h */
#include "users.h"
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h> /* rename only */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fdio.h"
#include "proc.h"
#include "num.h"

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* a decimal id that fits uid_t/gid_t and is not (id_t)-1 */
static int scan_id(const char *s, size_t len, unsigned long *u)
{
  unsigned long v = 0;
  if (len == 0 || len > 10) return 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v >= UINT32_MAX) return 0;
  *u = v;
  return 1;
}

void users_entry_free(struct users_entry *e)
{
  sa_free(&e->buf);
  e->user = e->home = e->dash = e->ext = 0;
}

/* buf holds the six fields separated by NULs (5 NULs, or 6 with a
 * trailing one) and a final NUL we added; set the pointers */
static int split(struct users_entry *e)
{
  const char *f[6];
  size_t n = 0, i, start = 0;
  unsigned long u;
  char *s = e->buf.s;
  size_t len = e->buf.len - 1; /* without our terminator */
  for (i = 0; i <= len && n < 6; i++)
    if (s[i] == 0) {
      f[n++] = s + start;
      start = i + 1;
    }
  /* the sixth field (ext) ends at our terminator: anything beyond
   * would be an extra field */
  if (n != 6 || i != len + 1) { errno = EPROTO; return -1; }
  if (!scan_id(f[1], strlen(f[1]), &u)) { errno = EPROTO; return -1; }
  e->uid = (uid_t)u;
  if (!scan_id(f[2], strlen(f[2]), &u)) { errno = EPROTO; return -1; }
  e->gid = (gid_t)u;
  e->user = f[0];
  e->home = f[3];
  e->dash = f[4];
  e->ext = f[5];
  return 0;
}

/* value at the current cdb position plus tail (the unmatched part of the
 * address for wildcard hits), normalised to exactly six NUL-ended fields */
static int take(struct cdb *c, const char *tail, size_t tlen, struct users_entry *e)
{
  unsigned dlen = cdb_datalen(c);
  size_t need;
  e->buf.len = 0;
  if (__builtin_add_overflow((size_t)dlen, tlen, &need) ||
      __builtin_add_overflow(need, (size_t)1, &need)) { errno = ENOMEM; return -1; }
  if (!sa_ready(&e->buf, need)) return -1;
  if (cdb_read(c, e->buf.s, dlen, cdb_datapos(c)) != 0) { errno = EIO; return -1; }
  e->buf.len = dlen;
  /* qmail-newu drops the separator after ext; tolerate one anyway */
  {
    size_t nul = 0;
    for (size_t i = 0; i < e->buf.len; i++) nul += e->buf.s[i] == 0;
    if (nul == 6 && e->buf.len && e->buf.s[e->buf.len - 1] == 0) --e->buf.len;
  }
  memcpy(e->buf.s + e->buf.len, tail, tlen);
  e->buf.len += tlen;
  e->buf.s[e->buf.len++] = 0;
  if (memchr(tail, 0, tlen)) { errno = EPROTO; return -1; }
  return split(e);
}

int users_lookup_in(const char *path, const char *local, size_t len, struct users_entry *out)
{
  struct cdb c;
  sa_t key = SA_INIT, wild = SA_INIT;
  int fd, r, ret = -1, e;
  size_t i;
  if (len > 0xfffffff0u) { errno = ENAMETOOLONG; return -1; }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return errno == ENOENT ? 0 : -1;
  if (cdb_init(&c, fd) != 0) { close(fd); errno = EPROTO; return -1; }

  /* the set of wildcard end characters: a cdb without it was not made by
   * a compiler of ours, so treat it as trouble rather than guess */
  r = cdb_find(&c, "", 0);
  if (r <= 0) { errno = r == 0 ? EPROTO : EIO; goto done; }
  if (!sa_ready(&wild, cdb_datalen(&c) + (size_t)1)) goto done;
  if (cdb_read(&c, wild.s, cdb_datalen(&c), cdb_datapos(&c)) != 0) { errno = EIO; goto done; }
  wild.len = cdb_datalen(&c);

  if (!sa_ready(&key, len + 2)) goto done;
  key.s[0] = '!';
  for (i = 0; i < len; i++) key.s[i + 1] = lower(local[i]);
  key.s[len + 1] = 0;

  /* exact: "!local\0" */
  r = cdb_find(&c, key.s, (unsigned)(len + 2));
  if (r < 0) { errno = EIO; goto done; }
  if (r > 0) { ret = take(&c, "", 0, out) == 0 ? 1 : -1; goto done; }

  /* wildcards: "!" plus the first i bytes, longest first; the empty
   * prefix ("+:" catch-all) is always tried */
  for (i = len + 1; i-- > 0;) {
    if (i > 0 && !memchr(wild.s, key.s[i], wild.len)) continue;
    r = cdb_find(&c, key.s, (unsigned)(i + 1));
    if (r < 0) { errno = EIO; goto done; }
    if (r > 0) { ret = take(&c, local + i, len - i, out) == 0 ? 1 : -1; goto done; }
  }
  ret = 0;
done:
  e = errno;
  cdb_free(&c);
  close(fd);
  sa_free(&key);
  sa_free(&wild);
  errno = e;
  return ret;
}

int users_lookup(const char *local, size_t len, struct users_entry *out)
{
  return users_lookup_in(USERS_CDB, local, len, out);
}

/* ---- compiling ---- */

#define FAIL(msg) do { err->why = (msg); ret = -2; goto done; } while (0)

int users_compile(buf_t *in, int fd, users_err_t *err)
{
  struct cdb_make cm;
  sa_t line = SA_INIT, key = SA_INIT, data = SA_INIT, wild = SA_INIT;
  int ret = -1, finished = 0;
  err->line = 0;
  err->why = "";
  if (cdb_make_start(&cm, fd) != 0) return -1;
  for (;;) {
    size_t colon[8], nc = 0, i;
    unsigned long id;
    int r;
    ++err->line;
    line.len = 0;
    r = buf_getln(in, &line, '\n', USERS_LINE_MAX);
    if (r == -1) {
      if (errno == E2BIG) FAIL("line too long");
      goto done;
    }
    if (r == 1) --line.len;
    else if (line.len == 0) FAIL("missing final line with a single dot (truncated file?)");
    /* any line starting with a dot ends the file, as in qmail-newu;
     * qmail ignores whatever follows, and so do we */
    if (line.len && line.s[0] == '.') break;
    if (r == 0) FAIL("missing final line with a single dot (truncated file?)");
    if (memchr(line.s, 0, line.len)) FAIL("NUL byte in line");
    if (line.len == 0 || (line.s[0] != '=' && line.s[0] != '+'))
      FAIL("line must start with = or +");
    /* up to the colon that ends ext; qmail-newu ignores what follows it */
    for (i = 1; i < line.len && nc < 7; i++)
      if (line.s[i] == ':') colon[nc++] = i;
    if (nc != 7) FAIL("too few fields (want =local:user:uid:gid:home:dash:ext:)");
    if (colon[1] == colon[0] + 1) FAIL("empty user name");
    if (!scan_id(line.s + colon[1] + 1, colon[2] - colon[1] - 1, &id)) FAIL("uid is not a number");
    if (id == 0) FAIL("uid 0: root never receives mail");
    if (!scan_id(line.s + colon[2] + 1, colon[3] - colon[2] - 1, &id)) FAIL("gid is not a number");
    if (line.s[colon[3] + 1] != '/') FAIL("home directory is not an absolute path");

    key.len = 0;
    if (!sa_append(&key, '!') || !sa_catb(&key, line.s + 1, colon[0] - 1)) goto done;
    for (i = 1; i < key.len; i++) key.s[i] = lower(key.s[i]);
    if (line.s[0] == '=') {
      if (!sa_0(&key)) goto done;
    } else if (key.len > 1 && !memchr(wild.s ? wild.s : "", key.s[key.len - 1], wild.len)) {
      if (!sa_append(&wild, key.s[key.len - 1])) goto done;
    }
    /* the six fields, NUL-separated, without the final separator */
    if (!sa_copyb(&data, line.s + colon[0] + 1, colon[6] - colon[0] - 1)) goto done;
    for (i = 0; i < data.len; i++) if (data.s[i] == ':') data.s[i] = 0;
    if (key.len > 0xffffffu || data.len > 0xffffffu) FAIL("line too long");
    if (cdb_make_add(&cm, key.s, (unsigned)key.len, data.s, (unsigned)data.len) != 0) goto done;
  }
  if (cdb_make_add(&cm, "", 0, wild.s ? wild.s : "", (unsigned)wild.len) != 0) goto done;
  finished = 1;
  if (cdb_make_finish(&cm) != 0) goto done;
  ret = 0;
done:
  {
    int e = errno;
    /* finishing frees libcdb's tables; the output is discarded anyway */
    if (!finished) (void)cdb_make_finish(&cm);
    sa_free(&line);
    sa_free(&key);
    sa_free(&data);
    sa_free(&wild);
    errno = e;
  }
  return ret;
}

int users_tmpfile(const char *path)
{
  for (int tries = 0; tries < 100; tries++) {
    struct stat a, b;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd == -1) return -1;
    if (lock_ex(fd) == -1 || fstat(fd, &a) == -1) goto fail;
    if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      if (!S_ISREG(a.st_mode)) { errno = EINVAL; goto fail; }
      if (ftruncate(fd, 0) == -1 || fchmod(fd, 0644) == -1) goto fail;
      return fd;
    }
    close(fd); /* renamed away under us: take the new one */
    continue;
  fail:
    {
      int e = errno;
      close(fd);
      errno = e;
    }
    return -1;
  }
  errno = EAGAIN;
  return -1;
}

int users_install(int fd, const char *tmp, const char *final)
{
  if (fsync(fd) == -1) { int e = errno; close(fd); errno = e; return -1; }
  /* rename while still holding the lock, so a waiting compiler sees the
   * inode change and starts over with a fresh file */
  if (rename(tmp, final) == -1) { int e = errno; close(fd); errno = e; return -1; }
  if (close(fd) == -1) return -1;
  return fsync_parent(final);
}

int users_run_hook(void)
{
  int wstat;
  pid_t pid;
  if (access(USERS_HOOK, X_OK) == -1) return errno == ENOENT ? 0 : -1;
  pid = fork();
  if (pid == -1) return -1;
  if (pid == 0) {
    const char *args[] = {USERS_HOOK, 0};
    execv(USERS_HOOK, (char *const *)args);
    _exit(111);
  }
  if (wait_pid(pid, &wstat) == -1) return -1;
  return wait_code(wstat) == 0 ? 0 : 1;
}
