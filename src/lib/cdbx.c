#include "cdbx.h"
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int cdbx_lookup(const char *path, const char *key, size_t klen, sa_t *out)
{
  struct cdb c;
  int fd, r;
  if (klen > 0xffffffffu) { errno = EINVAL; return -1; }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return errno == ENOENT ? 0 : -1;
  if (cdb_init(&c, fd) != 0) { close(fd); errno = EINVAL; return -1; }
  r = cdb_find(&c, key, (unsigned)klen);
  if (r > 0 && out) {
    unsigned len = cdb_datalen(&c);
    if (!sa_ready(out, (size_t)len + 1)) r = -1;
    else if (cdb_read(&c, out->s, len, cdb_datapos(&c)) != 0) { errno = EIO; r = -1; }
    else { out->len = len; out->s[len] = 0; }
  } else if (r < 0) errno = EIO;
  cdb_free(&c);
  close(fd);
  return r > 0 ? 1 : r;
}
