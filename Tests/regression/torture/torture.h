/*
 * The torture harness's shared declarations (see include/lp_torture.h).
 *
 * One run is a sequence of rounds. In a round the threads run their
 * workloads while the driver makes one random transition (enable, disable,
 * stacked enable, reverse in flight, force, extended set) under the next
 * model of the selection; then every thread parks at the top of its loop,
 * and the checker reads what the threads recorded in the round:
 *
 *  - each call records the time before lp_func_enter (t_pre), after it
 *    returned (t_start, read first thing in the implementation) and before
 *    lp_func_exit (t_end), so [t_start, t_end] lies inside the true
 *    execution and t_pre is a lower bound of the entry: no false alarms;
 *  - kernel sections record [after lp_kernel_enter, before lp_kernel_exit];
 *  - every implementation knows its own (function, variant), so the
 *    universe a call ran in is known without asking the engine.
 *
 * The checker counts violations of I0-I3 (DESIGN.md section 2) for the cell
 * of the transition, calls into a retired implementation (poison), and
 * mismatches between lp_func_counts() and the harness's own counts.
 *
 * Where each part lives: calls.c (the implementations and the call paths,
 * signal handlers' calls included), workload.c (what each kind of thread
 * does), checker.c (the judge of a round's records), driver.c (patches,
 * rounds, pause and resume), sim_run.c and sim.c (--sim), report.c (tables,
 * progress, JSON), run.c (lp_torture_run), models.c (model names),
 * options.c and argv.c (the front ends' options), pad_workload.c.
 */
#ifndef LP_TORTURE_PRIVATE_H
#define LP_TORTURE_PRIVATE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "include/lp_torture.h"

#include <livepatch.h>
#include <livepatch/debug.h>
#include <livepatch/sim.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define NF 16          /* registered functions */
#define NPATCHABLE 12  /* 0..11 may be patched; 12..15 never are (calls outside the set) */
#define NV 8           /* variants per function: 0 original, 1..7 patch implementations */
#define MAX_STACK 3    /* enabled patches at once */
#define CHURN_SLOTS 8
#define NONE UINT32_MAX
#define HCAP 128       /* handler calls kept per thread and round */
#define IN_HANDLER -1  /* an implementation's depth when a signal handler called it */

/* ---- time, randomness ------------------------------------------------------- */

/* --sim: one thread runs at a time, time is the simulation's logical clock,
 * and the harness offers the baton next to every hook (see sim_main). */
extern int sim_on;
#define SIM_POINT(kind)              \
    do {                             \
        if (sim_on)                  \
            lp_sim_point(kind);      \
    } while (0)

static inline uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ns(void) { return sim_on ? lp_sim_now() : wall_ns(); }

static inline uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline unsigned rnd(uint64_t *s, unsigned n) { return (unsigned)(splitmix(s) % n); }

/* ---- records ------------------------------------------------------------------ */

struct rec {
    uint64_t t_pre, t_start, t_end;
    uint32_t parent;      /* index of the calling record in this thread's ring, or NONE */
    uint32_t section;     /* kernel section id, 0 outside any */
    uint16_t incarnation; /* churn slots host successive threads */
    uint8_t fn, ver;
};

struct sect {
    uint64_t t_start, t_end; /* t_end 0: the thread exited inside it */
    uint32_t id;
    uint16_t incarnation;
};

/* A call made by a signal handler. The handler writes these, and only on its
 * own thread (the two handlers block each other's signal, so one never nests
 * in the other): a plain array and index suffice, read at quiescence. */
struct hrec {
    struct rec r;  /* parent and section: the interrupted thread's, at the signal */
    uint32_t at;   /* the interrupted thread's nrec then: the call came before record `at` */
};

enum kind { K_WORKER, K_BLOCK_FN, K_BLOCK_KERNEL, K_KTHREAD, K_OFFLINE, K_CHURN, K_LIVER, K_SIGNALLED, K_PAD };
extern const char *const kind_names[];


struct tctx {
    int idx;
    enum kind kind;
    int living;            /* K_LIVER: inside its never-patched function */
    pthread_t th;
    char name[LP_THREAD_NAME_MAX];
    uint64_t rng;
    struct rec *recs;     /* a ring: record number n lives at recs[n % cap] */
    uint32_t nrec, cap;   /* records made this round; the last cap are kept */
    struct sect *sects;   /* likewise for kernel sections */
    uint32_t nsect, scap;
    uint32_t section, section_seq, cur_parent;
    uint16_t incarnation;
    uint64_t enters[NF], exits[NF];
    uint64_t strays, poison;
    volatile sig_atomic_t nudged;
    atomic_int running; /* churn slots: a thread occupies it */
    /* Signal handlers' calls (handler_call); the thread itself only resets
     * them, at quiescence. */
    volatile sig_atomic_t signalable; /* registered and online: the handler may call hooks */
    atomic_int in_hook;               /* inside a hook: the signal sender aims here */
    atomic_int in_handler;            /* handler_call runs: the checker waits (see G.closed) */
    struct hrec hrecs[HCAP];
    uint32_t nh;
    uint64_t hrng, h_start;
    uint64_t hcalls[NF], hstrays, hpoison, hlost;
};

typedef long (*impl_fn)(struct tctx *t, int depth, uint64_t t_pre, uint64_t block_ns);

/* ---- the run's shared state ---------------------------------------------------- */

struct model_stats {
    lp_model_t model;
    const char *name;
    uint64_t transitions, completed, reversed, forced, stalls, expected_stalls;
    uint64_t model_reversed; /* ... of the reversals, those the model's own policy made */
    uint64_t i0, i1, i2, i3, poison, counts;
    uint64_t handler_calls; /* judged by check_round */
    uint64_t *lat;
    size_t nlat, caplat;
};

struct torture_state {
    /* options */
    unsigned threads;
    double duration;
    uint64_t seed;
    int inject;
    int nudges;
    int progress;
    FILE *json_out, *text; /* opened by lp_torture_check */
    uint64_t bound_ns;
    /* functions and implementations */
    lp_func_t *f[NF];
    /* threads */
    struct tctx *ctx;
    unsigned nctx;
    struct tctx churn[CHURN_SLOTS];
    pthread_t churn_driver, sender;
    uint64_t churn_enters[NF], churn_exits[NF]; /* of exited churn threads, under lock */
    /* round control */
    atomic_int stop, pause, parked, long_sleep, wake_sleepers, lazy_kthread, lazy_ack;
    atomic_int closed; /* the round's records are being checked: handlers make no calls */
    pthread_mutex_t lock;
    pthread_cond_t parked_cv, resume_cv;
    int parties; /* threads that park: workers + the churn driver */
    /* retirement: calls into (fn, ver) entered after retired_at[fn][ver] are poison */
    _Atomic uint64_t retired_at[NF][NV];
    /* results */
    struct model_stats *stats;
    size_t nstats;
    uint64_t passed, failed, unexplained, lost_records;
    unsigned rounds_told; /* failing rounds whose first I2/I3 violation was described */
    char stalled_report[4096];
};
extern struct torture_state G;

/* ---- calls.c: the implementations and the call paths ---------------------------- */

/* A function compiled with the pad of -fpatchable-function-entry=5. */
#define PAD_ENTRY __attribute__((patchable_function_entry(5, 0)))

/* The body after a PAD_ENTRY function's pad: what a hook-called caller
 * runs for that implementation, so that its pad (armed) does not count the
 * call a second time. Skipping the pad's NOPs changes nothing else. */
#define PAD_BODY(fn) ((__typeof__(fn))(const void *)((const char *)(const void *)(fn) + 5))

extern const impl_fn impls[NF][NV];
/* The thread's context, for the signal handlers. */
extern __thread struct tctx *self;

void on_nudge(int signo);
void on_signal(int signo);
void sleep_nudgeable(struct tctx *t, uint64_t ns);
void debug_yield(struct tctx *t);
uint64_t block_time(struct tctx *t);
static inline struct rec *rec_at(const struct tctx *t, uint32_t n) { return &t->recs[n % t->cap]; }
static inline uint32_t first_kept(uint32_t made, uint32_t cap) { return made > cap ? made - cap : 0; }
long call_fn(struct tctx *t, int fn, int depth, uint64_t block_ns);
void section_begin(struct tctx *t);
void section_end(struct tctx *t);
void kernel_enter(struct tctx *t);
void kernel_exit(struct tctx *t);
void safe_point(struct tctx *t);
int pick_top(struct tctx *t);

/* ---- workload.c: what each kind of thread does ------------------------------------ */

void work_once(struct tctx *t);
int live_fn(const struct tctx *t);
void live_enter(struct tctx *t);
void live_exit(struct tctx *t);
void *worker(void *arg);
void *churn_driver(void *arg);
void *sender(void *arg);

/* ---- pad_workload.c ------------------------------------------------------------------ */

/* Registers the pads of the torture's functions (already registered by
 * name at their original implementations) and arms them for the run. 0, or
 * -1 with a line on stderr. */
int pad_workload_setup(lp_func_t *const *f, int nf);

/* ---- the patch stack, as the harness models it (driver.c) -------------------------- */

struct hpatch {
    lp_patch_t *p;
    lp_model_t model;
    int nrep, next;
    int rep[4], ext[2];
    int variant;
};

extern struct hpatch stack[MAX_STACK];
extern int depth;
extern unsigned patch_seq;

/* ---- checker.c -------------------------------------------------------------------------- */

struct txinfo {
    lp_model_t model;
    int in_set[NF];
    int before[NF], after[NF]; /* effective variant before, and after a completed forward transition */
    unsigned reversals;        /* times it turned around, by the harness or the model's own policy */
    uint64_t R;                /* when the harness turned it around, if it did and the model did not */
    int final_new;             /* the transition ended in the new universe (reversals even) */
    int forced;
    uint64_t S, D;
};

void cell_of(lp_model_t model, unsigned *leave, unsigned *sw);
void check_round(const struct txinfo *x, struct model_stats *m, struct tctx **all, unsigned nall);
void check_counts(struct model_stats *m);

/* ---- driver.c: patches and rounds ------------------------------------------------------- */

enum op { OP_ENABLE, OP_DISABLE, OP_STACK, OP_REVERSE, OP_FORCE, OP_EXTEND, OP_COUNT };
extern const char *const op_names[];

void pause_all(void);
void resume_all(void);
int new_patch(uint64_t *rng, lp_model_t model, int extend, struct hpatch *out);
void describe_transition(struct txinfo *x, const struct hpatch *h, int disabling);
void retire_unreachable(const struct txinfo *x);
void follow_outcome(int reached_new, int disabling, lp_patch_t *p);
void empty_stack(uint64_t bound_ns);
struct model_stats *stats_for(lp_model_t model);
int run_round(uint64_t *rng, unsigned round, const lp_model_t *models, size_t nmodels);

/* ---- report.c ----------------------------------------------------------------------------- */

void show_progress(double frac, uint64_t start, const char *what);
void clear_progress(void);
int print_summary(double elapsed);

/* ---- models.c: the library's model names ---------------------------------------------- */

#define NMODELS 18 /* 9 cells + 9 presets: the capacity of lp_torture_options_t's lists */

/* Every cell, then every preset (one equal to a cell comes twice), each
 * with its name from lp_model_describe; fills NMODELS entries. */
size_t torture_models(lp_model_t *out, const char **names);
/* Whether tok[0..len) names the model called `name`. */
int model_name_matches(const char *name, const char *tok, size_t len);
/* The distinct names, comma-separated, for a message. */
void model_name_list(const char *const *names, size_t n, char *buf, size_t len);

/* ---- sim_run.c: one run under the simulation; sim.c: the --sim driver ---------------------- */

#define SIM_MAX_WORKERS LP_TORTURE_SIM_THREADS_MAX

struct sim_state {
    unsigned workers;
    int strategy, verbose;
    int fixed_workload;     /* --workload-seed: every run draws its workload from it, only the schedule varies */
    uint64_t workload_seed;
    unsigned depth;
    uint64_t max_steps, horizon;
    struct tctx ctx[SIM_MAX_WORKERS + 1]; /* 0 is the patcher */
    /* the run's transition: set by the driver, completed by the patcher */
    struct txinfo x;
    struct hpatch h;
    enum op op;
    int disabling, hang, rc;
    uint64_t model_reversals; /* reversals the model's own policy made, over all runs */
    uint32_t done; /* the patcher finished: kthreads leave (a futex word) */
};
extern struct sim_state SIM;

struct sim_outcome {
    lp_sim_result_t res;
    uint64_t i0, i1, i2, i3, poison, counts;
    int hang, failed, bad_op;
    const char *model;
    enum op op;
};

void sim_run(uint64_t seed, const lp_model_t *models, const char *const *names, size_t nmodels, struct sim_outcome *o);
void sim_configure(const lp_torture_options_t *o);
int sim_main(const lp_torture_options_t *o);

#endif
