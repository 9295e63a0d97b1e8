/* What the files of hookbench's section "hooks" share: hb_loops.c (the
 * measured loops), hb_rows.c (the rows and their fixtures) and hb_pairs.c
 * (the rounds, the report, the targets, --count). */
#ifndef HB_PAIRS_H
#define HB_PAIRS_H

#include "hb_driver.h"

typedef struct bench {
    const char *key, *label;
    int hook;   /* 0 baseline, 1 the project's hook */
    loop_fn loop;
    void *arg;
    int (*setup)(struct bench *);
    void (*teardown)(struct bench *);
    int preset; /* transition benches: index in presets[], else -1 */
    uint64_t iters;
    double ns[MAX_REPS];
    int inflight; /* transition benches: rounds verified in flight before and after */
    uint64_t allocs; /* heap allocations by this thread during the timed loops */
    int state_before;
} bench_t;

/* ---- hb_rows.c ---- */

extern bench_t benches[32];
extern int n_benches;
extern char tx_keys[N_PRESETS][32];
bench_t *find_bench(const char *key);
/* The rows, with their fixtures: hb-steady enabled and complete, the parker
 * thread started; hooks_finish stops both. */
void hooks_prepare(void);
void hooks_finish(void);

/* ---- hb_loops.c (loop_floor, loop_xadd and loop_hook: hb_driver.h) ---- */

void loop_empty(uint64_t n, void *arg);
void loop_calls(uint64_t n, void *arg);
void loop_floor_so(uint64_t n, void *arg);
void loop_rwlock(uint64_t n, void *arg);
void loop_mutex(uint64_t n, void *arg);
void loop_memb_inline(uint64_t n, void *arg);
void loop_memb_so(uint64_t n, void *arg);
void loop_bp(uint64_t n, void *arg);
void loop_qsbr_qs1(uint64_t n, void *arg);
void loop_qsbr_qs1024(uint64_t n, void *arg);
void loop_ref(uint64_t n, void *arg);
void loop_kernel(uint64_t n, void *arg);
void loop_shadow_get(uint64_t n, void *arg);
void loop_cyg_unregistered(uint64_t n, void *arg);
void loop_cyg_registered(uint64_t n, void *arg);

#endif /* HB_PAIRS_H */
