/*
 * The records the hooks address through plain pointers: the global
 * transition word, thread records with their shadow stacks and count rows,
 * function and patch records. Layouts are shared with Swift and checked
 * here. Storage is static (lps_storage.c): registration never calls malloc,
 * and a handle is validated by an address-range check, never a dereference.
 */
#ifndef LPS_RECORDS_H
#define LPS_RECORDS_H

#include <lps_handles.h>
#include <urcu/call-rcu.h> /* struct rcu_head */
#include <urcu/list.h>     /* struct cds_list_head */
#include "lps_atomics.h"
#include <stddef.h>

/* ---- records shared with Swift (layouts checked below) -------------------- */

/* A thread's entry and exit counts of one function: row f->index of the
 * thread's rows (countCall in Hooks/CallCounts.swift). Only the owner writes its rows,
 * with one read-modify-write instruction each (lps_local_inc_u64), so a
 * signal handler's counts land before or after the interrupted one's, never
 * in between; lp_func_counts() sums the rows of every record that is not
 * free with the function's totals, into which a retired record's rows are
 * flushed when its slot is freed. */
typedef struct lps_count_row {
    uint64_t entries;
    uint64_t exits;
} lps_count_row_t;

/* Every thread's rows span all LP_MAX_FUNCS functions (1 MiB of address
 * space, mapped without reserving memory): indexed, never tagged or evicted,
 * and never grown, so the hooks need no check and no lock. Memory is used
 * only for the 4 KiB pages of rows the thread touches: 16 bytes per function
 * it calls, 256 functions to a page. The mapping belongs to the record's
 * slot and is kept when the slot is reused; its rows are all zero whenever
 * the slot is free. */
#define LPS_COUNT_ROWS_BYTES ((size_t)LP_MAX_FUNCS * sizeof(lps_count_row_t))

/* The function at the same index's shared line: whether its record is in
 * use, and the counts flushed into it from the rows of retired records
 * (flushCounts, Hooks/CallCounts.swift). Apart
 * from the record (lps_handles.h), which the hooks read. */
typedef struct lps_func_totals {
    uint64_t entries;
    uint64_t exits;
    uint64_t live;  /* 1 once registered */
    uint64_t pad[5];
} lps_func_totals_t;

/* The shadow stack: the functions a thread is inside, outermost first, one
 * entry per hooked activation below depth LP_FRAMES_KNOWN (deeper ones are
 * not kept). It is what the patcher reads instead of the thread's stack
 * (the kernel's stack check): a thread whose activation predates the
 * transition blocks only while one of these is in the transition's set.
 * Only the owner writes it; entries at or above fdepth are stale. Its
 * first LPS_FRAMES_IN_RECORD frames lie in the thread's record, right after
 * the hook state, so that a hook addresses them from the record pointer it
 * already holds; the deep ones, which only the hooks' out-of-line paths
 * touch, lie in the thread's mapping after its count rows (an interpreter
 * or a recursive parser runs hundreds of hooked frames deep, and jumps out
 * of them: a frame that is not kept cannot be found left). */
typedef struct lps_frame {
    const struct lp_func *func;
    uint64_t key; /* lps_frame_key() at its entry; UINT64_MAX while the slot is free, or 0 in a deep slot never written (Frames.swift) */
} lps_frame_t;
#define LPS_FRAMES_IN_RECORD 16
#define LPS_DEEP_FRAMES_BYTES ((size_t)(LP_FRAMES_KNOWN - LPS_FRAMES_IN_RECORD) * sizeof(lps_frame_t))
/* A thread's mapping: its count rows, then its deep frames (2 MiB of
 * address space in all; memory only for the pages written). */
#define LPS_THREAD_MAP_BYTES (LPS_COUNT_ROWS_BYTES + LPS_DEEP_FRAMES_BYTES)

/* A registered thread: 512 bytes, written on the hot path only by its owner. */
typedef struct lps_thread_rec {
    /* line 0: the hook state */
    uint32_t fdepth;      /* nesting of hooked functions */
    uint32_t kdepth;      /* nesting of kernel sections */
    uint64_t fepoch;      /* transition epoch read at the outermost function entry */
    uint64_t kepoch;      /* transition epoch read at the outermost kernel entry */
    uint64_t act;         /* the area activation word (Activation.swift) */
    uint32_t offline;     /* 1 while lp_thread_offline() holds */
    uint32_t reserved;
    lps_count_row_t *rows; /* the thread's count rows, then its deep frames (LPS_THREAD_MAP_BYTES, mapped once per slot) */
    uint64_t unbalanced;  /* exits with nothing to exit */
    uint32_t slot;        /* index in lps_thread_table */
    uint32_t state;       /* LPS_REC_* */
    /* lines 1-4: the shadow stack */
    lps_frame_t frames[LPS_FRAMES_IN_RECORD];
    /* cold: registry */
    uint64_t generation;  /* bumped each time the slot is reused */
    struct cds_list_head node; /* in lps_thread_list, RCU-protected */
    struct rcu_head rcu;       /* the slot returns to the free list after a grace period */
    int32_t tid;
    uint32_t exited_inside;
    uint64_t pthread;          /* pthread_t of the owner, for nudges */
    char name[LP_THREAD_NAME_MAX];
    uint8_t pad[112];          /* to a whole number of cache lines */
} lps_thread_rec_t;

enum { LPS_REC_FREE = 0, LPS_REC_LIVE = 1, LPS_REC_DEAD = 2 };

/* The transition state every hook reads: one read-mostly line, then one line
 * the threads write (the futex word that wakes the patcher). */
typedef struct lps_global {
    uint64_t epoch;        /* bumped (release) when a transition starts */
    uint32_t leave;        /* cell of the transition of `epoch` */
    uint32_t sw;
    uint32_t flags;        /* model extras */
    uint32_t target;       /* 0 old, 1 new: the universe the transition heads to */
    uint32_t kuniv;        /* SWITCH_KERNEL: the kernel-wide universe */
    uint32_t hold;         /* SWITCH_KERNEL: new activations wait while 1 (futex word) */
    uint32_t waiting;      /* the patcher sleeps in lp_transition_wait: wake it */
    uint32_t kernel_area;  /* 1 while a LEAVE_KERNEL transition of `epoch` runs */
    struct lps_fn_rows *fn_rows; /* SWITCH_FUNCTION: per-thread rows of per-function counters */
    uint64_t pad0[2];
    /* line 1 */
    uint32_t wake_seq;     /* futex word: bumped by threads that unblock the patcher */
    uint32_t pad1;
    uint64_t unregistered_calls; /* hooks on threads with no record */
    uint64_t unbalanced_unregistered; /* exits on threads with no record */
    uint64_t abandoned_exits; /* frames left without their exit hook (longjmp) */
    uint64_t pad2[4];
} lps_global_t;

_Static_assert(sizeof(lps_thread_rec_t) == 512, "per-thread state is at most 512 bytes, whole lines");
_Static_assert(offsetof(lps_thread_rec_t, frames) == 64, "hook state fills line 0, the frames follow");
_Static_assert(sizeof(lps_frame_t[LPS_FRAMES_IN_RECORD]) == 256, "the record's frames fill lines 1-4");
_Static_assert(LP_FRAMES_KNOWN > LPS_FRAMES_IN_RECORD, "deep frames follow the record's");
_Static_assert(LPS_COUNT_ROWS_BYTES % _Alignof(lps_frame_t) == 0, "the deep frames are aligned");
_Static_assert(sizeof(lps_global_t) == 128, "global: read-mostly line + written line");
_Static_assert(sizeof(lps_func_totals_t) == 64, "a function's totals fill one line");
_Static_assert(offsetof(lps_global_t, wake_seq) == 64, "wake_seq on its own line");

/* PATCHED_SET x FUNCTION's counters: a row of `stride` words per thread
 * slot, behind a header that holds the stride. One pointer holds both, so a
 * reader never pairs one allocation's rows with another's stride (the rows
 * are outgrown by a larger patch while a registering thread clears its row,
 * or a hook that read an earlier epoch counts into them). */
typedef struct lps_fn_rows {
    uint64_t stride;
    uint64_t pad[7];
    uint64_t words[];
} lps_fn_rows_t;
_Static_assert(sizeof(lps_fn_rows_t) == 64, "the header fills one line: in a line-aligned block every row begins one");

/* The records carry no alignment attribute (Swift imports over-aligned C
 * structs as opaque); the storage below is cache-line aligned instead, and
 * every record size is a whole number of lines. */
/* Hidden: the hooks address them PC-relative, not through the GOT, in the
 * shared library too; nothing outside the library names them. */
#define LPS_INTERNAL __attribute__((visibility("hidden")))
extern LPS_INTERNAL lps_global_t lps_global;
extern LPS_INTERNAL lps_thread_rec_t lps_thread_table[LP_MAX_THREADS];
extern LPS_INTERNAL struct lp_func lps_func_table[LP_MAX_FUNCS];
extern LPS_INTERNAL lps_func_totals_t lps_func_totals[LP_MAX_FUNCS];
extern LPS_INTERNAL struct lp_patch lps_patch_table[LP_MAX_PATCHES];
/* Swift imports C arrays as tuples, which cannot be this long. */
static inline lps_thread_rec_t *lps_thread_table_base(void) { return lps_thread_table; }
static inline struct lp_func *lps_func_table_base(void) { return lps_func_table; }
__attribute__((returns_nonnull)) static inline lps_func_totals_t *lps_func_totals_of(uint32_t index) { return lps_func_totals + index; }
static inline struct lp_patch *lps_patch_table_base(void) { return lps_patch_table; }

/* lps_global as the Swift engine reaches it: through a pointer. With Swift's
 * dynamic exclusivity checking on (the engine built by a package that depends
 * on this one), `&lps_global.x` is an access to the whole C global for the
 * length of the call, and nested ones (a callee reading lps_global) trap, and
 * transitions under load stopped completing; `&lps_global_ref().pointee.x` is
 * the field's address, unchecked, in every build. */
static inline lps_global_t *lps_global_ref(void) { return &lps_global; }
/* SWITCH_FUNCTION counter rows, published before lps_global.epoch. Release
 * here pairs with the acquire load: the header and the zeroed rows are
 * written before the pointer is published (ensureCounterRows), and read
 * after it is loaded. */
static inline lps_fn_rows_t *lps_global_fn_rows(void) { return __atomic_load_n(&lps_global.fn_rows, __ATOMIC_ACQUIRE); }
static inline void lps_global_set_fn_rows(lps_fn_rows_t *rows) { __atomic_store_n(&lps_global.fn_rows, rows, __ATOMIC_RELEASE); }
/* The row of thread slot `slot`. */
__attribute__((returns_nonnull)) static inline uint64_t *lps_fn_row(lps_fn_rows_t *rows, uint32_t slot)
{
    return rows->words + (uint64_t)slot * rows->stride;
}

__attribute__((returns_nonnull)) static inline lps_frame_t *lps_rec_frames(const lps_thread_rec_t *rec) { return (lps_frame_t *)rec->frames; }
/* The frame at `index` (< LP_FRAMES_KNOWN), in the record or deep. */
__attribute__((returns_nonnull)) static inline lps_frame_t *lps_rec_frame(const lps_thread_rec_t *rec, uint32_t index)
{
    if (index < LPS_FRAMES_IN_RECORD) return (lps_frame_t *)rec->frames + index;
    return (lps_frame_t *)(void *)(rec->rows + LP_MAX_FUNCS) + (index - LPS_FRAMES_IN_RECORD);
}
static inline const struct lp_func *lps_frame_func(const lps_frame_t *fr) { return __atomic_load_n(&fr->func, __ATOMIC_RELAXED); }
static inline void lps_frame_set_func(lps_frame_t *fr, const struct lp_func *f) { __atomic_store_n(&fr->func, f, __ATOMIC_RELAXED); }
/* The frame key: where the hook's frame pointer would point, 8 below its
 * return address, which is the caller's stack pointer at the call less 16
 * whichever hook was called (the cyg hooks tail-call lp_func_enter/exit).
 * The stack grows down: a frame whose key is below the key of a later hook
 * was left without its exit hook (longjmp, an exception). Only the owner
 * reads the keys. Always inlined, so it is the hook's own frame.
 * _AddressOfReturnAddress() gives it without a frame: the C library is
 * built with the builtin (-fms-extensions) and without frame pointers in
 * leaf functions (Package.swift), and its hooks then push nothing, where
 * __builtin_frame_address(0) made each set up a frame, about a cycle a hook
 * pair (Benchmarks/README.md). Both give the same value in every build, so
 * the keys of the trampoline (lps_ftrace_trampoline.S) and of the exported
 * calls agree with the hooks' either way. */
#if __has_builtin(_AddressOfReturnAddress)
void *_AddressOfReturnAddress(void);
static inline __attribute__((always_inline)) uint64_t lps_frame_key(void)
{
    return (uint64_t)(uintptr_t)_AddressOfReturnAddress() - 8;
}
#else
static inline __attribute__((always_inline)) uint64_t lps_frame_key(void)
{
    return (uint64_t)(uintptr_t)__builtin_frame_address(0);
}
#endif

/* The thread's row of counts of the function at func_index. */
__attribute__((returns_nonnull)) static inline lps_count_row_t *lps_rec_row(const lps_thread_rec_t *rec, uint32_t func_index)
{
    return rec->rows + func_index;
}

#endif /* LPS_RECORDS_H */
