/* send_sched: qmail-send's retry schedule and the small in-memory
 * structures that keep it: a binary min-heap of (when, id) per channel and
 * a set of message ids.  Per queued message and channel the heap holds 16
 * bytes; recipients stay on disk until the message is due. */
#ifndef SEND_SCHED_H
#define SEND_SCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* the next attempt after an attempt started at t for a message born at
 * birth: birth + (floor(sqrt(t - birth)) + c)^2, c = 10 local, 20 remote
 * (so attempts land near birth + (c*k)^2).  t before birth counts as
 * t == birth; the result is clamped instead of overflowing. */
time_t sched_next(time_t birth, time_t t, unsigned c);
/* floor(sqrt(x)), exact for every x */
unsigned long sched_isqrt(unsigned long x);

typedef struct {
  time_t when;
  unsigned long id;
} sched_ent_t;

typedef struct {
  sched_ent_t *e;
  size_t n, a;
} sched_heap_t;

#define SCHED_HEAP_INIT {0, 0, 0}

/* room for n + more entries (never shrinks): pushes that stay within it
 * cannot fail.  false on overflow/out of memory */
bool sched_reserve(sched_heap_t *, size_t more);
bool sched_push(sched_heap_t *, unsigned long id, time_t when);
/* the earliest entry, or null if empty */
const sched_ent_t *sched_top(const sched_heap_t *);
/* removes the earliest entry into *out; false if empty */
bool sched_pop(sched_heap_t *, sched_ent_t *out);
/* every entry later than now becomes due at now (SIGALRM) */
void sched_all_now(sched_heap_t *, time_t now);
void sched_free(sched_heap_t *);

/* a set of ids (open addressing, linear probing, backward-shift delete) */
typedef struct {
  unsigned long *k;   /* 0 = empty slot; id 0 is stored via has0 */
  size_t n, mask;
  bool has0;
} idset_t;

#define IDSET_INIT {0, 0, 0, false}

bool idset_add(idset_t *, unsigned long id); /* false: out of memory */
bool idset_has(const idset_t *, unsigned long id);
void idset_del(idset_t *, unsigned long id);
void idset_free(idset_t *);

#endif
