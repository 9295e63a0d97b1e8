/*
 * A C transcription of lp_func_enter / lp_func_exit (Sources/LivePatch/
 * Hooks.swift), the reference that separates the hooks' algorithm from
 * Swift's code generation: the same record layouts (lp_shim.h), the same
 * loads and stores in the same order with the same orderings, and the same
 * branches to out-of-line slow paths. gcc -O2 compiles it; hookbench times
 * it beside the hooks and scripts/count-instructions counts it.
 *
 * Only the fast path is transcribed: a thread that is registered, a function
 * in no transition, its count slot already its own, no activation and no
 * patcher waiting. Each slow path is a non-inlined call that counts itself
 * instead (hb_ref_slow_calls), and hookbench reports a figure of this pair
 * only when that count stayed 0, i.e. the figure is the fast path's.
 *
 * Keep in step with Hooks.swift when the hooks' fast path changes.
 */
#include <stddef.h>

#include "hb.h"

/* lp_thread_rec_t's hook line and count cache; the cold registry half is
 * padding (no hook touches it). */
typedef struct ref_slot {
    const struct ref_func *func;
    uint64_t entries, exits;
} ref_slot_t;

#define REF_COUNT_SLOTS 4

typedef struct ref_thread {
    uint32_t fdepth, kdepth;
    uint64_t fepoch, kepoch, act;
    uint32_t offline, reserved;
    uint64_t unbalanced;
    uint32_t slot, state;
    uint64_t generation;
    ref_slot_t cache[REF_COUNT_SLOTS];
    uint8_t cold[96];
} ref_thread_t;

struct ref_func {
    const void *impl;
    uint64_t tx_epoch;
    const void *tx_old, *tx_new;
    uint32_t tx_index, hold, fn_universe, index;
    const void *orig;
    const char *name;
    uint64_t entries, exits, live, pad[5];
};

typedef struct ref_global {
    uint64_t epoch;
    uint32_t leave, sw, flags, target, kuniv, hold, waiting, kernel_area;
    uint64_t *fn_counts;
    uint64_t fn_stride, pad0;
    uint8_t written_line[64];
} ref_global_t;

_Static_assert(sizeof(ref_thread_t) == 256 && offsetof(ref_thread_t, cache) == 64, "lp_thread_rec_t's layout");
_Static_assert(sizeof(struct ref_func) == 128 && offsetof(struct ref_func, entries) == 64, "lp_func's layout");
_Static_assert(sizeof(ref_global_t) == 128 && offsetof(ref_global_t, waiting) == 32, "lp_global_t's layout");

/* As the engine's: a record in a table, the global in .bss, the TLS block an
 * initial-exec __thread whose first word is the record pointer (lp_tls). */
static ref_thread_t ref_thread __attribute__((aligned(64)));
static ref_global_t ref_global __attribute__((aligned(64)));
static struct ref_func ref_func_record __attribute__((aligned(64)));
typedef struct {
    ref_thread_t *rec;
    uint32_t registering, urcu_online;
    uint64_t generation;
} ref_tls_t;
extern __thread ref_tls_t ref_tls __attribute__((tls_model("initial-exec")));
__thread ref_tls_t ref_tls __attribute__((tls_model("initial-exec")));

uint64_t hb_ref_slow_calls;

#define EPOCH_UNKNOWN UINT64_MAX
#define LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)

__attribute__((noinline)) static const void *slow_enter(void)
{
    hb_ref_slow_calls++;
    return NULL;
}

__attribute__((noinline)) static void slow_exit(void) { hb_ref_slow_calls++; }

static void count_call(ref_thread_t *t, struct ref_func *f, int entry)
{
    ref_slot_t *slot = &t->cache[f->index & (REF_COUNT_SLOTS - 1)];
    if (LOAD(&slot->func) == f) {
        if (entry) STORE(&slot->entries, LOAD(&slot->entries) + 1);
        else STORE(&slot->exits, LOAD(&slot->exits) + 1);
    } else {
        slow_exit();
    }
}

__attribute__((noinline, aligned(64))) const void *hb_ref_enter(void *arg)
{
    struct ref_func *f = arg;
    if (!f) return slow_enter();
    ref_thread_t *t = ref_tls.rec;
    if (!t) return slow_enter();
    uint32_t depth = LOAD(&t->fdepth);
    if (depth == 0) {
        STORE(&t->fepoch, EPOCH_UNKNOWN);
        __atomic_store_n(&t->fdepth, 1, __ATOMIC_RELEASE);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        STORE(&t->fepoch, __atomic_load_n(&ref_global.epoch, __ATOMIC_ACQUIRE));
    } else {
        STORE(&t->fdepth, depth + 1);
    }
    uint64_t fepoch = LOAD(&t->fepoch);
    count_call(t, f, 1);
    uint64_t fe = __atomic_load_n(&f->tx_epoch, __ATOMIC_ACQUIRE);
    if (fe == 0 || fe != fepoch) return LOAD(&f->impl);
    return slow_enter();
}

__attribute__((noinline, aligned(64))) void hb_ref_exit(void *arg)
{
    struct ref_func *f = arg;
    ref_thread_t *t = ref_tls.rec;
    if (!t) return slow_exit();
    uint32_t depth = LOAD(&t->fdepth);
    if (!f || depth == 0) return slow_exit();
    uint32_t outer = depth - 1;
    STORE(&t->fdepth, outer);
    count_call(t, f, 0);
    uint64_t a = LOAD(&t->act);
    uint64_t fe = LOAD(&f->tx_epoch);
    if ((a | fe) != 0 || (outer == 0 && LOAD(&ref_global.waiting) != 0)) slow_exit();
}

/* This thread's record, and a function registered at index 0 whose count
 * slot is already its own: the state the hooks' fast path runs in. */
void *hb_ref_setup(const void *impl)
{
    ref_func_record.impl = impl;
    ref_thread.cache[0].func = &ref_func_record;
    ref_tls.rec = &ref_thread;
    return &ref_func_record;
}
