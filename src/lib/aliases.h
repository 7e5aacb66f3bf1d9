/* aliases: sendmail-style alias files compiled into a cdb (newaliases(8),
 * aliases(5)), and the lookup local delivery uses.
 *
 * Source:  name: target, target, ...    continuation lines start with a
 * space or tab; '#' lines and blank lines are ignored.  Targets: an address
 * (a bare name gets "@" and the default host appended; a leading '\' is
 * dropped), "|command", "/file", ":include:/path" (read now, at compile
 * time), any of them in double quotes to protect commas and spaces.
 *
 * cdb: key = the lowercased name (no NUL); value = the targets, each one
 * type byte (ALIASES_ADDR, ALIASES_PROG, ALIASES_FILE) then the text then a
 * NUL.  The empty key is never an alias. */
#ifndef ALIASES_H
#define ALIASES_H
#include <stddef.h>
#include "sa.h"

#define ALIASES_CDB "users/aliases.cdb"

#define ALIASES_ADDR 'A' /* text: address, always with '@' */
#define ALIASES_PROG 'P' /* text: command for /bin/sh -c, without the '|' */
#define ALIASES_FILE 'F' /* text: absolute path (mbox, or maildir if it ends in '/') */

/* bounds: each source file is read whole, so it is capped; includes nest
 * at most ALIASES_DEPTH deep (a loop of includes hits this and is an
 * error); all files together, and each alias's value, are capped so that
 * a file including itself many times cannot blow up memory */
#define ALIASES_FILE_MAX ((size_t)64 << 20)
#define ALIASES_TOTAL_MAX ((size_t)256 << 20)
#define ALIASES_VALUE_MAX ((size_t)64 << 20)
#define ALIASES_DEPTH 10

typedef struct {
  sa_t file;          /* NUL-terminated name of the file at fault */
  unsigned long line; /* its line, 0 if not about a line */
  const char *why;    /* fixed text */
  int temp;           /* the error is a system error (errno), not the input's */
} aliases_err_t;
#define ALIASES_ERR_INIT {SA_INIT, 0, "", 0}

/* compiles the alias file at path into a cdb written to fd (opened O_RDWR
 * at offset 0).  defhost qualifies bare names; null makes a bare name an
 * error.  0 ok, -1 system error (errno, err->temp = 1), -2 error in the
 * input (err filled). */
int aliases_compile(const char *path, int fd, const char *defhost, aliases_err_t *err);
void aliases_err_free(aliases_err_t *);

/* looks name (any case) up in the cdb at cdbpath (ALIASES_CDB if null,
 * relative to the current directory).  1 found (value in out),
 * 0 no such alias or no cdb, -1 error (errno). */
int aliases_lookup(const char *cdbpath, const char *name, size_t len, sa_t *out);

/* walking a value: 1 and the next target, 0 at the end, -1 if the value is
 * malformed (a corrupt cdb) */
typedef struct {
  const char *s;
  size_t len, pos;
} aliases_walk_t;
void aliases_walk_init(aliases_walk_t *, const char *s, size_t len);
int aliases_walk(aliases_walk_t *, char *type, const char **text, size_t *tlen);

#endif
