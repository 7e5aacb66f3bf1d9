/* control: reading QMAILHOME/control files (callers chdir to QMAILHOME).
 * Rules: single-value files use the first line; every line loses trailing
 * spaces, tabs and CR; list files skip empty lines and lines starting
 * with '#'.  A file larger than CONTROL_MAX is an error, not a truncation.
 * Returns: 1 value read, 0 file absent (default used), -1 error (errno). */
#ifndef CONTROL_H
#define CONTROL_H
#include <stddef.h>
#include "sa.h"

#define CONTROL_MAX ((size_t)64 << 20)

/* reads control/me (if present) for later flagme defaults */
int control_init(void);
const char *control_me(void);  /* "" if there is no control/me */

int control_readline(sa_t *out, const char *fn);
/* first line, else control/me if flagme and me exists, else def (may be
 * null: then 0 is returned and out is empty) */
int control_rldef(sa_t *out, const char *fn, int flagme, const char *def);
/* an unsigned number on the first line; absent or not a number leaves *u
 * alone and returns 0 */
int control_readint(unsigned long *u, const char *fn);
/* list: each line stored NUL-terminated in out; absent file gives me (if
 * flagme and me exists) as the only entry */
int control_readfile(sa_t *out, const char *fn, int flagme);

/* cmap: a case-insensitive hash map built over a list of NUL-terminated
 * lines.  With colon set, each line is "key:value" (split at the first
 * colon); otherwise the value is "".  The map points into the list, so the
 * list must outlive it.  First occurrence of a key wins.  Bytes after the
 * last NUL are ignored. */
typedef struct {
  const char **key;
  const char **val;
  size_t *klen;
  size_t n, mask;
} cmap_t;

int cmap_init(cmap_t *, const sa_t *list, int colon);
const char *cmap_get(const cmap_t *, const char *key, size_t len);
void cmap_free(cmap_t *);

#endif
