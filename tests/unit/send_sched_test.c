/* send_sched: the retry formula, the heap and the id set. */
#include <stdlib.h>
#include "send_sched.h"
#include "t.h"

int main(void)
{
  /* attempts land at birth + (c*k)^2 */
  OK(sched_next(1000, 1000, 10) == 1100, "local first retry after 100 s");
  OK(sched_next(1000, 1100, 10) == 1400, "local second retry at 400 s");
  OK(sched_next(1000, 1400, 10) == 1900, "local third at 900 s");
  OK(sched_next(1000, 1000, 20) == 1400, "remote first retry after 400 s");
  OK(sched_next(1000, 1400, 20) == 2600, "remote second at 1600 s");
  OK(sched_next(1000, 1000 + 3600, 20) == 1000 + 80 * 80, "remote after an hour");
  OK(sched_next(1000, 1050, 10) == 1000 + 17 * 17, "floor of sqrt(50) = 7");
  OK(sched_next(1000, 900, 10) == 1100, "clock before birth counts as birth");
  OK(sched_next(0, (time_t)1 << 62, 20) > 0, "huge age clamps, no overflow");
  OK(sched_isqrt(0) == 0 && sched_isqrt(1) == 1 && sched_isqrt(99) == 9 &&
         sched_isqrt(100) == 10 && sched_isqrt(~0UL) == 4294967295UL,
     "isqrt exact");

  {
    sched_heap_t h = SCHED_HEAP_INIT;
    sched_ent_t e;
    int ok = 1;
    time_t last = 0;
    srand(7);
    for (unsigned long i = 1; i <= 5000; i++) ok &= sched_push(&h, i, rand() % 100000);
    OK(ok && h.n == 5000, "5000 pushes");
    for (int i = 0; i < 5000; i++) {
      ok &= sched_pop(&h, &e);
      ok &= e.when >= last;
      last = e.when;
    }
    OK(ok && !sched_pop(&h, &e) && !sched_top(&h), "pops come out in order");
    for (unsigned long i = 1; i <= 100; i++) sched_push(&h, i, 1000 + (time_t)i);
    sched_all_now(&h, 1050);
    OK(sched_top(&h)->when == 1001, "all_now keeps earlier ones");
    last = 0;
    ok = 1;
    for (int i = 0; i < 100; i++) {
      sched_pop(&h, &e);
      ok &= e.when >= last && e.when <= 1050;
      last = e.when;
    }
    OK(ok, "all_now: everything due by now, order kept");
    OK(sched_reserve(&h, 10) && h.a >= 10, "reserve");
    sched_free(&h);
  }

  {
    idset_t s = IDSET_INIT;
    int ok = 1;
    for (unsigned long i = 0; i < 3000; i++) ok &= idset_add(&s, i * 7);
    OK(ok, "idset adds");
    for (unsigned long i = 0; i < 3000; i++) ok &= idset_has(&s, i * 7) && !idset_has(&s, i * 7 + 1);
    OK(ok, "idset membership");
    for (unsigned long i = 0; i < 3000; i += 2) idset_del(&s, i * 7);
    for (unsigned long i = 0; i < 3000; i++) ok &= idset_has(&s, i * 7) == (i % 2 == 1);
    OK(ok, "idset deletes keep the others reachable");
    idset_del(&s, 123456789);
    OK(!idset_has(&s, 0), "id 0 removed");
    idset_free(&s);
  }
  return t_done();
}
