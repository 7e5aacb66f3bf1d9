/* rcpt: the recipient-validation database (qmail-rcptcheck-rebuild(8)).
 *
 * users/rcptcheck.cdb says, for a local part, which account local
 * delivery gives it to and whether that account's .qmail files (or
 * aliases) take it.  Delivery picks ONE owner, in this order:
 *   1. users/cdb: the exact entry, else the longest wildcard prefix (the
 *      empty prefix, "+:", matches everything);
 *   2. the password database, as qmail-getpw decides: the longest prefix
 *      of the local part ending at a conf-break character (or all of it)
 *      that names an account it accepts;
 *   3. the alias account, with the whole local part as its extension;
 * and only the owner's .qmail files decide.  So the cdb holds ownership
 * keys, each naming an account by a number (id), and per account the
 * names of its .qmail files.  Keys (ids in decimal):
 *   "V"            RCPT_VERSION, the format; a cdb without it (an older
 *                  build) is not trusted: everything is accepted
 *   "T"            when the build started, in decimal seconds
 *   "S"            what can give a local part owned by nobody (or by the
 *                  alias account) an owner: entries of a status byte ('+'
 *                  it existed at build time, '-' it did not), a path and
 *                  a NUL (users/cdb, users/aliases.cdb, QMAILHOME/alias;
 *                  new accounts are looked for in /etc/passwd itself)
 *   "u=" local     users/cdb exact entry (lower case) -> id "\0" ext
 *   "u+" prefix    users/cdb wildcard (lower case; "u+" alone: "+:")
 *                  -> id "\0" pre (the extension is pre + the rest)
 *   "u"            the set of last bytes of the non-empty "u+" prefixes
 *   "p" name       an account qmail-getpw accepts (lower case) -> id
 *   "A"            the alias account -> id
 *   "h" name       an account qmail-getpw did not take for its home
 *                  (missing, or not its own) -> uid ":" home; once the
 *                  home is the uid's, the account takes its names
 *   "a" id ":"     the account: flags (RCPT_ALL: it takes every
 *                  extension, since its dash is empty or its .qmail
 *                  names could not be listed; RCPT_ALIAS: it is the alias
 *                  user, so users/aliases.cdb names count), NUL, the
 *                  directory its .qmail names were listed from
 *   "n" id ":" x   the account has the file ".qmail" dash x
 *   "L" x          x is a name in users/aliases.cdb
 * Names x are "mapped": ASCII lower case, with '.' and '/' turned into ':'
 * (as qmail-local turns an extension into a .qmail file name).  Mapping
 * may merge names ("a.b" and "a:b"), which can only make the check accept
 * more, never refuse a deliverable address.
 *
 * The lookup then does what qmail-local does with the owner's extension
 * ext: ".qmail" dash ext; for the alias user, the aliases.cdb entry ext;
 * then the -default files, from the longest prefix of ext ending at '-' or
 * a conf-break character down to ".qmail" dash "default".  The basic
 * address of a password-database account (no extension, empty dash) is
 * always deliverable (the default delivery).
 *
 * The cdb is a snapshot, but qmail delivers to a new .qmail file at once.
 * So before refusing, the lookup stat()s (as the caller, unprivileged)
 * the owner's directory, and for an owner that is the alias account or
 * nobody the "S" paths: if one changed since the build started (mtime >=
 * "T", in seconds, so a change in the same second counts), or cannot be
 * stat()ed, the recipient is accepted.  Creating a .qmail file changes
 * its directory's mtime.  A sticky or world-writable owner's directory
 * (delivery waits) counts as changed.  For an owner from the password
 * database, an account added since whose name is a longer prefix is
 * looked for too, and so are "h" accounts whose home became theirs. */
#ifndef RCPT_H
#define RCPT_H
#include <cdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "sa.h"

#define RCPT_CDB "users/rcptcheck.cdb"
#define RCPT_VERSION "2"
#define RCPT_ALL 'A'
#define RCPT_ALIAS 'L'
/* qmail-getpw's limit on account names */
#define RCPT_NAME_MAX 31

/* the mapping described above, in place */
void rcpt_map(char *s, size_t len);

enum {
  RCPT_NO = 0,  /* the owner has nothing for it (or nobody owns it) */
  RCPT_YES = 1, /* deliverable */
  RCPT_OLD = 2, /* accepted: the cdb is not in RCPT_VERSION's format */
  RCPT_STALE = 3 /* accepted: not in the cdb, but something it was made
                  * from changed since (its path in *changed) */
};
/* looks the local part (any case, unmapped) up in the cdb at path.
 * One of the above, or -1 error (errno; ENOENT: no cdb).  changed gets a
 * NUL-terminated path for RCPT_STALE. */
int rcpt_lookup(const char *path, const char *local, size_t len, sa_t *changed);

/* where the files ".qmail" dash X of home live: dir gets home and, if
 * dash holds a '/', ".qmail" and the dash up to its last '/' (dash "-/":
 * home/.qmail-, with files such as home/.qmail-/foo); prefix gets what
 * begins each file name there (".qmail" dash, or the dash after its last
 * '/').  Both NUL-terminated (the NUL not counted).  1, or 0 (ENOMEM). */
int rcpt_qmail_dir(const char *home, const char *dash, sa_t *dir, sa_t *prefix);

/* writing the cdb.  The owner functions give the new account an id and
 * return 1, or 0 if an earlier entry already owns that key (delivery
 * takes the first: nothing to add), or -1 on a write error.  Then
 * rcpt_make_account and rcpt_make_name describe the account. */
typedef struct {
  struct cdb_make cm;
  unsigned long nextid;
  unsigned char lastch[256];
  sa_t k, v, sources;
} rcpt_make_t;

/* start: when the build started (see rcpt_make_finish for "S") */
int rcpt_make_start(rcpt_make_t *, int fd, time_t start);
/* a users/cdb entry: prefix (plen bytes, any case), exact or wildcard,
 * with its ext (exact) or pre (wildcard) field */
int rcpt_make_users(rcpt_make_t *, const char *prefix, size_t plen, bool exact,
                    const char *ext, unsigned long *id);
/* a password-database account qmail-getpw accepts */
int rcpt_make_passwd(rcpt_make_t *, const char *name, unsigned long *id);
/* the alias account */
int rcpt_make_alias(rcpt_make_t *, unsigned long *id);
/* flags: RCPT_ALL, RCPT_ALIAS or both, as a string; dir: where its names
 * were listed from ("" if nowhere).  0 or -1 */
int rcpt_make_account(rcpt_make_t *, unsigned long id, const char *flags, const char *dir);
/* account id has the file ".qmail" dash x (x: xlen bytes, unmapped) */
int rcpt_make_name(rcpt_make_t *, unsigned long id, const char *x, size_t xlen);
/* a users/aliases.cdb name */
int rcpt_make_aliasname(rcpt_make_t *, const char *x, size_t xlen);
/* a path for "S": stat()ed now to record whether it exists.  0 or -1 */
int rcpt_make_source(rcpt_make_t *, const char *path);
/* "h": an account qmail-getpw does not take now for its home (missing,
 * or not owned by uid); once the home is uid's, it is.  0 or -1 */
int rcpt_make_home(rcpt_make_t *, const char *name, unsigned long uid, const char *home);
/* the last keys, then the cdb's index.  0 or -1 */
int rcpt_make_finish(rcpt_make_t *);
void rcpt_make_free(rcpt_make_t *);

#endif
