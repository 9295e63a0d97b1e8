/*
 * The stack-checking detector (StackCheck.swift): the patcher asks a thread
 * whether a function of the transition's set is on its stack. It signals
 * the thread; the handler walks the thread's own stack by frame pointers
 * and answers, the way klp_check_stack() inspects a task's reliable stack
 * trace. C because the walk runs in a signal handler on a ucontext.
 *
 * Only the patcher (patcher lock held) writes the tables and requests; each
 * thread's handler writes its own cell's answer and, when told to switch,
 * its own universe.
 */
#ifndef LPS_STACK_SHIM_H
#define LPS_STACK_SHIM_H

#include "lps_shim.h"

/* A handler's verdict. */
enum lps_stack_verdict {
    LPS_STACK_NONE = 0,       /* not answered */
    LPS_STACK_CLEAN = 1,      /* no set function on the stack */
    LPS_STACK_IN_SET = 2,     /* one is: cell.func names it */
    LPS_STACK_UNRELIABLE = 3, /* the walk could not be trusted: blocks, as the kernel refuses an unreliable trace */
};

/* What a request asks of the handler. */
enum lps_stack_mode {
    LPS_STACK_CHECK = 0,  /* answer only */
    LPS_STACK_SWITCH = 1, /* answer; when clean, take the request's target universe (SWITCH_THREAD) */
    LPS_STACK_PARK = 2,   /* answer, then wait for lps_stack_release() (SWITCH_KERNEL's stop_machine) */
};

/* The code of one function implementation: [lo, hi), and the index of its
 * function record. */
typedef struct lps_stack_range {
    uintptr_t lo, hi;
    uint32_t func;
} lps_stack_range_t;

/* One per thread slot, indexed like lps_thread_table. */
typedef struct lps_stack_cell {
    uint64_t generation; /* the record generation `epoch`/`universe` belong to */
    uint64_t epoch;      /* transition whose universe this thread runs in */
    uint32_t universe;   /* valid when epoch and generation match */
    uint32_t request;    /* bumped by the patcher per request */
    uint32_t answered;   /* = request once the handler answered it */
    uint32_t verdict;    /* LPS_STACK_*: the last answer's */
    uint32_t func;       /* LPS_STACK_IN_SET: the set function found */
    uint32_t pad;
    uintptr_t stack_lo, stack_hi; /* the thread's stack, for the bounds check (0: unknown) */
    uint64_t bounds_generation;   /* the record generation the bounds belong to */
} lps_stack_cell_t;

extern LPS_INTERNAL lps_stack_cell_t lps_stack_cells[LP_MAX_THREADS];
static inline lps_stack_cell_t *lps_stack_cell(const lps_thread_rec_t *rec) { return &lps_stack_cells[rec - lps_thread_table]; }

/* The universe `rec` runs in for transition `epoch`: its own once a stack
 * check or a switch point moved it, else the old one (0), where every
 * thread starts. Read by the owner (its hooks) and by the patcher after an
 * answer. */
static inline uint32_t lps_stack_universe(const lps_thread_rec_t *rec, uint64_t epoch, uint64_t generation)
{
    lps_stack_cell_t *c = lps_stack_cell(rec);
    /* Pairs with the release store of epoch in lps_stack_set_universe(). */
    if (__atomic_load_n(&c->epoch, __ATOMIC_ACQUIRE) != epoch) return 0;
    if (__atomic_load_n(&c->generation, __ATOMIC_RELAXED) != generation) return 0;
    return __atomic_load_n(&c->universe, __ATOMIC_RELAXED);
}
void lps_stack_set_universe(lps_thread_rec_t *rec, uint64_t epoch, uint32_t universe);

/* Installs the handler of LPS_STACK_SIGNAL once; 0 or -errno. */
int lps_stack_install(void);
int lps_stack_signal(void);

/* The set's code ranges for the requests that follow (copied; at most
 * LPS_STACK_RANGES_MAX), and the executable mappings a return address must
 * fall in to be attributed (refreshed from dl_iterate_phdr). 0 or -ENOMEM. */
#define LPS_STACK_RANGES_MAX (2 * LP_MAX_FUNCS)
int lps_stack_set_ranges(const lps_stack_range_t *ranges, uint32_t n);
int lps_stack_refresh_text(void);

/* The code range of the function containing addr, from the symbol table of
 * the object it is loaded from (.symtab, else .dynsym): 0, or -ENOENT. */
int lps_stack_symbol_range(const void *addr, uintptr_t *lo, uintptr_t *hi);
/* Fills the cell's stack bounds for the thread `pthread` (tid == pid: the
 * main thread) unless they are known for `generation`. */
void lps_stack_learn_bounds(lps_thread_rec_t *rec, uint64_t pthread, uint64_t generation);

/* Sends one request to `rec`'s thread: mode, and for LPS_STACK_SWITCH the
 * epoch and target universe. 0, or -errno from pthread_kill (the thread is
 * gone). The answer is in the cell once lps_stack_answered(). */
int lps_stack_request(lps_thread_rec_t *rec, uint64_t pthread, int mode, uint64_t epoch, uint32_t target);
int lps_stack_answered(const lps_thread_rec_t *rec);
/* The patcher's own thread answers clean without a signal: it is inside an
 * exported call that refuses to run inside a hooked activation (-EDEADLK),
 * and a handler would wait for itself. */
void lps_stack_answer_self(lps_thread_rec_t *rec, int mode, uint64_t epoch, uint32_t target);
/* Sleeps until a handler answers or timeout_ns passes. */
void lps_stack_wait_answers(uint32_t seen, uint64_t timeout_ns);
uint32_t lps_stack_answer_seq(void);
/* Ends a stop_machine: every parked handler returns. */
void lps_stack_release(void);
/* The debug bug: the walker skips the first frame above the interrupted one. */
void lps_stack_set_skip_frame(int on);

#endif
