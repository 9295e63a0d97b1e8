/*
 * CLivePatchShim — what the Swift engine cannot express itself.
 *
 * Why each piece is C:
 *  - The TLS block: Swift has no thread-local storage with the initial-exec
 *    model; a %fs-relative access costs ~1 ns where __tls_get_addr costs 10-20.
 *  - The shared records (thread, function, global) and their atomics: Swift
 *    has no atomic operations on fields of memory it did not allocate as
 *    Atomic<T>, and the hooks must address these records through a plain
 *    pointer with a fixed layout. Their storage is static so that registration
 *    never calls malloc (a first hook may run in a signal handler) and so that
 *    a handle is validated by an address-range check, never by a dereference.
 *  - liburcu's static inlines and list macros, membarrier, futex, signals.
 * Every cross-thread field is read and written through the lp_atomic_* /
 * lp_load_* / lp_store_* helpers below, so ThreadSanitizer sees every access.
 */
#ifndef LP_SHIM_H
#define LP_SHIM_H

#include "../../../CInclude/livepatch/types.h"
#include "../../CLiburcu/CLiburcu.h"
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LP_CACHELINE 64

/* Under ThreadSanitizer the local CAS below uses a real atomic, which TSan
 * understands; its inline asm it would not. */
#if defined(__SANITIZE_THREAD__)
#define LP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LP_TSAN 1
#endif
#endif

/* Negative-errno values the engine returns, as constants Swift can see. */
enum lp_errno {
    LP_EINVAL = EINVAL, LP_ENOENT = ENOENT, LP_EEXIST = EEXIST, LP_EBUSY = EBUSY,
    LP_ETIMEDOUT = ETIMEDOUT, LP_ENOMEM = ENOMEM, LP_EDEADLK = EDEADLK,
    LP_ECANCELED = ECANCELED, /* parity: a pre_patch callback cancelled lp_patch_enable */
    LP_EAGAIN = EAGAIN, LP_EINTR = EINTR, /* lp_sim_wait */
    LP_ENOEXEC = ENOEXEC, /* lp_func_register_object: no symbol table */
};

/* ---- atomics: relaxed unless named; every partner is named at the call site - */

static inline uint32_t lp_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint64_t lp_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint64_t lp_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t lp_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline const void *lp_load_ptr(const void *const *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void lp_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void lp_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void lp_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void lp_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void lp_store_release_ptr(const void **p, const void *v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t lp_fetch_add_u64(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint32_t lp_fetch_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
/* Compiler-only barrier: the thread side of the asymmetric fence. The CPU
 * fence it needs is supplied by the patcher's lp_sys_membarrier(). */
static inline void lp_signal_fence(void) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
/* Orders a reader's earlier loads before its later ones (seqlock re-check). */
static inline void lp_acquire_fence(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
/* Full fence, for the patcher's own store-then-load sequences. */
static inline void lp_full_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/*
 * Compare-and-swap on a word only its owning thread writes, atomic with
 * respect to signal handlers on that thread but not to other CPUs: x86's
 * cmpxchg without the lock prefix is one instruction, so a signal lands
 * before or after it, and it costs no bus lock. Other readers (the patcher)
 * see a plain store.
 */
static inline bool lp_local_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired)
{
#if defined(__x86_64__) && !defined(LP_TSAN)
    uint64_t prev;
    __asm__ __volatile__("cmpxchgq %2, %1"
                         : "=a"(prev), "+m"(*p)
                         : "r"(desired), "0"(expected)
                         : "memory", "cc");
    return prev == expected;
#else
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
#endif
}

/*
 * Increment of a word only its owning thread writes, atomic with respect to
 * that thread's signal handlers as lp_local_cas_u64 is: one instruction
 * without the lock prefix. Other readers see a plain store.
 */
static inline void lp_local_inc_u64(uint64_t *p)
{
#if defined(__x86_64__) && !defined(LP_TSAN)
    __asm__ __volatile__("incq %0" : "+m"(*p) : : "cc");
#else
    __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
#endif
}

/* ---- records shared with Swift (layouts checked below) -------------------- */

/* A thread's entry and exit counts of one function: row f->index of the
 * thread's rows (countCall in Hooks.swift). Only the owner writes its rows,
 * with one read-modify-write instruction each (lp_local_inc_u64), so a
 * signal handler's counts land before or after the interrupted one's, never
 * in between; lp_func_counts() sums every live thread's row with the
 * function's totals, into which a thread's rows are flushed when it leaves. */
typedef struct lp_count_row {
    uint64_t entries;
    uint64_t exits;
} lp_count_row_t;

/* Every thread's rows span all LP_MAX_FUNCS functions (1 MiB of address
 * space, mapped without reserving memory): indexed, never tagged or evicted,
 * and never grown, so the hooks need no check and no lock. Memory is used
 * only for the 4 KiB pages of rows the thread touches: 16 bytes per function
 * it calls, 256 functions to a page. The mapping belongs to the record's
 * slot and is kept when the slot is reused; its rows are all zero whenever
 * the slot is free. */
#define LP_COUNT_ROWS_BYTES ((size_t)LP_MAX_FUNCS * sizeof(lp_count_row_t))

/* The shadow stack: the functions a thread is inside, outermost first, one
 * entry per hooked activation below depth LP_FRAMES_KNOWN (deeper ones are
 * not kept). It is what the patcher reads instead of the thread's stack
 * (the kernel's stack check): a thread whose activation predates the
 * transition blocks only while one of these is in the transition's set. It
 * lies in the thread's record, right after the hook state, so that a hook
 * addresses its frames from the record pointer it already holds. Only the
 * owner writes it; entries at or above fdepth are stale. */
typedef struct lp_frame {
    const struct lp_func *func;
    uint64_t key; /* lp_frame_key() at its entry */
} lp_frame_t;

/* A registered thread: 512 bytes, written on the hot path only by its owner. */
typedef struct lp_thread_rec {
    /* line 0: the hook state */
    uint32_t fdepth;      /* nesting of hooked functions */
    uint32_t kdepth;      /* nesting of kernel sections */
    uint64_t fepoch;      /* transition epoch read at the outermost function entry */
    uint64_t kepoch;      /* transition epoch read at the outermost kernel entry */
    uint64_t act;         /* the area activation word (Activation.swift) */
    uint32_t offline;     /* 1 while lp_thread_offline() holds */
    uint32_t reserved;
    lp_count_row_t *rows; /* the thread's count rows (LP_COUNT_ROWS_BYTES, mapped once per slot) */
    uint64_t unbalanced;  /* exits with nothing to exit */
    uint32_t slot;        /* index in lp_thread_table */
    uint32_t state;       /* LP_REC_* */
    /* lines 1-4: the shadow stack */
    lp_frame_t frames[LP_FRAMES_KNOWN];
    /* cold: registry */
    uint64_t generation;  /* bumped each time the slot is reused */
    struct cds_list_head node; /* in lp_thread_list, RCU-protected */
    struct rcu_head rcu;       /* the slot returns to the free list after a grace period */
    int32_t tid;
    uint32_t exited_inside;
    uint64_t pthread;          /* pthread_t of the owner, for nudges */
    char name[LP_THREAD_NAME_MAX];
    uint8_t pad[112];          /* to a whole number of cache lines */
} lp_thread_rec_t;

enum { LP_REC_FREE = 0, LP_REC_LIVE = 1, LP_REC_DEAD = 2 };

/* A registered function: 128 bytes; line 0 is read by every hook. */
struct lp_func {
    const void *impl;      /* current implementation outside a transition */
    uint64_t tx_epoch;     /* epoch of the transition this function is in; 0 none */
    const void *tx_old;    /* its implementation in that transition's old universe */
    const void *tx_new;    /* ... and in the new one */
    uint32_t tx_index;     /* index among the transition's functions */
    uint32_t hold;         /* SWITCH_FUNCTION: new entries wait while 1 (futex word) */
    uint32_t fn_universe;  /* SWITCH_FUNCTION: this function's universe */
    uint32_t index;        /* index in lp_func_table */
    const void *orig;      /* the registered implementation */
    const char *name;      /* owned copy */
    /* line 1: totals flushed from the thread caches, written by any thread */
    uint64_t entries;
    uint64_t exits;
    uint64_t live;         /* 1 once registered */
    uint64_t pad[5];
};

/* A patch handle: the data lives in Swift; this is what C holds. */
struct lp_patch {
    uint32_t live;
    uint32_t index;
    uint64_t generation;
};

/* The transition state every hook reads: one read-mostly line, then one line
 * the threads write (the futex word that wakes the patcher). */
typedef struct lp_global {
    uint64_t epoch;        /* bumped (release) when a transition starts */
    uint32_t leave;        /* cell of the transition of `epoch` */
    uint32_t sw;
    uint32_t flags;        /* model extras */
    uint32_t target;       /* 0 old, 1 new: the universe the transition heads to */
    uint32_t kuniv;        /* SWITCH_KERNEL: the kernel-wide universe */
    uint32_t hold;         /* SWITCH_KERNEL: new activations wait while 1 (futex word) */
    uint32_t waiting;      /* the patcher sleeps in lp_transition_wait: wake it */
    uint32_t kernel_area;  /* 1 while a LEAVE_KERNEL transition of `epoch` runs */
    uint64_t *fn_counts;   /* SWITCH_FUNCTION: per-thread rows of per-function counters */
    uint64_t fn_stride;    /* ... words per row */
    uint64_t pad0[1];
    /* line 1 */
    uint32_t wake_seq;     /* futex word: bumped by threads that unblock the patcher */
    uint32_t pad1;
    uint64_t unregistered_calls; /* hooks on threads with no record */
    uint64_t unbalanced_unregistered; /* exits on threads with no record */
    uint64_t abandoned_exits; /* frames left without their exit hook (longjmp) */
    uint64_t pad2[4];
} lp_global_t;

_Static_assert(sizeof(lp_thread_rec_t) == 512, "per-thread state is at most 512 bytes, whole lines");
_Static_assert(offsetof(lp_thread_rec_t, frames) == 64, "hook state fills line 0, the frames follow");
_Static_assert(sizeof(lp_frame_t[LP_FRAMES_KNOWN]) == 256, "the frames fill lines 1-4");
_Static_assert(sizeof(struct lp_func) == 128, "function record is two lines");
_Static_assert(offsetof(struct lp_func, entries) == 64, "flushed totals on their own line");
_Static_assert(sizeof(lp_global_t) == 128, "global: read-mostly line + written line");
_Static_assert(offsetof(lp_global_t, wake_seq) == 64, "wake_seq on its own line");

/* The records carry no alignment attribute (Swift imports over-aligned C
 * structs as opaque); the storage below is cache-line aligned instead, and
 * every record size is a whole number of lines. */
/* Hidden: the hooks address them PC-relative, not through the GOT, in the
 * shared library too; nothing outside the library names them. */
#define LP_INTERNAL __attribute__((visibility("hidden")))
extern LP_INTERNAL lp_global_t lp_global;
extern LP_INTERNAL lp_thread_rec_t lp_thread_table[LP_MAX_THREADS];
extern LP_INTERNAL struct lp_func lp_func_table[LP_MAX_FUNCS];
extern LP_INTERNAL struct lp_patch lp_patch_table[LP_MAX_PATCHES];
/* Swift imports C arrays as tuples, which cannot be this long. */
static inline lp_thread_rec_t *lp_thread_table_base(void) { return lp_thread_table; }
static inline struct lp_func *lp_func_table_base(void) { return lp_func_table; }
static inline struct lp_patch *lp_patch_table_base(void) { return lp_patch_table; }

/* lp_global as the Swift engine reaches it: through a pointer. With Swift's
 * dynamic exclusivity checking on (the engine built by a package that depends
 * on this one), `&lp_global.x` is an access to the whole C global for the
 * length of the call, and nested ones (a callee reading lp_global) trap, and
 * transitions under load stopped completing; `&lp_global_ref().pointee.x` is
 * the field's address, unchecked, in every build. */
static inline lp_global_t *lp_global_ref(void) { return &lp_global; }
/* SWITCH_FUNCTION counter rows: published before lp_global.epoch (release). */
static inline uint64_t *lp_global_fn_counts(void) { return __atomic_load_n(&lp_global.fn_counts, __ATOMIC_RELAXED); }
static inline void lp_global_set_fn_counts(uint64_t *rows, uint64_t stride)
{
    __atomic_store_n(&lp_global.fn_counts, rows, __ATOMIC_RELAXED);
    __atomic_store_n(&lp_global.fn_stride, stride, __ATOMIC_RELAXED);
}

__attribute__((returns_nonnull)) static inline lp_frame_t *lp_rec_frames(const lp_thread_rec_t *rec) { return (lp_frame_t *)rec->frames; }
static inline const struct lp_func *lp_frame_func(const lp_frame_t *fr) { return __atomic_load_n(&fr->func, __ATOMIC_RELAXED); }
static inline void lp_frame_set_func(lp_frame_t *fr, const struct lp_func *f) { __atomic_store_n(&fr->func, f, __ATOMIC_RELAXED); }
/* The frame key: the hook's frame address, which is the caller's stack
 * pointer at the call less 16 whichever hook was called (the cyg hooks
 * tail-call lp_func_enter/exit, and every Swift function keeps a frame
 * pointer). The stack grows down: a frame whose key is below the key of a
 * later hook was left without its exit hook (longjmp, an exception). Only
 * the owner reads the keys. Always inlined, so it is the hook's own frame. */
static inline __attribute__((always_inline)) uint64_t lp_frame_key(void)
{
    return (uint64_t)(uintptr_t)__builtin_frame_address(0);
}

/* The thread's row of counts of the function at func_index. */
__attribute__((returns_nonnull)) static inline lp_count_row_t *lp_rec_row(const lp_thread_rec_t *rec, uint32_t func_index)
{
    return rec->rows + func_index;
}
lp_count_row_t *lp_sys_rows_map(void);           /* a thread's rows, zeroed; NULL: no memory (async-signal-safe) */
void lp_sys_rows_discard(lp_count_row_t *rows);  /* all rows back to zero, and their memory returned */

/* ---- the address table: what __cyg_profile_func_enter looks up --------------
 * (ProfileHooks.swift.) Open addressing with linear probing, keyed by the
 * original implementation address of each function registered with
 * lp_func_register_auto(). Written only under the registry lock, and never
 * shrinks (functions are never unregistered); read lock-free by the cyg hooks
 * of any thread, in signal handlers too. A writer stores func, then the key
 * with release (lp_addr_publish); a reader acquire-loads the key
 * (lp_addr_key), so a key equal to its address implies the func stored
 * before it. Twice LP_MAX_FUNCS slots keep the load factor at most 1/2, so a
 * miss (most instrumented functions) probes about 1.5 slots on average. */
typedef struct lp_addr_slot {
    const void *addr;
    struct lp_func *func;
} lp_addr_slot_t;

#define LP_ADDR_BITS 17
#define LP_ADDR_SLOTS (1u << LP_ADDR_BITS)
_Static_assert(LP_ADDR_SLOTS == 2 * LP_MAX_FUNCS, "address table: load factor 1/2 at capacity");
extern LP_INTERNAL lp_addr_slot_t lp_addr_table[LP_ADDR_SLOTS];

/* Fibonacci hashing of the address less its low 4 bits (functions are
 * 16-byte aligned at -O2 on x86-64). */
static inline uint32_t lp_addr_hash(const void *addr)
{
    return (uint32_t)((((uintptr_t)addr >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - LP_ADDR_BITS));
}
static inline lp_addr_slot_t *lp_addr_slot(uint32_t i) { return &lp_addr_table[i & (LP_ADDR_SLOTS - 1)]; }
static inline const void *lp_addr_key(const lp_addr_slot_t *s) { return __atomic_load_n(&s->addr, __ATOMIC_ACQUIRE); }
static inline struct lp_func *lp_addr_func(const lp_addr_slot_t *s) { return __atomic_load_n(&s->func, __ATOMIC_RELAXED); }
static inline void lp_addr_publish(lp_addr_slot_t *s, const void *addr, struct lp_func *f)
{
    __atomic_store_n(&s->func, f, __ATOMIC_RELAXED);
    __atomic_store_n(&s->addr, addr, __ATOMIC_RELEASE);
}

/* ---- the TLS block ----------------------------------------------------------- */

typedef struct lp_tls {
    lp_thread_rec_t *rec;  /* NULL until the thread registers */
    uint32_t registering;  /* 1 while registration runs (a nested signal hook must not re-enter it) */
    uint32_t urcu_online;  /* nesting of lp_rcu_reader_online(): registered with liburcu while > 0 */
    uint64_t generation;   /* generation of rec at registration; a fork child re-checks it */
} lp_tls_t;

extern __thread lp_tls_t lp_tls __attribute__((tls_model("initial-exec")));
static inline lp_tls_t *lp_tls_block(void) { return &lp_tls; }
static inline lp_thread_rec_t *lp_tls_rec(void) { return lp_tls.rec; }

/* ---- out of line system calls and liburcu wrappers (lp_shim.c) -------------- */

void lp_sys_membarrier_init(void); /* membarrier where the kernel has it, else the signal barrier */
void lp_sys_membarrier(void);      /* a full fence on every thread of the process */
int lp_sys_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns); /* 0 woken, -ETIMEDOUT, -EAGAIN, -EINTR */
void lp_sys_futex_wake(uint32_t *word, int count);
int32_t lp_sys_gettid(void);
int lp_sys_thread_runnable(int32_t tid); /* 1: running or waiting for a CPU (not asleep); 0 for simulated threads */
uint64_t lp_sys_pthread_self(void);
int lp_sys_pthread_kill(uint64_t thread, int signo);
int lp_sys_signal_catchable(int signo); /* 1: a handler can be installed for signo */
uint64_t lp_sys_now_ns(void);      /* CLOCK_MONOTONIC (a simulated thread: the run's logical clock) */
void lp_sys_yield(void);
void lp_sys_cpu_relax(void);
void *lp_sys_calloc(size_t n, size_t size);
void lp_sys_free(void *p);
char *lp_sys_strdup(const char *s);
void lp_sys_set_errno(int err);
int lp_sys_thread_exit_hook(void (*fn)(void *)); /* pthread key whose destructor is fn */
void lp_sys_thread_exit_arm(void *value);        /* set this thread's key value */
int lp_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
void lp_sys_keep(uint64_t value); /* does nothing, out of the optimizer's sight: a read it must keep */
int lp_sys_on_altstack(void);     /* 1 while a signal handler runs on the sigaltstack */

/* ---- simulation mode (Simulation.swift) --------------------------------------
 * lp_sys_futex_wait/wake, lp_sys_now_ns and lp_sys_pthread_kill route through
 * these ops when the calling thread is a simulated one; an op returns
 * LP_SIM_PASS to let the plain system call run. The *_raw calls are the plain
 * ones, for the scheduler itself. */
#define LP_SIM_PASS 1
typedef int (*lp_sim_futex_wait_fn)(uint32_t *word, uint32_t expected, uint64_t timeout_ns);
typedef void (*lp_sim_futex_wake_fn)(uint32_t *word, int count);
typedef uint64_t (*lp_sim_now_fn)(void);
typedef int (*lp_sim_kill_fn)(uint64_t thread, int signo);
typedef struct lp_sim_ops {
    lp_sim_futex_wait_fn futex_wait;
    lp_sim_futex_wake_fn futex_wake;
    lp_sim_now_fn now;
    lp_sim_kill_fn kill;
} lp_sim_ops_t;
extern LP_INTERNAL lp_sim_ops_t lp_sim_ops;
/* Set once, before the first simulated thread exists; never cleared. */
static inline void lp_sim_install(lp_sim_futex_wait_fn w, lp_sim_futex_wake_fn k, lp_sim_now_fn n, lp_sim_kill_fn s)
{
    /* Each pairs with the acquire load of the same op in lp_shim.c: an op
     * seen set is callable. (They are only used on simulated threads, whose
     * sim_self is set under lp_sim_lock after this, so that orders them too.) */
    __atomic_store_n(&lp_sim_ops.futex_wake, k, __ATOMIC_RELEASE);
    __atomic_store_n(&lp_sim_ops.now, n, __ATOMIC_RELEASE);
    __atomic_store_n(&lp_sim_ops.kill, s, __ATOMIC_RELEASE);
    __atomic_store_n(&lp_sim_ops.futex_wait, w, __ATOMIC_RELEASE);
}
uint32_t lp_sim_self(void);           /* 1 + the calling thread's simulated id; 0: not simulated */
void lp_sim_set_self(uint32_t id);   /* nonzero: also arms the exit hook below */
int lp_sim_exit_hook(void (*leave)(void)); /* once: leave() runs at the exit of a thread still simulated; 0 or -errno */
void lp_sim_lock(void);               /* guards the join phase (threads arrive concurrently) */
void lp_sim_unlock(void);
int lp_sys_futex_wait_raw(uint32_t *word, uint32_t expected, uint64_t timeout_ns);
void lp_sys_futex_wake_raw(uint32_t *word, int count);
uint64_t lp_sys_now_ns_raw(void);
int lp_sys_pthread_kill_raw(uint64_t thread, int signo);
/* A plain mutex for the slow paths (registry, patches, transitions). */
void lp_lock_registry(void);
void lp_unlock_registry(void);
void lp_lock_patcher(void);
void lp_unlock_patcher(void);
void lp_locks_reinit_after_fork(void);
/* The fork gate, shared: held across the engine's own uses of liburcu that
 * no other lock covers (the thread-list scans, a record's retirement), so
 * that the fork handler, which takes it exclusively, never forks while
 * another thread is inside liburcu's registry lock or a read section, or
 * between retiring a record and queueing its free. Not recursive. */
void lp_fork_gate_enter(void);
void lp_fork_gate_exit(void);
void lp_fork_gate_lock(void);    /* exclusive: the fork handler */
void lp_fork_gate_unlock(void);

/* liburcu: reader registration, read side, thread list, call_rcu. */
void lp_rcu_reader_online(void);   /* nests; registers the calling thread with liburcu on the first */
void lp_rcu_reader_offline(void);
void lp_rcu_read_lock(void);
void lp_rcu_read_unlock(void);
void lp_rcu_synchronize(void);
void lp_thread_list_add(lp_thread_rec_t *rec);
void lp_thread_list_del(lp_thread_rec_t *rec);
void lp_thread_list_reset(void);
lp_thread_rec_t *lp_thread_list_first(void);  /* under lp_rcu_read_lock */
lp_thread_rec_t *lp_thread_list_next(lp_thread_rec_t *rec);
void lp_rcu_set_free_callback(void (*fn)(lp_thread_rec_t *)); /* once, before any free */
void lp_rcu_free_thread(lp_thread_rec_t *rec);  /* fn(rec) after a grace period */
void lp_rcu_before_fork(void);
void lp_rcu_after_fork_parent(void);
void lp_rcu_after_fork_child(void);

#endif /* LP_SHIM_H */
