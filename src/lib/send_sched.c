/* send_sched: see send_sched.h */
#include "send_sched.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

unsigned long sched_isqrt(unsigned long x)
{
  /* bitwise method: no floating point, exact for 64-bit values */
  unsigned long r = 0, bit = 1UL << (sizeof x * 8 - 2);
  while (bit > x) bit >>= 2;
  while (bit) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else
      r >>= 1;
    bit >>= 2;
  }
  return r;
}

time_t sched_next(time_t birth, time_t t, unsigned c)
{
  unsigned long age = t > birth ? (unsigned long)t - (unsigned long)birth : 0;
  unsigned long s = sched_isqrt(age) + c, sq;
  /* ages past ~100 years would not fit time arithmetic: clamp */
  if (s > 60000UL) s = 60000UL;
  sq = s * s;
  if (birth > (time_t)(INT64_MAX / 2)) return birth;
  return birth + (time_t)sq;
}

bool sched_reserve(sched_heap_t *h, size_t more)
{
  size_t need, cap;
  sched_ent_t *p;
  if (__builtin_add_overflow(h->n, more, &need)) { errno = ENOMEM; return false; }
  if (need <= h->a) return true;
  cap = need + need / 2 + 64;
  if (cap < need || cap > SIZE_MAX / sizeof *p) { errno = ENOMEM; return false; }
  p = realloc(h->e, cap * sizeof *p);
  if (!p) { errno = ENOMEM; return false; }
  h->e = p;
  h->a = cap;
  return true;
}

static bool before(const sched_ent_t *x, const sched_ent_t *y)
{
  return x->when < y->when || (x->when == y->when && x->id < y->id);
}

bool sched_push(sched_heap_t *h, unsigned long id, time_t when)
{
  size_t i;
  if (!sched_reserve(h, 1)) return false;
  i = h->n++;
  h->e[i].when = when;
  h->e[i].id = id;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    sched_ent_t t;
    if (!before(&h->e[i], &h->e[p])) break;
    t = h->e[i];
    h->e[i] = h->e[p];
    h->e[p] = t;
    i = p;
  }
  return true;
}

const sched_ent_t *sched_top(const sched_heap_t *h) { return h->n ? &h->e[0] : 0; }

bool sched_pop(sched_heap_t *h, sched_ent_t *out)
{
  size_t i = 0;
  if (!h->n) return false;
  *out = h->e[0];
  h->e[0] = h->e[--h->n];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    sched_ent_t t;
    if (l < h->n && before(&h->e[l], &h->e[m])) m = l;
    if (r < h->n && before(&h->e[r], &h->e[m])) m = r;
    if (m == i) break;
    t = h->e[i];
    h->e[i] = h->e[m];
    h->e[m] = t;
    i = m;
  }
  return true;
}

void sched_all_now(sched_heap_t *h, time_t now)
{
  /* min(x, now) is monotone, so the heap order survives; equal times are
   * then ordered by id, which may differ: rebuild to be exact */
  size_t n = h->n;
  for (size_t i = 0; i < n; i++)
    if (h->e[i].when > now) h->e[i].when = now;
  for (size_t k = n / 2; k-- > 0;) {
    size_t i = k;
    for (;;) {
      size_t l = 2 * i + 1, r = l + 1, m = i;
      sched_ent_t t;
      if (l < n && before(&h->e[l], &h->e[m])) m = l;
      if (r < n && before(&h->e[r], &h->e[m])) m = r;
      if (m == i) break;
      t = h->e[i];
      h->e[i] = h->e[m];
      h->e[m] = t;
      i = m;
    }
  }
}

void sched_free(sched_heap_t *h)
{
  free(h->e);
  h->e = 0;
  h->n = h->a = 0;
}

static size_t slot(unsigned long id, size_t mask)
{
  unsigned long x = id * 0x9E3779B97F4A7C15UL;
  return (size_t)(x >> 17) & mask;
}

static bool grow(idset_t *s)
{
  size_t size = s->mask ? (s->mask + 1) * 2 : 64;
  unsigned long *k;
  if (size > SIZE_MAX / sizeof *k / 2) return false;
  k = calloc(size, sizeof *k);
  if (!k) return false;
  for (size_t i = 0; s->k && i <= s->mask; i++) {
    if (!s->k[i]) continue;
    size_t j = slot(s->k[i], size - 1);
    while (k[j]) j = (j + 1) & (size - 1);
    k[j] = s->k[i];
  }
  free(s->k);
  s->k = k;
  s->mask = size - 1;
  return true;
}

bool idset_has(const idset_t *s, unsigned long id)
{
  if (!id) return s->has0;
  if (!s->k) return false;
  for (size_t i = slot(id, s->mask); s->k[i]; i = (i + 1) & s->mask)
    if (s->k[i] == id) return true;
  return false;
}

bool idset_add(idset_t *s, unsigned long id)
{
  size_t i;
  if (!id) { s->has0 = true; return true; }
  if (idset_has(s, id)) return true;
  /* keep the load under one half */
  if ((!s->k || (s->n + 1) * 2 > s->mask + 1) && !grow(s)) { errno = ENOMEM; return false; }
  for (i = slot(id, s->mask); s->k[i]; i = (i + 1) & s->mask) {}
  s->k[i] = id;
  ++s->n;
  return true;
}

void idset_del(idset_t *s, unsigned long id)
{
  size_t i, j;
  if (!id) { s->has0 = false; return; }
  if (!s->k) return;
  for (i = slot(id, s->mask); s->k[i] != id; i = (i + 1) & s->mask)
    if (!s->k[i]) return;
  s->k[i] = 0;
  --s->n;
  /* shift back later members of the cluster that would now be unreachable */
  for (j = (i + 1) & s->mask; s->k[j]; j = (j + 1) & s->mask) {
    size_t h = slot(s->k[j], s->mask);
    /* k[j] may move to i if its home h is not cyclically in (i, j] */
    if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
      s->k[i] = s->k[j];
      s->k[j] = 0;
      i = j;
    }
  }
}

void idset_free(idset_t *s)
{
  free(s->k);
  s->k = 0;
  s->n = s->mask = 0;
  s->has0 = false;
}
