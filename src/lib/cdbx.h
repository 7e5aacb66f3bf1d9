/* cdbx: one-shot lookups in constant databases (tinycdb's libcdb). */
#ifndef CDBX_H
#define CDBX_H
#include <stddef.h>
#include "sa.h"

/* looks key up in the cdb at path; value into out (if out is not null).
 * 1 found, 0 not found or no such file (errno ENOENT then), -1 error */
int cdbx_lookup(const char *path, const char *key, size_t klen, sa_t *out);

#endif
