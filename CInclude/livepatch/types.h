/*
 * livepatch/types.h — the types and constants of the swift-livepatch C ABI.
 *
 * Included by <livepatch.h>; also imported by the engine's C shim so that the
 * Swift code and C callers agree on every layout (see _Static_assert below).
 */
#ifndef LIVEPATCH_TYPES_H
#define LIVEPATCH_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a layout or a signature below changes incompatibly. */
#define LP_ABI_VERSION 1

/* Capacities. Registration past them fails with ENOMEM. */
#define LP_MAX_THREADS 8192   /* live registered threads (records are reused after a grace period) */
#define LP_MAX_FUNCS 65536    /* registered functions, for the life of the process */
#define LP_MAX_PATCHES 1024   /* patches in existence at once */
#define LP_THREAD_NAME_MAX 24 /* bytes kept of a thread's name, NUL included */
#define LP_NAME_MAX 4096      /* bytes of a function's or patch's name, NUL included; longer: EINVAL */
/* A thread's hooked functions are known to this depth (its shadow stack:
 * 16 bytes of address space a frame, memory only for the pages a thread
 * has reached): a thread whose activation predates a transition and is
 * deeper than this blocks it as if a set function were among the frames
 * beyond (until it returns within), and a jump out of frames beyond it
 * leaves their exits uncounted. */
#define LP_FRAMES_KNOWN 65536
#define LP_INSIDE_MAX 4       /* set functions a stall report names per thread */

/* A patchable function: a name and its original implementation. Opaque. */
typedef struct lp_func lp_func_t;
/* A set of (function -> new implementation) plus a consistency model. Opaque. */
typedef struct lp_patch lp_patch_t;

/* The area whose entries and exits are counted (docs/DESIGN.md section 2). */
typedef enum lp_leave {
    LP_LEAVE_FUNCTION = 0,    /* count nothing */
    LP_LEAVE_PATCHED_SET = 1, /* count activations of patched-set functions */
    LP_LEAVE_KERNEL = 2,      /* count kernel sections (lp_kernel_enter .. lp_kernel_exit) */
} lp_leave_t;

/* What flips once the count allows it. */
typedef enum lp_switch {
    LP_SWITCH_FUNCTION = 0, /* each function on its own */
    LP_SWITCH_THREAD = 1,   /* each thread, when its own count is zero */
    LP_SWITCH_KERNEL = 2,   /* everything at once, when the sum over threads is zero */
} lp_switch_t;

/*
 * A consistency model: bits 0-3 leave, bits 4-7 switch, bits 8-15 extras.
 * Build one with lp_model() or take a preset; LP_MODEL_INVALID is what
 * lp_model() returns for out-of-range arguments.
 */
typedef uint32_t lp_model_t;

/* Extra: an outermost lp_kernel_exit() is a switch point, like the return to
 * user space in the kernel: the thread declares it holds no patched-set
 * function on its stack there. */
#define LP_MODEL_F_KERNEL_EXIT_SWITCHES 0x100u
/* Extra: counting is armed per thread only once it has left the kernel after
 * the transition started (Hiramatsu's preparatory phase). */
#define LP_MODEL_F_ARM_AT_KERNEL_EXIT 0x200u
/* Detector: stack checking instead of counting (klp_check_stack). With it the
 * hooks count nothing for the set; at transition time the patcher signals
 * each registered thread (real-time signal SIGRTMIN + 6, whose handler the
 * library installs at the first stack-checking transition: leave it alone), whose handler walks its own stack by frame pointers and looks
 * for a function of the set: its hooked activations (lp_func_enter ..
 * lp_func_exit) and any frame, interrupted PC or return address inside an
 * implementation of the set (code ranges from the symbol table; an
 * implementation with no symbol makes lp_patch_enable fail with -ENOEXEC).
 * A walk that cannot be trusted blocks the thread as unreliable
 * (LP_STALL_UNRELIABLE_STACK): a frame pointer outside the thread's stack or
 * not above the one before, a PC or return address in no loaded executable
 * mapping, or a stack deeper than the shadow stack's LP_FRAMES_KNOWN hooked
 * frames. So every frame of the program must keep its frame pointer: build
 * with -fno-omit-frame-pointer (and -mno-omit-leaf-frame-pointer; a leaf's
 * return address is also read at the stack pointer, conservatively). A
 * signal interrupts a sleeping thread too; a blocking call that is not
 * restarted (SA_RESTART) returns EINTR. x86-64 only: elsewhere every walk is
 * unreliable. Only with LP_LEAVE_PATCHED_SET and LP_SWITCH_THREAD (a clean
 * thread switches right in its handler, as klp_try_switch_task) or
 * LP_SWITCH_KERNEL (every thread parks in its handler, all stacks are
 * checked, all switch at once and are released: kpatch's stop_machine;
 * retried after the switch policy's pause when one is not clean). Pad-patched
 * functions have no hooked activation: the walk alone attributes them. */
#define LP_MODEL_F_STACK_CHECK 0x400u

#define LP_MODEL_CELL(leave, sw) ((lp_model_t)((unsigned)(leave) | ((unsigned)(sw) << 4)))
#define LP_MODEL_INVALID ((lp_model_t)0xffffffffu)

#define LP_MODEL_IMMEDIATE LP_MODEL_CELL(LP_LEAVE_FUNCTION, LP_SWITCH_FUNCTION)
#define LP_MODEL_KGRAFT LP_MODEL_CELL(LP_LEAVE_KERNEL, LP_SWITCH_THREAD)
#define LP_MODEL_KPATCH LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_KERNEL)
#define LP_MODEL_UPSTREAM \
    ((lp_model_t)(LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD) | LP_MODEL_F_KERNEL_EXIT_SWITCHES))
#define LP_MODEL_HIRAMATSU \
    ((lp_model_t)(LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_KERNEL) | LP_MODEL_F_ARM_AT_KERNEL_EXIT))
#define LP_MODEL_RENEW LP_MODEL_CELL(LP_LEAVE_KERNEL, LP_SWITCH_KERNEL)
/* The peers with the kernel's detector: upstream livepatch as it is (stack
 * check, per-thread switch, kernel exit a switch point) and kpatch.ko
 * (stop_machine plus stack check). Like kpatch, KPATCH_STACK needs an
 * instant at which no thread is inside the set: under constant load in the
 * set every stop finds some thread there, so the transition stays pending
 * (lp_transition_wait returns -ETIMEDOUT and the stalled threads are named,
 * "in set") where kpatch's load would fail with -EBUSY. Its policy only
 * waits: end it with lp_transition_reverse (kpatch's failed load) or
 * lp_transition_force, or give a user model a pending policy. */
#define LP_MODEL_UPSTREAM_STACK ((lp_model_t)(LP_MODEL_UPSTREAM | LP_MODEL_F_STACK_CHECK))
#define LP_MODEL_KPATCH_STACK ((lp_model_t)(LP_MODEL_KPATCH | LP_MODEL_F_STACK_CHECK))

/*
 * User-defined models (lp_model_register). A model declares what is counted
 * (counts), what switches (switches) and its extra switch points; these
 * shape what the hooks do and are read once. Its pending() callback decides,
 * at each completion check that finds the transition pending, whether to
 * keep waiting, reverse or force. The presets and cells are written against
 * the same declarations (Sources/LivePatch/Models/, `Cell`).
 */
#define LP_MODEL_USER_BASE 0x10000u /* first id lp_model_register() hands out */
#define LP_MAX_USER_MODELS 64
#define LP_MODEL_NAME_MAX 32        /* bytes of a model's name, NUL included */

/* lp_model_ops_t.pending() answers */
enum {
    LP_PENDING_WAIT = 0,    /* keep waiting (any unknown answer counts as this) */
    LP_PENDING_REVERSE = 1, /* turn the transition around (lp_transition_reverse) */
    LP_PENDING_FORCE = 2,   /* complete it now (lp_transition_force) */
};

/* Where a pending transition stands, passed to lp_model_ops_t.pending(). */
typedef struct lp_transition_progress {
    lp_patch_t *patch;          /* the patch being enabled or disabled */
    int patching;               /* 1: heading to the patched state */
    int enabling;               /* 1: the transition began as an enable */
    uint64_t elapsed_ns;        /* since it started (virtual time in simulation) */
    uint64_t checks;            /* completion checks so far, this one included */
    uint64_t pending_threads;   /* threads that blocked at this check */
    uint64_t pending_functions; /* SWITCH_FUNCTION: functions not yet switched */
    uint32_t reversals;         /* times this transition was reversed */
    uint32_t hold_timeouts;     /* holds that ran out or stalled during this transition */
} lp_transition_progress_t;

typedef struct lp_model_ops {
    const char *name;           /* copied; unique, 1..LP_MODEL_NAME_MAX-1 bytes */
    lp_leave_t counts;          /* what is counted */
    lp_switch_t switches;       /* what switches */
    unsigned switch_points;     /* LP_MODEL_F_* */
    /* Called on the patcher's thread with the patcher lock held: decide from
     * progress and return LP_PENDING_*; do not call into the library. With
     * LP_PENDING_WAIT, *recheck_in_ns (0 on entry) asks for a check within
     * that time even if no thread reports progress (for deadlines). NULL:
     * always wait. */
    int (*pending)(const lp_transition_progress_t *progress, uint64_t *recheck_in_ns, void *ctx);
    void *ctx;                  /* passed to pending() */
} lp_model_ops_t;

/* What lp_model_describe() reports about any model id. */
typedef struct lp_model_info {
    char name[LP_MODEL_NAME_MAX]; /* preset ("KGRAFT"), cell ("PATCHED_SET x THREAD") or registered name */
    lp_leave_t counts;
    lp_switch_t switches;       /* as declared (KERNEL x FUNCTION runs as KERNEL x KERNEL) */
    unsigned switch_points;     /* LP_MODEL_F_* */
    int user;                   /* 1: registered with lp_model_register() */
} lp_model_info_t;

/* lp_transition_status_t.state */
enum {
    LP_TRANSITION_IDLE = 0,
    LP_TRANSITION_PATCHING = 1,   /* enabling a patch, or a reversed disable */
    LP_TRANSITION_UNPATCHING = 2, /* disabling a patch, or a reversed enable */
};

/* lp_thread_info_t.reason: why a thread blocks the transition. */
enum {
    LP_STALL_IN_KERNEL = 1,       /* inside a kernel section that runs in the other universe */
    LP_STALL_IN_SET = 2,          /* inside a patched-set activation that runs in the other universe */
    LP_STALL_NO_SWITCH_POINT = 3, /* its current activation predates the transition: no switch point reached yet */
    LP_STALL_UNRELIABLE_STACK = 4, /* LP_MODEL_F_STACK_CHECK: its stack could not be walked reliably, or it has not answered yet */
};

/* lp_debug_inject_bug() kinds: protocol breaks for proving the checkers. */
enum {
    LP_BUG_NONE = 0,
    LP_BUG_SKIP_GRACE_PERIOD = 1,  /* no fence after publishing, and activations that predate the transition are ignored */
    LP_BUG_SWITCH_BUSY_THREAD = 2, /* a thread inside an old activation is counted as switched */
    LP_BUG_FLIP_BUSY_KERNEL = 3,   /* SWITCH_KERNEL flips at once, whatever the count */
    LP_BUG_HANDLER_STEADY = 4,     /* a signal handler nested in an outermost entry, before that entry read the epoch, runs the steady implementation */
    LP_BUG_PAD_NOT_WRITTEN = 5,    /* user-space ftrace: arming a pad reports success but leaves its NOPs */
    LP_BUG_STACK_SKIP_FRAME = 6,   /* the stack walker skips the innermost hooked frame and the first frame above the interrupted one */
};

/* ---- callbacks, system state, atomic replace ------------------------------ */

/* lp_patch_create() flag: atomic replace (the kernel's cumulative patch). One
 * transition takes the program from the stack of enabled patches to this
 * patch alone: every function any enabled patch touches is in it, and those
 * the new patch does not replace go back to their original implementation.
 * When it completes, the replaced patches are disabled (off the stack, their
 * callbacks not run); a reversed replace leaves the old stack as it was. */
#define LP_PATCH_REPLACE 0x1u

/*
 * Callbacks, as in the kernel's Documentation/livepatch/callbacks.rst. Each
 * may be NULL. They run on a patcher thread, in the call that reached the
 * point below, with no engine lock held:
 *
 *   pre_patch     in lp_patch_enable(), before the transition starts. Nonzero
 *                 cancels: lp_patch_enable() returns -ECANCELED, nothing
 *                 switches, and no other callback of the patch runs for it
 *                 (post_unpatch does not, as in the kernel).
 *   post_patch    after a transition ends with the patch enabled: its enable
 *                 completed, or its disable was reversed and completed.
 *   pre_unpatch   in lp_patch_disable(), before the transition starts.
 *   post_unpatch  after a transition ends with the patch disabled: its disable
 *                 completed, or its enable was reversed and completed (then
 *                 pre_patch ran and pre_unpatch never does).
 *
 * A completion runs post_patch/post_unpatch exactly once, before the
 * lp_transition_try_complete(), lp_transition_wait() or lp_transition_force()
 * that completed the transition returns (another thread's wait may return
 * first): on that call's thread, or on a thread that was already running
 * queued log lines and callbacks at the time (events run one at a time, in
 * order; the completing call waits for that thread to have run its event). A forced transition completes like any other. With
 * atomic replace only the new patch's callbacks run, never those of the
 * patches it replaces. Engine log lines (lp_set_log_handler) and callbacks
 * are delivered in program order.
 *
 * Inside a callback the engine is not locked, so any call is safe, but the
 * patcher is busy until the callback returns: lp_patch_enable and
 * lp_patch_disable return -EBUSY at once, from any thread, and so do the calls that
 * edit or destroy the patch whose callback runs (lp_patch_add_func,
 * _add_func_by_name, _extend_set, _add_state, _set_callbacks, _destroy).
 * Other patches may be created, edited and destroyed; lp_state_get,
 * lp_func_register, lp_func_lookup and lp_transition_status work, and
 * lp_transition_try_complete answers 1 (no transition can be in flight). No
 * call on another thread waits for a callback to return, so a callback may
 * wait for another thread's calls. A thread that wants to start a transition
 * meanwhile must retry later, never wait for the callback's thread.
 */
typedef struct lp_callbacks {
    int (*pre_patch)(lp_patch_t *p, void *ctx); /* nonzero: cancel, nothing switches */
    void (*post_patch)(lp_patch_t *p, void *ctx);
    void (*pre_unpatch)(lp_patch_t *p, void *ctx);
    void (*post_unpatch)(lp_patch_t *p, void *ctx);
} lp_callbacks_t;


typedef struct lp_transition_status {
    int state;                  /* LP_TRANSITION_* */
    lp_model_t model;           /* model of the transition in flight (or of the last one) */
    uint64_t pending_threads;   /* threads that blocked at the last check */
    uint64_t pending_functions; /* SWITCH_FUNCTION: functions not yet switched */
    uint64_t transitions;       /* transitions started since the process began */
    uint64_t completed;         /* ... of which completed (forced ones included) */
    uint64_t reversed;          /* lp_transition_reverse() calls */
    uint64_t forced;            /* lp_transition_force() calls */
    uint64_t checks;            /* completion checks (scans) made */
    uint64_t hold_attempts;     /* SWITCH_KERNEL/FUNCTION: times new entries were held back */
    uint64_t hold_timeouts;     /* ... that timed out or stalled (not those cut short by a wait's deadline) */
    uint64_t hold_ns;           /* the bound on one hold (policy) */
    uint64_t retry_ns;          /* the pause between two holds (policy) */
    uint64_t nudges_sent;       /* signals sent to stalled threads */
    uint64_t registered_threads;
    uint64_t registered_functions;
    uint64_t unbalanced_exits;  /* lp_func_exit/lp_kernel_exit with nothing to exit (misuse) */
    uint64_t exited_inside;     /* threads that exited inside a kernel section or a patched function (misuse) */
    uint64_t unregistered_calls; /* entry hooks on threads that could not register: capacity, or a signal handler
                                    nested in the thread's registration, in its exit once unregistered, or in an
                                    engine call that holds the thread registry (their exits are not unbalanced) */
    char patch[32];             /* name of the patch in transition (or of the last one) */
    /* Hooked frames left without their exit hook (longjmp, siglongjmp, an
     * exception through instrumented code): the next hook of the thread that
     * runs above them exits them, counting an exit of each function in
     * lp_func_counts(), and counts them here. */
    uint64_t abandoned_exits;
} lp_transition_status_t;

typedef struct lp_thread_info {
    char name[LP_THREAD_NAME_MAX];
    int tid;                    /* kernel thread id (gettid) */
    int reason;                 /* LP_STALL_* */
    uint32_t kernel_depth;      /* nesting of kernel sections */
    uint32_t function_depth;    /* nesting of hooked functions */
    /* The functions of the transition's set (and extended set) the thread is
     * inside, as the kernel's /proc/PID/stack would show them: how many of
     * its first LP_FRAMES_KNOWN frames are, and the outermost LP_INSIDE_MAX
     * of them. */
    uint32_t n_inside;
    const lp_func_t *inside[LP_INSIDE_MAX];
} lp_thread_info_t;

/* ---- shadow variables (livepatch/shadow.h) ---- */
/* Runs on a new shadow's zeroed data before any other thread can see it;
 * nonzero fails the allocation (see lp_shadow_alloc). */
typedef int (*lp_shadow_ctor_t)(void *obj, void *shadow_data, void *ctor_data);
/* Runs on a shadow's data as it is freed, before the memory is reclaimed. */
typedef void (*lp_shadow_dtor_t)(void *obj, void *shadow_data);

/* ---- status snapshot (lp_status_snapshot, lp_status_json) -----------------
 * In the manner of the kernel's /sys/kernel/livepatch/<patch>/{enabled,
 * transition} and /proc/<pid>/patch_state. */

#define LP_PATCH_NAME_MAX 32 /* bytes kept of a patch's name in a snapshot, NUL included */

/* lp_thread_state_t.patch_state, as /proc/<pid>/patch_state. */
enum {
    LP_PATCH_STATE_NONE = -1,     /* no transition in flight */
    LP_PATCH_STATE_UNPATCHED = 0, /* the thread runs without the patch in transition */
    LP_PATCH_STATE_PATCHED = 1,   /* ... with it */
};

typedef struct lp_patch_info {
    char name[LP_PATCH_NAME_MAX];
    lp_model_t model;
    int enabled;          /* 1: enabled (its enabling transition completed; it stays 1 while it is being disabled) */
    int transition;       /* 1: the transition in flight enables or disables this patch */
    int replace;          /* 1: created with LP_PATCH_REPLACE */
    int stack_index;      /* position among the enabled patches, 0 the oldest; -1 not enabled */
    uint32_t functions;   /* functions it replaces (lp_patch_add_func) */
    uint32_t extended;    /* functions it only counts (lp_patch_extend_set) */
} lp_patch_info_t;

typedef struct lp_thread_state {
    char name[LP_THREAD_NAME_MAX];
    int tid;                 /* kernel thread id */
    int patch_state;         /* LP_PATCH_STATE_* */
    int blocking;            /* 0, or the LP_STALL_* reason it blocks the transition in flight */
    int offline;             /* 1 between lp_thread_offline() and lp_thread_online() */
    uint32_t kernel_depth;   /* nesting of kernel sections */
    uint32_t function_depth; /* nesting of hooked functions */
    uint32_t n_inside;       /* as in lp_thread_info_t: set functions it is inside (0 with no transition) */
    const lp_func_t *inside[LP_INSIDE_MAX]; /* ... the outermost of them */
} lp_thread_state_t;

typedef struct lp_snapshot {
    /* In: where the entries go and how many fit. An array may be NULL with a
     * capacity of 0 (count only). */
    lp_patch_info_t *patches;
    uint32_t patches_cap;
    uint32_t threads_cap;
    lp_thread_state_t *threads;
    /* Out: the totals (entries written: the smaller of total and capacity),
     * and the transition status, taken under the patcher lock (see
     * lp_status_snapshot for the registry counters). */
    uint32_t n_patches;   /* patches in existence */
    uint32_t n_threads;   /* live registered threads */
    lp_transition_status_t transition;
} lp_snapshot_t;

/* ---- simulation mode (livepatch/sim.h): deterministic, replayable interleavings ---- */

#define LP_SIM_MAX_THREADS 64

/* lp_sim_config_t.strategy */
enum {
    LP_SIM_RANDOM = 0, /* each step runs a runnable thread drawn uniformly */
    LP_SIM_PCT = 1,    /* probabilistic concurrency testing: priorities, depth-1 change points */
};

/* lp_sim_point() kinds: where a simulated thread offers the baton. */
enum {
    LP_SIM_ENTER = 1,        /* before lp_func_enter */
    LP_SIM_EXIT = 2,         /* before lp_func_exit */
    LP_SIM_KERNEL_ENTER = 3, /* before lp_kernel_enter */
    LP_SIM_KERNEL_EXIT = 4,  /* before lp_kernel_exit */
    LP_SIM_SAFE_POINT = 5,   /* before lp_safe_point, lp_thread_offline/online */
    LP_SIM_PATCHER = 6,      /* between two patcher calls */
    LP_SIM_OTHER = 7,        /* anywhere else the harness likes */
};

/* lp_sim_result_t.outcome */
enum {
    LP_SIM_DONE = 0,     /* every thread left */
    LP_SIM_DEADLOCK = 1, /* every thread left was blocked with no timeout: the run was let go */
    LP_SIM_BUDGET = 2,   /* max_steps ran out: the run was let go */
};

typedef struct lp_sim_config {
    uint64_t seed;        /* the whole schedule follows from it */
    int strategy;         /* LP_SIM_RANDOM or LP_SIM_PCT */
    unsigned pct_depth;   /* PCT: the bug depth d (d-1 priority change points); 0: 3 */
    unsigned threads;     /* threads that will call lp_sim_thread_join: 1..LP_SIM_MAX_THREADS */
    uint64_t max_steps;   /* step budget; 0: 1000000 */
    uint64_t pct_horizon; /* PCT: steps over which the change points are drawn; 0: max_steps */
} lp_sim_config_t;

typedef struct lp_sim_result {
    uint64_t steps;       /* scheduling decisions */
    uint64_t switches;    /* decisions that passed the baton to another thread */
    uint64_t hash;        /* FNV-1a of the decisions: the interleaving's identity */
    uint64_t virtual_ns;  /* the logical clock at the end */
    int outcome;          /* LP_SIM_DONE, LP_SIM_DEADLOCK, LP_SIM_BUDGET */
} lp_sim_result_t;

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_TYPES_H */
