/* sa: growable byte strings.
 * Every size computation is overflow-checked and bounded by SA_MAX, so no
 * input, however long, can wrap a length (the 2005/2020 qmail class).
 * Functions return 1 on success, 0 on failure with errno set (ENOMEM). */
#ifndef SA_H
#define SA_H
#include <stddef.h>
#include <stdbool.h>

typedef struct {
  char *s;
  size_t len;
  size_t a; /* allocated */
} sa_t;

#define SA_INIT {0, 0, 0}
/* hard ceiling on one string: 1 GiB.  Callers with tighter limits check
 * their own (e.g. SMTP line length); this one exists so that no arithmetic
 * on a length can ever come near SIZE_MAX. */
#define SA_MAX ((size_t)1 << 30)

bool sa_ready(sa_t *, size_t n);      /* room for n bytes in all */
bool sa_readyplus(sa_t *, size_t n);  /* room for len + n bytes */
bool sa_copyb(sa_t *, const char *, size_t);
bool sa_copys(sa_t *, const char *);
bool sa_copy(sa_t *, const sa_t *);
bool sa_catb(sa_t *, const char *, size_t);
bool sa_cats(sa_t *, const char *);
bool sa_cat(sa_t *, const sa_t *);
bool sa_append(sa_t *, char);
bool sa_0(sa_t *);                    /* append a NUL (counted in len) */
bool sa_catulong(sa_t *, unsigned long);
bool sa_catlong(sa_t *, long);
bool sa_starts(const sa_t *, const char *);
bool sa_equals(const sa_t *, const char *); /* whole string equals s */
void sa_lower(sa_t *);
void sa_free(sa_t *);
/* growth policy, exposed for tests: returns false on overflow / > SA_MAX */
bool sa_grow_size(size_t have, size_t need_more, size_t *newcap);

#endif
