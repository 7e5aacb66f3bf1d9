/* users: the users/assign -> users/cdb database (qmail-users(5)).
 *
 * users/assign holds lines
 *   =local:user:uid:gid:home:dash:ext:     one address (case-insensitive)
 *   +prefix:user:uid:gid:home:dash:pre:    every address starting with prefix
 * and ends with a line holding a single ".".  users/cdb, in the layout
 * qmail-newu has always written, maps
 *   "!" local "\0"  ->  user\0uid\0gid\0home\0dash\0ext   (exact entries)
 *   "!" prefix      ->  the same six fields                (wildcards)
 *   ""              ->  the set of last characters of all wildcard prefixes
 * with local and prefix lowercased (ASCII).  Lookup: exact key first, then
 * ever shorter prefixes (only those ending in a character of the set, and
 * finally the empty prefix); a wildcard hit gets the unmatched rest of the
 * address appended to its ext.  The first of two duplicate keys wins. */
#ifndef USERS_H
#define USERS_H
#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "sa.h"

#define USERS_CDB "users/cdb"
/* one assign line; a real line is < 200 bytes, the cap just bounds memory */
#define USERS_LINE_MAX 65536

struct users_entry {
  sa_t buf; /* holds the strings below */
  const char *user, *home, *dash, *ext;
  uid_t uid;
  gid_t gid;
};
#define USERS_ENTRY_INIT {SA_INIT, 0, 0, 0, 0, 0, 0}

/* looks local (len bytes, any case) up in USERS_CDB, relative to the
 * current directory (qmail-lspawn works in QMAILHOME).
 * 1 found (out filled), 0 not found or no users/cdb, -1 temporary error
 * (unreadable or corrupt cdb, out of memory; errno set). */
int users_lookup(const char *local, size_t len, struct users_entry *out);
int users_lookup_in(const char *cdbpath, const char *local, size_t len,
                    struct users_entry *out);
void users_entry_free(struct users_entry *);

/* compiling users/assign.  Format errors fill err; their texts are fixed
 * strings. */
typedef struct {
  unsigned long line; /* 1-based line of the error */
  const char *why;
} users_err_t;

/* reads assign text from in, writes the cdb to fd (opened for writing at
 * offset 0).  0 ok, -1 read/write/memory error (errno), -2 format error
 * (err filled).  Nothing is renamed here: see users_tmpfile. */
int users_compile(buf_t *in, int fd, users_err_t *err);

/* opens path (a ".tmp" name beside the final file) for an exclusive
 * rewrite: creates it mode 0644, takes an flock, makes sure the locked file
 * is still the one at path (a concurrent writer may have renamed it into
 * place meanwhile), truncates it.  The lock lasts until the fd is closed,
 * so two compilers never write into the same temporary file.
 * fd (O_RDWR) or -1 (errno). */
int users_tmpfile(const char *path);

/* fsync fd, close it, rename tmp to final, fsync the directory holding
 * final.  0 or -1 (errno); on -1 the caller should unlink tmp. */
int users_install(int fd, const char *tmp, const char *final);

/* after users/cdb or aliases.cdb changed: runs USERS_HOOK (relative to
 * QMAILHOME, the cwd) if it exists, so qmail-smtpd's recipient check sees
 * the change.  0 ran fine or no hook, 1 the hook failed, -1 error (errno) */
#define USERS_HOOK "bin/qmail-rcptcheck-rebuild"
int users_run_hook(void);

#endif
