/*
 * hb_driver.h — what hookbench's files share (Benchmarks/hookbench.c and its
 * sections: hooks/, scaling/, latency/, memory/; the common pieces in
 * common/hb_util.c and common/hb_fixtures.c). hb.h declares the baselines.
 */
#ifndef HB_DRIVER_H
#define HB_DRIVER_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stddef.h>

#include <livepatch.h>

/* Every measured loop starts on a 64-byte boundary, so that editing a file
 * does not move a loop across a fetch line and change its figure. */
#define HB_NOINLINE __attribute__((noinline, aligned(64)))
#define CLOBBER() __asm__ volatile("" ::: "memory")
#define KEEP(v) __asm__ volatile("" ::"r"(v) : "memory")
#define MAX_REPS 64
#define MAX_T 16
#define SEC 1000000000ull

/* ---- options (hookbench.c) ---- */

/* --lat-load: the busy threads never sleep; every burst of calls ends with a
 * sched_yield() taken inside the sections (in the patched function's body,
 * like a system call that reschedules inside the kernel), or outside them,
 * or never (pure busy loop: preempted only by the scheduler's tick). */
enum { LOAD_INSIDE = 0, LOAD_OUTSIDE = 1, LOAD_BUSY = 2 };
extern const char *load_names[];

typedef struct {
    int quick;
    const char *json, *tsv, *variant;
    int do_memory, do_hooks, do_funcs, do_scaling, do_latency;
    int reps;             /* single-thread and scaling repetitions */
    double rep_ms;        /* target length of one repetition */
    int lat_reps;         /* transition-latency repetitions */
    int lat_threads[8], n_lat_threads;
    double lat_budget_s;  /* soft cap on the latency section */
    uint64_t timeout_ns;  /* one transition's lp_transition_wait bound */
    int mem_threads, mem_funcs;
    int lat_load;         /* LOAD_*: where the busy threads give the CPU up (--lat-load) */
    double lat_burst_us;  /* a burst of calls between two sched_yield() */
    int lat_work;         /* spins inside each section (the patched function's body), and as many outside */
    const char *count_key; /* --count: run this row's loop only (scripts/count-instructions) */
    uint64_t count_iters;
} hb_options_t;
extern hb_options_t opt;

/* ---- hb_util.c: time, statistics, output ---- */

uint64_t now_ns(void);
void sleep_ns(uint64_t ns);
double median(const double *v, int n);

/* The per-round ratios a[r] / b[r] of one row: their median, its 95%
 * confidence interval, their min and max (hb_util.c). */
typedef struct {
    double med, lo, hi, min, max;
    int n;
} spread_t;
spread_t ratio_spread(const double *a, const double *b, int n);
double ratio_median(const double *a, const double *b, int n);

enum { V_MISSED = 0, V_MET = 1, V_NA = -1, V_UNSURE = 2 };
int verdict(spread_t s, double limit);
int verdict_and(int a, int b);

long rss_bytes(void);
extern char cpu_model[128];
extern double load_at_start;
void read_machine(void);
void die(const char *what, int rc);

/* A growing string, for the JSON and TSV written at the end. */
typedef struct {
    char *p;
    size_t len, cap;
} sbuf_t;
void sb_printf(sbuf_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_num(sbuf_t *s, double v);
void sb_array(sbuf_t *s, const double *v, int n);
void sb_spread(sbuf_t *sb, const char *name, spread_t s);
const char *fmt_spread(char *buf, size_t size, spread_t s);

extern sbuf_t js_hooks, js_cyg, js_funcs, js_scaling, js_latency, js_memory, js_targets, tsv;
extern int n_targets, n_met, n_unsure;
void target(const char *id, int met, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- hb_fixtures.c: the engine's fixtures ---- */

extern int hb_work;
extern __thread int hb_yield_here;
void spin_work(int n);
void impl_old(void);
void impl_new(void);
#define IMPL(fn) ((const void *)(uintptr_t)(fn))

typedef struct {
    char name[LP_MODEL_NAME_MAX];
    lp_model_t model;
} hb_preset_t;
#define N_PRESETS 7
extern hb_preset_t presets[N_PRESETS];
void describe_models(void);

extern lp_func_t *f_plain;  /* in no patch, ever */
extern lp_func_t *f_steady; /* in hb-steady, enabled and complete during the hooks section */
extern lp_func_t *f_tx;     /* in hb-tx-<preset>, each enabled in turn and kept in transition */
extern lp_func_t *f_lat;    /* in hb-lat-<preset>: the latency section's function */
lp_func_t *reg_func(const char *name);
lp_patch_t *make_patch(const char *name, lp_model_t model, lp_func_t *f);
int transition_state(void);
int finish_transition(const char *what);

/* ---- the loops the sections share (hooks/hb_loops.c) ---- */

typedef void (*loop_fn)(uint64_t n, void *arg);
void loop_floor(uint64_t n, void *arg);
void loop_xadd(uint64_t n, void *arg);
void loop_hook(uint64_t n, void *arg);

/* ---- the sections ---- */

void section_memory(void);                          /* memory/hb_memory.c */
void section_hooks(void);                           /* hooks/hb_pairs.c */
void report_cyg(void);
void targets_hooks(void);
void count_one(void);
void section_funcs(void);                           /* scaling/hb_funcs.c */
void targets_funcs(void);
void section_scaling(void);                         /* scaling/hb_scaling.c */
void targets_scaling(void);
void section_latency(void);                         /* latency/hb_latency.c */
void targets_latency(void);

#endif /* HB_DRIVER_H */
