/* rcpt: the recipient-validation database (qmail-rcptcheck-rebuild(8)).
 *
 * users/rcptcheck.cdb lists the local parts local delivery can take, as
 * qmail-lspawn and qmail-local would pick them, in "mapped" form: ASCII
 * lower case, with '.' and '/' turned into ':' (as qmail-local turns an
 * extension into a .qmail file name).  Keys:
 *   "=" m     the local part m is deliverable
 *   "+" p     every local part starting with p is deliverable ("+" alone:
 *             every local part)
 *   ""        the set of last bytes of all non-empty "+" prefixes, so a
 *             lookup tries only prefixes that can match
 * Mapping may merge names ("a.b" and "a:b"), which can only make the
 * check accept more, never refuse a deliverable address. */
#ifndef RCPT_H
#define RCPT_H
#include <stddef.h>
#include "sa.h"

#define RCPT_CDB "users/rcptcheck.cdb"

/* the mapping described above, in place */
void rcpt_map(char *s, size_t len);

/* looks the local part (any case, unmapped) up in the cdb at path.
 * 1 deliverable, 0 not listed, -1 error (errno; ENOENT: no cdb) */
int rcpt_lookup(const char *path, const char *local, size_t len);

/* where the files ".qmail" dash X of home live: dir gets home and, if
 * dash holds a '/', ".qmail" and the dash up to its last '/' (dash "-/":
 * home/.qmail-, with files such as home/.qmail-/foo); prefix gets what
 * begins each file name there (".qmail" dash, or the dash after its last
 * '/').  Both NUL-terminated (the NUL not counted).  1, or 0 (ENOMEM). */
int rcpt_qmail_dir(const char *home, const char *dash, sa_t *dir, sa_t *prefix);

/* Keys for one account.  Local parts prefix+rest (rest must be empty when
 * exact is set) reach an account whose extension is pre+rest and whose
 * .qmail files are named ".qmail" dash X; names holds those X, each
 * NUL-terminated.  Calls emit(ctx, key, keylen) for each key (kind byte
 * included).  Returns 0, or the first nonzero value emit returned. */
typedef int (*rcpt_emit_fn)(void *ctx, const char *key, size_t len);
int rcpt_account_keys(const char *prefix, size_t plen, int exact, const char *pre,
                      const char *dash, const char *names, size_t nlen, rcpt_emit_fn emit,
                      void *ctx);

#endif
