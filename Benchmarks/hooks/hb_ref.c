/*
 * A C transcription of lp_func_enter / lp_func_exit (Sources/LivePatch/
 * Hooks.swift), the reference that separates the hooks' algorithm from
 * Swift's code generation: the same record layouts (lps_records.h), the same
 * loads and stores in the same order with the same orderings, and the same
 * branches to out-of-line slow paths. gcc -O2 compiles it; hookbench times
 * it beside the hooks and scripts/count-instructions counts it.
 *
 * Only the fast path is transcribed: a thread that is registered, not deeper
 * than its shadow stack and above no frame a jump left, a function in no
 * transition, no activation and no patcher waiting. Each slow path is a
 * non-inlined call that counts itself instead (hb_ref_slow_calls), and
 * hookbench reports a figure of this pair only when that count stayed 0,
 * i.e. the figure is the fast path's.
 *
 * Keep in step with Hooks.swift when the hooks' fast path changes.
 */
#include <stddef.h>

#include "hb.h"

/* lps_thread_rec_t's hook line, its shadow stack and its count rows; the
 * cold registry part is padding (no hook touches it). */
typedef struct ref_frame {
    const struct ref_func *func;
    uint64_t key;
} ref_frame_t;

typedef struct ref_row {
    uint64_t entries, exits;
} ref_row_t;

#define REF_FRAMES_KNOWN 16

typedef struct ref_thread {
    uint32_t fdepth, kdepth;
    uint64_t fepoch, kepoch, act;
    uint32_t offline, reserved;
    ref_row_t *rows;
    uint64_t unbalanced;
    uint32_t slot, state;
    ref_frame_t frames[REF_FRAMES_KNOWN];
    uint8_t cold[192];
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
    void *fn_rows;
    uint64_t pad0[2];
    uint8_t written_line[64];
} ref_global_t;

_Static_assert(sizeof(ref_thread_t) == 512 && offsetof(ref_thread_t, frames) == 64 && offsetof(ref_thread_t, rows) == 40,
               "lps_thread_rec_t's layout");
_Static_assert(sizeof(struct ref_func) == 128 && offsetof(struct ref_func, entries) == 64, "lp_func's layout");
_Static_assert(sizeof(ref_global_t) == 128 && offsetof(ref_global_t, waiting) == 32, "lps_global_t's layout");

/* As the engine's: a record in a table, the global in .bss, the TLS block an
 * initial-exec __thread whose first word is the record pointer (lps_tls). */
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

/* lps_local_cas_u64 and lps_local_inc_u64: one instruction, no lock prefix. */
static inline void local_cas(uint64_t *p, uint64_t expected, uint64_t desired)
{
    __asm__ __volatile__("cmpxchgq %2, %1" : "+a"(expected), "+m"(*p) : "r"(desired) : "memory", "cc");
}
static inline void local_inc(uint64_t *p) { __asm__ __volatile__("incq %0" : "+m"(*p) : : "cc"); }

/* mayHaveLeftFrames */
static inline int may_have_left_frames(const ref_thread_t *t, uint64_t key, uint32_t depth)
{
    return depth - 1 < REF_FRAMES_KNOWN ? key > t->frames[depth - 1].key : depth != 0;
}

__attribute__((noinline, aligned(64))) const void *hb_ref_enter(void *arg)
{
    struct ref_func *f = arg;
    uint64_t key = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    ref_thread_t *t = ref_tls.rec;
    if (!f || !t) return slow_enter();
    uint32_t depth = LOAD(&t->fdepth);
    if (may_have_left_frames(t, key, depth)) return slow_enter();
    if (depth == 0) {
        STORE(&t->fepoch, EPOCH_UNKNOWN);
        __atomic_store_n(&t->fdepth, 1, __ATOMIC_RELEASE);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        local_cas(&t->fepoch, EPOCH_UNKNOWN, __atomic_load_n(&ref_global.epoch, __ATOMIC_ACQUIRE));
        STORE(&t->frames[0].func, f);
        t->frames[0].key = key;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    } else {
        __atomic_store_n(&t->fdepth, depth + 1, __ATOMIC_RELEASE);
        if (depth < REF_FRAMES_KNOWN) {
            STORE(&t->frames[depth].func, f);
            t->frames[depth].key = key;
        }
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
    local_inc(&t->rows[f->index].entries);
    if (__atomic_load_n(&f->tx_epoch, __ATOMIC_ACQUIRE) == 0) return LOAD(&f->impl);
    return slow_enter();
}

__attribute__((noinline, aligned(64))) void hb_ref_exit(void *arg)
{
    struct ref_func *f = arg;
    uint64_t key = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    ref_thread_t *t = ref_tls.rec;
    if (!t) return slow_exit();
    uint32_t depth = LOAD(&t->fdepth);
    if (!f || depth == 0 || may_have_left_frames(t, key, depth)) return slow_exit();
    uint32_t outer = depth - 1;
    STORE(&t->fdepth, outer);
    t->frames[outer].key = UINT64_MAX; /* the slot is free (Frames.swift, freeFrame) */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    local_inc(&t->rows[f->index].exits);
    uint64_t a = LOAD(&t->act);
    uint64_t fe = LOAD(&f->tx_epoch);
    if ((a | fe) != 0 || ((outer == 0 || outer == REF_FRAMES_KNOWN) && LOAD(&ref_global.waiting) != 0)) slow_exit();
}

/* This thread's record with its rows, and a function registered at index 0:
 * the state the hooks' fast path runs in. */
static ref_row_t ref_rows[1];

void *hb_ref_setup(const void *impl)
{
    ref_func_record.impl = impl;
    ref_thread.rows = ref_rows;
    ref_tls.rec = &ref_thread;
    return &ref_func_record;
}
