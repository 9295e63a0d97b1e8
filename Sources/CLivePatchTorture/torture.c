/*
 * The torture harness (see lp_torture.h).
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
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "include/lp_torture.h"

#include <errno.h>
#include <inttypes.h>
#include <livepatch.h>
#include <livepatch/debug.h>
#include <livepatch/sim.h>
#include "deadline_reverse.h"
#include "pad_workload.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
static int sim_on;
#define SIM_POINT(kind)              \
    do {                             \
        if (sim_on)                  \
            lp_sim_point(kind);      \
    } while (0)

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void) { return sim_on ? lp_sim_now() : wall_ns(); }

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rnd(uint64_t *s, unsigned n) { return (unsigned)(splitmix(s) % n); }

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
static const char *kind_names[] = { "worker", "block-fn", "block-kernel", "kthread", "offline", "churn", "liver", "signalled", "pad" };

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

static struct {
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
    char stalled_report[4096];
} G;

static __thread struct tctx *self;

/* ---- implementations: NF x NV distinct functions ------------------------------ */

static long body(struct tctx *t, int fn, int ver, int depth, uint64_t t_pre, uint64_t block_ns);

#define IMPL(f, v) \
    static long impl_##f##_##v(struct tctx *t, int d, uint64_t p, uint64_t b) { return body(t, f, v, d, p, b); }
/* The original implementations have a patchable entry: pad threads call them
 * by symbol (pad_workload.c). */
#define IMPLS(f) PAD_ENTRY IMPL(f, 0) IMPL(f, 1) IMPL(f, 2) IMPL(f, 3) IMPL(f, 4) IMPL(f, 5) IMPL(f, 6) IMPL(f, 7)
#define ROW(f) { impl_##f##_0, impl_##f##_1, impl_##f##_2, impl_##f##_3, impl_##f##_4, impl_##f##_5, impl_##f##_6, impl_##f##_7 }
IMPLS(0) IMPLS(1) IMPLS(2) IMPLS(3) IMPLS(4) IMPLS(5) IMPLS(6) IMPLS(7)
IMPLS(8) IMPLS(9) IMPLS(10) IMPLS(11) IMPLS(12) IMPLS(13) IMPLS(14) IMPLS(15)
static const impl_fn impls[NF][NV] = {
    ROW(0), ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6), ROW(7),
    ROW(8), ROW(9), ROW(10), ROW(11), ROW(12), ROW(13), ROW(14), ROW(15),
};

/* ---- sleeping, yielding, nudges ------------------------------------------------ */

static void handler_call(struct tctx *t);

/* The engine's nudge (SIGUSR1) and the sender's signal (SIGUSR2) both call a
 * patched function, as a real program's handler may: the header promises it
 * runs in the interrupted thread's universe, and check_round holds it to that. */
static void on_nudge(int signo)
{
    (void)signo;
    if (self) {
        self->nudged = 1;
        handler_call(self);
    }
}

static void on_signal(int signo)
{
    (void)signo;
    if (self)
        handler_call(self);
}

/* Sleeps ns in short slices; a nudge or the end of the round cuts it short. */
static void sleep_nudgeable(struct tctx *t, uint64_t ns)
{
    uint64_t end = now_ns() + ns;
    t->nudged = 0;
    if (sim_on) { /* a virtual sleep; a nudge ends it (the handler runs before lp_sim_wait returns) */
        uint32_t never = 0;
        for (uint64_t now; !t->nudged && (now = now_ns()) < end;)
            lp_sim_wait(&never, 0, end - now);
        return;
    }
    while (!t->nudged && !atomic_load_explicit(&G.wake_sleepers, memory_order_relaxed) && now_ns() < end) {
        struct timespec slice = { 0, 200000 };
        nanosleep(&slice, NULL);
    }
}

/* liburcu's debug-yield, roughly: now and then give the CPU away. */
static void debug_yield(struct tctx *t)
{
    if (sim_on) {
        lp_sim_point(LP_SIM_OTHER);
        return;
    }
    unsigned r = rnd(&t->rng, 1024);
    if (r < 16)
        sched_yield();
    else if (r == 16) {
        struct timespec ts = { 0, 20000 };
        nanosleep(&ts, NULL);
    }
}

static uint64_t block_time(struct tctx *t)
{
    if (atomic_load_explicit(&G.long_sleep, memory_order_relaxed))
        return 2000000000ull; /* only a nudge ends it early */
    return 500000 + rnd(&t->rng, 3500000);
}

/* ---- calls --------------------------------------------------------------------- */

static struct rec *rec_at(const struct tctx *t, uint32_t n) { return &t->recs[n % t->cap]; }
static uint32_t first_kept(uint32_t made, uint32_t cap) { return made > cap ? made - cap : 0; }

static uint32_t rec_begin(struct tctx *t, int fn, int ver, uint64_t t_pre, uint64_t t_start)
{
    uint32_t n = t->nrec++;
    *rec_at(t, n) = (struct rec){ .t_pre = t_pre, .t_start = t_start, .parent = t->cur_parent,
                                  .section = t->section, .incarnation = t->incarnation,
                                  .fn = (uint8_t)fn, .ver = (uint8_t)ver };
    return n;
}

static long call_fn(struct tctx *t, int fn, int depth, uint64_t block_ns);

static long body(struct tctx *t, int fn, int ver, int depth, uint64_t t_pre, uint64_t block_ns)
{
    uint64_t t_start = now_ns();
    uint64_t retired = atomic_load_explicit(&G.retired_at[fn][ver], memory_order_relaxed);
    if (depth == IN_HANDLER) { /* the ring and rng belong to the interrupted code: handler_call records */
        t->h_start = t_start;
        t->hpoison += retired && t_pre > retired;
        return fn;
    }
    uint32_t parent = t->cur_parent;
    uint32_t me = rec_begin(t, fn, ver, t_pre, t_start);
    if (retired && t_pre > retired)
        t->poison++; /* entered after its retirement: the poison of rcutorture's mbtest */
    t->cur_parent = me;
    long acc = fn;
    if (block_ns)
        sleep_nudgeable(t, block_ns); /* an old activation that calls on after a while */
    if (depth > 0) {
        int calls = 1 + (int)rnd(&t->rng, 2); /* loops */
        for (int i = 0; i < calls; i++) {
            unsigned r = rnd(&t->rng, 10);
            int callee = r < 5 ? (int)rnd(&t->rng, NPATCHABLE)                   /* chains in the set */
                       : r < 7 ? fn                                              /* recursion */
                               : NPATCHABLE + (int)rnd(&t->rng, NF - NPATCHABLE); /* outside the set */
            acc += call_fn(t, callee, depth - 1, 0);
        }
    }
    debug_yield(t);
    if (t->nrec - me <= t->cap) /* not yet overwritten by its own descendants */
        rec_at(t, me)->t_end = now_ns();
    t->cur_parent = parent;
    return acc;
}

/* Around each hook, for the signal sender. Relaxed: the sender only aims,
 * and a signal that lands just outside a hook is as valid a test. */
static void hook_begin(struct tctx *t) { atomic_store_explicit(&t->in_hook, 1, memory_order_relaxed); }
static void hook_end(struct tctx *t) { atomic_store_explicit(&t->in_hook, 0, memory_order_relaxed); }

/* The implementation a hook chose, run: an original one past its pad. */
static long run_impl(int fn, int v, struct tctx *t, int depth, uint64_t t_pre, uint64_t block_ns)
{
    return (v == 0 ? PAD_BODY(impls[fn][0]) : impls[fn][v])(t, depth, t_pre, block_ns);
}

/* A pad thread's call: the function called by its symbol, as an unmodified
 * program calls it. Its pad (armed for the run) runs the hooks, and the
 * implementation it runs records its own variant. */
static long call_direct(struct tctx *t, int fn, int depth, uint64_t block_ns)
{
    uint64_t t_pre = now_ns();
    t->enters[fn]++;
    long r = impls[fn][0](t, depth, t_pre, block_ns);
    t->exits[fn]++;
    return r;
}

static long call_fn(struct tctx *t, int fn, int depth, uint64_t block_ns)
{
    if (t->kind == K_PAD)
        return call_direct(t, fn, depth, block_ns);
    SIM_POINT(LP_SIM_ENTER);
    uint64_t t_pre = now_ns();
    hook_begin(t);
    const void *p = lp_func_enter(G.f[fn]);
    hook_end(t);
    t->enters[fn]++;
    long r = 0;
    int known = 0;
    for (int v = 0; v < NV; v++)
        if (p == (const void *)impls[fn][v]) {
            known = 1;
            r = run_impl(fn, v, t, depth, t_pre, block_ns);
            break;
        }
    if (!known)
        t->strays++; /* neither old nor new: an I0 violation; never call it */
    SIM_POINT(LP_SIM_EXIT);
    hook_begin(t);
    lp_func_exit(G.f[fn]);
    hook_end(t);
    t->exits[fn]++;
    return r;
}

/* A signal handler's call: one patched function, no nesting. What it reads
 * of the interrupted thread (nrec, cur_parent, section) that thread stores
 * around external calls (the hooks), which the compiler does not move them
 * across: the handler sees an activation that encloses the signal, or, in
 * the stores' own windows, one that encloses that. */
static void handler_call(struct tctx *t)
{
    if (!t->signalable)
        return; /* registering, offline or leaving: a hook here is not async-signal-safe */
    /* A signal sent before the threads parked may land after: seq_cst store
     * then load, against pause_all's store of G.closed then load of
     * in_handler, so that a call either sees closed or is waited for. */
    atomic_store(&t->in_handler, 1);
    if (atomic_load(&G.closed)) {
        atomic_store(&t->in_handler, 0);
        return;
    }
    int fn = (int)rnd(&t->hrng, NPATCHABLE);
    struct hrec h = { .at = t->nrec,
                      .r = { .parent = t->cur_parent, .section = t->section, .incarnation = t->incarnation,
                             .fn = (uint8_t)fn } };
    h.r.t_pre = now_ns();
    const void *p = lp_func_enter(G.f[fn]);
    int known = 0;
    for (int v = 0; v < NV && !known; v++)
        if (p == (const void *)impls[fn][v]) {
            known = 1;
            run_impl(fn, v, t, IN_HANDLER, h.r.t_pre, 0);
            h.r.ver = (uint8_t)v;
            h.r.t_start = t->h_start;
        }
    h.r.t_end = now_ns();
    lp_func_exit(G.f[fn]);
    t->hcalls[fn]++;
    if (!known)
        t->hstrays++;
    else if (t->nh < HCAP)
        t->hrecs[t->nh++] = h;
    else
        t->hlost++;
    atomic_store(&t->in_handler, 0); /* release: the record above is seen by pause_all's load */
}

static void section_begin(struct tctx *t)
{
    t->section = ++t->section_seq;
    t->sects[t->nsect++ % t->scap] = (struct sect){ .t_start = now_ns(), .id = t->section, .incarnation = t->incarnation };
}

static void section_end(struct tctx *t)
{
    struct sect *last = &t->sects[(t->nsect - 1) % t->scap];
    if (t->nsect && last->id == t->section && !last->t_end)
        last->t_end = now_ns();
    t->section = 0;
}

static void kernel_enter(struct tctx *t)
{
    SIM_POINT(LP_SIM_KERNEL_ENTER);
    hook_begin(t);
    lp_kernel_enter();
    hook_end(t);
    section_begin(t);
}

static void kernel_exit(struct tctx *t)
{
    section_end(t);
    SIM_POINT(LP_SIM_KERNEL_EXIT);
    hook_begin(t);
    lp_kernel_exit();
    hook_end(t);
}

/* A kthread's safe point ends one stretch of its endless section and begins the next. */
static void safe_point(struct tctx *t) { section_end(t); SIM_POINT(LP_SIM_SAFE_POINT); lp_safe_point(); section_begin(t); }

static int pick_top(struct tctx *t)
{
    return rnd(&t->rng, 10) < 8 ? (int)rnd(&t->rng, NPATCHABLE) : NPATCHABLE + (int)rnd(&t->rng, NF - NPATCHABLE);
}

/* ---- parking ------------------------------------------------------------------- */

static void park(void)
{
    pthread_mutex_lock(&G.lock);
    G.parked++;
    pthread_cond_signal(&G.parked_cv);
    while (atomic_load(&G.pause) && !atomic_load(&G.stop))
        pthread_cond_wait(&G.resume_cv, &G.lock);
    G.parked--;
    pthread_mutex_unlock(&G.lock);
}

static int should_park(void) { return atomic_load_explicit(&G.pause, memory_order_acquire); }

/* ---- workloads ------------------------------------------------------------------- */

/* One iteration of a thread's workload. */
static void work_once(struct tctx *t)
{
    switch (t->kind) {
    case K_WORKER:
    case K_PAD: {
        int in_kernel = rnd(&t->rng, 10) < 7;
        if (in_kernel)
            kernel_enter(t);
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 3), 0);
        if (in_kernel)
            kernel_exit(t);
        break;
    }
    case K_BLOCK_FN:
        call_fn(t, (int)rnd(&t->rng, NPATCHABLE), 1 + (int)rnd(&t->rng, 2), block_time(t));
        break;
    case K_BLOCK_KERNEL:
        kernel_enter(t);
        sleep_nudgeable(t, block_time(t));
        call_fn(t, pick_top(t), 1, 0);
        kernel_exit(t);
        break;
    case K_KTHREAD:
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 2), 0);
        if (t->idx != 0 || !atomic_load_explicit(&G.lazy_kthread, memory_order_relaxed))
            safe_point(t);
        else
            atomic_store(&G.lazy_ack, 1); /* its section began before this: it will block */
        break;
    case K_OFFLINE:
        SIM_POINT(LP_SIM_SAFE_POINT);
        t->signalable = 0;
        lp_thread_offline();
        sleep_nudgeable(t, 1000000 + rnd(&t->rng, 9000000));
        SIM_POINT(LP_SIM_SAFE_POINT);
        lp_thread_online();
        t->signalable = 1;
        call_fn(t, pick_top(t), 1, 0);
        break;
    case K_CHURN:
        break;
    case K_LIVER: /* inside its never-patched function (live_enter): only the set blocks */
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 3), 0);
        break;
    case K_SIGNALLED: /* back-to-back outermost entries in a kernel section, under a stream of signals */
        kernel_enter(t);
        for (int i = 0; i < 32; i++)
            call_fn(t, (int)rnd(&t->rng, NPATCHABLE), 0, 0);
        kernel_exit(t);
        break;
    }
}

/* A liver thread lives inside a function that is never patched, as a real
 * program's main loop or worker function: it must never block a transition. */
static int live_fn(const struct tctx *t) { return NPATCHABLE + t->idx % (NF - NPATCHABLE); }
static void live_enter(struct tctx *t)
{
    lp_func_enter(G.f[live_fn(t)]);
    t->enters[live_fn(t)]++;
    t->living = 1;
}
static void live_exit(struct tctx *t)
{
    t->living = 0;
    lp_func_exit(G.f[live_fn(t)]);
    t->exits[live_fn(t)]++;
}

static void *worker(void *arg)
{
    struct tctx *t = arg;
    self = t;
    lp_thread_register(t->name);
    t->signalable = 1;
    if (t->kind == K_KTHREAD)
        kernel_enter(t); /* and never leaves: only safe points */
    if (t->kind == K_LIVER)
        live_enter(t);
    while (!atomic_load(&G.stop)) {
        if (should_park()) {
            if (t->kind == K_KTHREAD) {
                section_end(t); /* parked at a safe point */
                park();
                lp_safe_point();
                section_begin(t);
            } else {
                park();
            }
            continue;
        }
        work_once(t);
        debug_yield(t);
    }
    if (t->kind == K_KTHREAD)
        kernel_exit(t);
    if (t->kind == K_LIVER)
        live_exit(t);
    t->signalable = 0; /* its record goes when the thread does */
    return NULL;
}

/* A short-lived thread: a few call chains, then exit; one in eight exits
 * inside a kernel section (misuse the engine must survive and count). */
static void *churn_thread(void *arg)
{
    struct tctx *t = arg;
    self = t;
    int calls = 5 + (int)rnd(&t->rng, 40);
    for (int i = 0; i < calls; i++) {
        kernel_enter(t);
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 2), 0);
        kernel_exit(t);
    }
    if (rnd(&t->rng, 8) == 0)
        kernel_enter(t); /* and exit without leaving it */
    pthread_mutex_lock(&G.lock);
    for (int f = 0; f < NF; f++) {
        G.churn_enters[f] += t->enters[f];
        G.churn_exits[f] += t->exits[f];
        t->enters[f] = t->exits[f] = 0;
    }
    pthread_mutex_unlock(&G.lock);
    atomic_store(&t->running, 0);
    return NULL;
}

static void *churn_driver(void *arg)
{
    (void)arg;
    int live[CHURN_SLOTS] = { 0 };
    while (!atomic_load(&G.stop)) {
        int pausing = should_park();
        int any = 0;
        for (int s = 0; s < CHURN_SLOTS; s++) {
            struct tctx *t = &G.churn[s];
            if (live[s] && !atomic_load(&t->running)) {
                pthread_join(t->th, NULL);
                live[s] = 0;
            }
            if (!live[s] && !pausing) {
                t->incarnation++;
                atomic_store(&t->running, 1);
                live[s] = 1;
                if (pthread_create(&t->th, NULL, churn_thread, t) != 0) {
                    atomic_store(&t->running, 0);
                    live[s] = 0;
                }
            }
            any |= live[s];
        }
        if (pausing && !any)
            park();
        else {
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);
        }
    }
    for (int s = 0; s < CHURN_SLOTS; s++)
        if (live[s])
            pthread_join(G.churn[s].th, NULL);
    return NULL;
}

/* Signals the signalled threads at every pass, the threads seen inside a
 * hook, and now and then any thread, so that handlers land at every instant
 * of the hooks, lp_func_enter's announcement-to-epoch window included (a
 * signal is delivered microseconds after the look: mostly the signalled
 * threads, which do little else than enter, hit it). */
static void *sender(void *arg)
{
    (void)arg;
    uint64_t rng = G.seed ^ 0x516ull;
    while (!atomic_load(&G.stop)) {
        if (should_park()) {
            park();
            continue;
        }
        for (unsigned k = 0; k < G.nctx; k++)
            if (G.ctx[k].kind == K_SIGNALLED || atomic_load_explicit(&G.ctx[k].in_hook, memory_order_relaxed) ||
                rnd(&rng, 64) == 0)
                pthread_kill(G.ctx[k].th, SIGUSR2);
        struct timespec ts = { 0, 20000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- the patch stack, as the harness models it ----------------------------------- */

struct hpatch {
    lp_patch_t *p;
    lp_model_t model;
    int nrep, next;
    int rep[4], ext[2];
    int variant;
};

static struct hpatch stack[MAX_STACK];
static int depth;
static unsigned patch_seq;

static int effective_version(int fn, int levels)
{
    for (int i = levels - 1; i >= 0; i--)
        for (int r = 0; r < stack[i].nrep; r++)
            if (stack[i].rep[r] == fn)
                return stack[i].variant;
    return 0;
}

/* ---- the checker ------------------------------------------------------------------ */

struct txinfo {
    lp_model_t model;
    int in_set[NF];
    int before[NF], after[NF]; /* effective variant before, and after a completed forward transition */
    int final_new;             /* the transition ended in the new universe (not reversed) */
    int forced;
    uint64_t S, D;
};

enum { U_OLD = 0, U_NEW = 1, U_UNKNOWN = 2 };

static int universe(const struct txinfo *x, const struct rec *r)
{
    int fn = r->fn, ver = r->ver;
    if (!x->in_set[fn] || x->before[fn] == x->after[fn])
        return U_UNKNOWN;
    return ver == x->after[fn] ? U_NEW : U_OLD;
}

/* Outermost kept ancestor of record n that is in the set (n itself if its
 * parent is not, or was overwritten). */
static uint32_t outermost_in_set(const struct txinfo *x, const struct tctx *t, uint32_t n, uint32_t first)
{
    for (uint32_t p; (p = rec_at(t, n)->parent) != NONE && p >= first && x->in_set[rec_at(t, p)->fn];)
        n = p;
    return n;
}

/* The universe of each kernel section of a thread (by id - base): that of
 * the first of its calls with a known one. */
static int *section_universes(const struct txinfo *x, const struct tctx *t, uint32_t first, uint32_t *base,
                              uint32_t *count)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint32_t n = first; n < t->nrec; n++) {
        uint32_t id = rec_at(t, n)->section;
        if (id && id < lo) lo = id;
        if (id > hi) hi = id;
    }
    for (uint32_t n = first_kept(t->nsect, t->scap); n < t->nsect; n++) {
        uint32_t id = t->sects[n % t->scap].id;
        if (id < lo) lo = id;
        if (id > hi) hi = id;
    }
    if (lo > hi)
        return NULL;
    int *u = malloc(sizeof(int) * (hi - lo + 1));
    for (uint32_t i = 0; i <= hi - lo; i++)
        u[i] = U_UNKNOWN;
    for (uint32_t n = first; n < t->nrec; n++) {
        const struct rec *r = rec_at(t, n);
        if (r->section && u[r->section - lo] == U_UNKNOWN)
            u[r->section - lo] = universe(x, r);
    }
    *base = lo;
    *count = hi - lo + 1;
    return u;
}

/* What a model counts and what it switches, user-defined models included. */
static void cell_of(lp_model_t model, unsigned *leave, unsigned *sw)
{
    lp_model_info_t info;
    if (lp_model_describe(model, &info) != 0) {
        fprintf(stderr, "torture: lp_model_describe(%#x) failed\n", model);
        exit(2);
    }
    *leave = info.counts;
    *sw = info.switches;
}

/* I0: a call runs the old implementation before the start, the final one
 * after the end, and one of the two in between. */
static int breaks_i0(const struct txinfo *x, const struct rec *r)
{
    int fn = r->fn, ver = r->ver;
    int final = x->final_new ? x->after[fn] : x->before[fn];
    if (r->t_start < x->S && ver != x->before[fn])
        return 1;
    if (r->t_pre > x->D && ver != final)
        return 1;
    return ver != x->before[fn] && ver != x->after[fn];
}

/* One thread's pass 2 of check_round. */
struct judge {
    const struct txinfo *x;
    struct model_stats *m;
    const struct tctx *t;
    uint32_t first;
    int one_instant, per_function;
    uint64_t max_old_end, max_old_end_fn[NF];
    int *sections, *group; /* I1's activations: kernel sections (by id - base), outermost set calls (by ring slot) */
    uint32_t base, nsections;
    int seen_new;
    uint16_t inc;
};

/* An activation's universe is that of its first call with a known one; I1
 * counts every later call that differs. */
static void same_universe(struct judge *j, int *slot, int u)
{
    if (*slot == U_UNKNOWN)
        *slot = u;
    else if (*slot != u)
        j->m->i1++;
}

/* Judges call r: I2, I3 and, with group, I1. anchor: the ring record whose
 * outermost set ancestor's activation r belongs to, NONE if none. */
static void judge_call(struct judge *j, const struct rec *r, uint32_t anchor)
{
    int u = universe(j->x, r);
    if (u == U_UNKNOWN)
        return;
    if (j->one_instant && u == U_NEW && r->t_start < j->max_old_end)
        j->m->i2++;
    if (j->per_function && u == U_NEW && r->t_start < j->max_old_end_fn[r->fn])
        j->m->i3++;
    if (!j->group)
        return;
    if (r->incarnation != j->inc) {
        j->inc = r->incarnation;
        j->seen_new = 0;
    }
    /* I1: monotonic per thread (a reversed transition goes back on purpose) ... */
    if (j->x->final_new) {
        if (u == U_NEW)
            j->seen_new = 1;
        else if (j->seen_new)
            j->m->i1++;
    }
    /* ... and one universe per activation: a kernel section under
     * LEAVE_KERNEL, else the outermost set function. */
    if (j->sections && r->section) {
        if (r->section >= j->base && r->section - j->base < j->nsections)
            same_universe(j, &j->sections[r->section - j->base], u);
    } else if (anchor != NONE) {
        same_universe(j, &j->group[outermost_in_set(j->x, j->t, anchor, j->first) % j->t->cap], u);
    }
}

/* A handler's call belongs to the activation of the call it interrupted, if
 * that one is a kept call of the set (then so is its outermost ancestor);
 * else it is an activation of its own, ordered in the thread's sequence just
 * before record `at`. */
static uint32_t handler_anchor(const struct judge *j, const struct hrec *h)
{
    uint32_t p = h->r.parent;
    if (p == NONE || p < j->first || p >= j->t->nrec || !j->x->in_set[rec_at(j->t, p)->fn])
        return NONE;
    return p;
}

static void check_round(const struct txinfo *x, struct model_stats *m, struct tctx **all, unsigned nall)
{
    unsigned leave, sw;
    cell_of(x->model, &leave, &sw);
    struct judge j = { .x = x, .m = m };
    j.one_instant = sw == LP_SWITCH_KERNEL || (leave == LP_LEAVE_KERNEL && sw == LP_SWITCH_FUNCTION);
    j.per_function = leave == LP_LEAVE_PATCHED_SET && sw == LP_SWITCH_FUNCTION;
    int promises = leave != LP_LEAVE_FUNCTION && !x->forced;
    uint64_t max_old_sect = 0;

    /* Pass 1: I0, poison, and the latest end of an old execution / section. */
    for (unsigned k = 0; k < nall; k++) {
        struct tctx *t = all[k];
        uint32_t first = first_kept(t->nrec, t->cap);
        G.lost_records += first + t->hlost;
        m->handler_calls += t->nh;
        for (uint32_t n = first; n < t->nrec + t->nh; n++) {
            const struct rec *r = n < t->nrec ? rec_at(t, n) : &t->hrecs[n - t->nrec].r;
            m->i0 += breaks_i0(x, r);
            if (universe(x, r) == U_OLD) {
                if (r->t_end > j.max_old_end) j.max_old_end = r->t_end;
                if (r->t_end > j.max_old_end_fn[r->fn]) j.max_old_end_fn[r->fn] = r->t_end;
            }
        }
        m->i0 += t->strays + t->hstrays;
        m->poison += t->poison + t->hpoison;
    }
    if (!promises)
        return;

    /* Pass 2: I1 (per thread), I2 and I3 (across threads). */
    for (unsigned k = 0; k < nall; k++) {
        struct tctx *t = all[k];
        j.t = t;
        j.first = first_kept(t->nrec, t->cap);
        j.sections = leave == LP_LEAVE_KERNEL ? section_universes(x, t, j.first, &j.base, &j.nsections) : NULL;
        j.group = NULL;
        if (sw == LP_SWITCH_THREAD) {
            j.group = malloc(sizeof(int) * (t->cap));
            for (uint32_t i = 0; i < t->cap; i++)
                j.group[i] = U_UNKNOWN;
        }
        j.seen_new = 0;
        j.inc = t->nrec > j.first ? rec_at(t, j.first)->incarnation : t->nh ? t->hrecs[0].r.incarnation : 0;
        /* The handlers' calls merged into the ring's order, each before the
         * record its thread made next. */
        uint32_t h = 0;
        for (uint32_t n = j.first;; n++) {
            for (; h < t->nh && (t->hrecs[h].at <= n || n == t->nrec); h++)
                judge_call(&j, &t->hrecs[h].r, handler_anchor(&j, &t->hrecs[h]));
            if (n == t->nrec)
                break;
            judge_call(&j, rec_at(t, n), n);
        }
        /* I2 with LEAVE_KERNEL: old kernel sections end before new ones begin. */
        if (j.one_instant && j.sections)
            for (uint32_t n = first_kept(t->nsect, t->scap); n < t->nsect; n++) {
                const struct sect *sc = &t->sects[n % t->scap];
                if (j.sections[sc->id - j.base] == U_OLD && sc->t_end > max_old_sect)
                    max_old_sect = sc->t_end;
            }
        free(j.group);
        free(j.sections);
    }
    if (j.one_instant && leave == LP_LEAVE_KERNEL)
        for (unsigned k = 0; k < nall; k++) {
            struct tctx *t = all[k];
            uint32_t base = 0, count = 0;
            int *sections = section_universes(x, t, first_kept(t->nrec, t->cap), &base, &count);
            for (uint32_t n = first_kept(t->nsect, t->scap); sections && n < t->nsect; n++) {
                const struct sect *sc = &t->sects[n % t->scap];
                if (sections[sc->id - base] == U_NEW && sc->t_start < max_old_sect)
                    m->i2++;
            }
            free(sections);
        }
}

/* Counts: at quiescence lp_func_counts() equals the harness's own tally. */
static void check_counts(struct model_stats *m)
{
    for (int fn = 0; fn < NF; fn++) {
        uint64_t e = G.churn_enters[fn], x = G.churn_exits[fn], le, lx;
        uint64_t inside = 0; /* livers, which stay inside their function across rounds */
        for (unsigned k = 0; k < G.nctx; k++) {
            e += G.ctx[k].enters[fn] + G.ctx[k].hcalls[fn];
            x += G.ctx[k].exits[fn] + G.ctx[k].hcalls[fn];
            inside += G.ctx[k].living && live_fn(&G.ctx[k]) == fn;
        }
        for (int s = 0; s < CHURN_SLOTS; s++) { /* handlers on churn threads: a nudge of a thread that registered by hook */
            e += G.churn[s].hcalls[fn];
            x += G.churn[s].hcalls[fn];
        }
        if (lp_func_counts(G.f[fn], &le, &lx) != 0 || le != e || lx != x || le - lx != inside)
            m->counts++;
    }
}

/* ---- rounds ------------------------------------------------------------------------- */

static void pause_all(void)
{
    atomic_store(&G.wake_sleepers, 1);
    pthread_mutex_lock(&G.lock);
    atomic_store_explicit(&G.pause, 1, memory_order_release);
    while (G.parked < G.parties)
        pthread_cond_wait(&G.parked_cv, &G.lock);
    pthread_mutex_unlock(&G.lock);
    /* Pairs with handler_call's store of in_handler then load of closed. */
    atomic_store(&G.closed, 1);
    for (unsigned k = 0; k < G.nctx; k++)
        while (atomic_load(&G.ctx[k].in_handler))
            sched_yield();
    for (int s = 0; s < CHURN_SLOTS; s++)
        while (atomic_load(&G.churn[s].in_handler))
            sched_yield();
}

static void resume_all(void)
{
    atomic_store(&G.closed, 0);
    atomic_store(&G.wake_sleepers, 0);
    pthread_mutex_lock(&G.lock);
    atomic_store(&G.pause, 0);
    pthread_cond_broadcast(&G.resume_cv);
    pthread_mutex_unlock(&G.lock);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    nanosleep(&ts, NULL);
}

static int collect_stalled(const lp_thread_info_t *info, void *ctx)
{
    int *lazy_named = ctx;
    size_t len = strlen(G.stalled_report);
    if (len < sizeof G.stalled_report - 64)
        snprintf(G.stalled_report + len, sizeof G.stalled_report - len, " %s(tid %d, %s%s)", info->name, info->tid,
                 info->reason == LP_STALL_IN_KERNEL ? "in kernel"
                 : info->reason == LP_STALL_IN_SET  ? "in set"
                 : info->reason == LP_STALL_UNRELIABLE_STACK ? "unreliable stack"
                                                    : "no switch point",
                 info->n_inside ? ", inside" : "");
    /* The set functions it is inside, as /proc/PID/stack would list them. */
    for (uint32_t i = 0; i < info->n_inside && i < LP_INSIDE_MAX; i++)
        for (int fn = 0; fn < NF; fn++) {
            len = strlen(G.stalled_report);
            if (info->inside[i] == G.f[fn] && len < sizeof G.stalled_report - 16)
                snprintf(G.stalled_report + len - 1, sizeof G.stalled_report - len + 1, " f%d)", fn);
        }
    if (strcmp(info->name, "kthread-0") == 0 && info->reason == LP_STALL_IN_KERNEL)
        *lazy_named = 1;
    return 0;
}

enum op { OP_ENABLE, OP_DISABLE, OP_STACK, OP_REVERSE, OP_FORCE, OP_EXTEND, OP_COUNT };
static const char *op_names[] = { "enable", "disable", "stack", "reverse", "force", "extend-set" };

/* Creates and fills a patch for an enable-like operation; 0 on success. */
static int new_patch(uint64_t *rng, lp_model_t model, int extend, struct hpatch *out)
{
    char name[32];
    snprintf(name, sizeof name, "torture-%u", ++patch_seq);
    struct hpatch h = { .model = model, .variant = 1 + (int)(patch_seq % (NV - 1)) };
    h.p = lp_patch_create(name, model, 0);
    if (!h.p)
        return -errno;
    int want = 1 + (int)rnd(rng, 4);
    /* a stacked patch overlaps the one below it */
    if (depth > 0 && rnd(rng, 2))
        h.rep[h.nrep++] = stack[depth - 1].rep[0];
    while (h.nrep < want) {
        int fn = (int)rnd(rng, NPATCHABLE), dup = 0;
        for (int i = 0; i < h.nrep; i++)
            dup |= h.rep[i] == fn;
        if (!dup)
            h.rep[h.nrep++] = fn;
    }
    for (int i = 0; i < h.nrep; i++)
        if (lp_patch_add_func(h.p, G.f[h.rep[i]], (const void *)impls[h.rep[i]][h.variant]) != 0)
            return -EINVAL;
    for (int tries = 0; extend && h.next < 2 && tries < 8; tries++) {
        int fn = (int)rnd(rng, NPATCHABLE), dup = 0;
        for (int i = 0; i < h.nrep; i++)
            dup |= h.rep[i] == fn;
        for (int i = 0; i < h.next; i++)
            dup |= h.ext[i] == fn;
        if (!dup && lp_patch_extend_set(h.p, G.f[fn]) == 0)
            h.ext[h.next++] = fn;
    }
    *out = h;
    return 0;
}

static struct model_stats *stats_for(lp_model_t model)
{
    for (size_t i = 0; i < G.nstats; i++)
        if (G.stats[i].model == model)
            return &G.stats[i];
    return &G.stats[0];
}

static void record_latency(struct model_stats *m, uint64_t ns)
{
    if (m->nlat == m->caplat) {
        m->caplat = m->caplat ? 2 * m->caplat : 256;
        m->lat = realloc(m->lat, m->caplat * sizeof *m->lat);
    }
    m->lat[m->nlat++] = ns;
}

/* One round: one transition, then the check. Returns 1 if the round passed. */
static int run_round(uint64_t *rng, unsigned round, const lp_model_t *models, size_t nmodels)
{
    struct txinfo x = { 0 };
    enum op op = depth == MAX_STACK ? OP_DISABLE : depth == 0 ? OP_ENABLE : (enum op)rnd(rng, OP_COUNT);
    if (op == OP_STACK && depth == 0)
        op = OP_ENABLE;
    static unsigned enables;
    lp_model_t model = models[enables % nmodels];
    unsigned leave, sw;
    int disabling = op == OP_DISABLE || (op == OP_REVERSE && depth > 0 && rnd(rng, 2));
    struct hpatch h;
    if (disabling) {
        h = stack[depth - 1];
        model = h.model;
    } else if (enables++, new_patch(rng, model, op == OP_EXTEND || rnd(rng, 5) == 0, &h) != 0) {
        fprintf(stderr, "torture: cannot build a patch: %s\n", lp_strerror(-errno));
        return 0;
    }
    cell_of(model, &leave, &sw);
    struct model_stats *m = stats_for(model);
    uint64_t before[4] = { m->i0, m->i1, m->i2, m->i3 }, before_poison = m->poison, before_counts = m->counts;
    x.model = model;
    for (int fn = 0; fn < NF; fn++)
        x.before[fn] = effective_version(fn, depth);
    if (disabling) {
        for (int fn = 0; fn < NF; fn++)
            x.after[fn] = effective_version(fn, depth - 1);
    } else {
        stack[depth] = h;
        for (int fn = 0; fn < NF; fn++)
            x.after[fn] = effective_version(fn, depth + 1);
    }
    for (int i = 0; i < h.nrep; i++)
        x.in_set[h.rep[i]] = 1;
    for (int i = 0; i < h.next; i++)
        x.in_set[h.ext[i]] = 1;

    /* KGRAFT-like cells: now and then kthread-0 stops taking safe points; the
     * transition must stall and name it. */
    int lazy = leave == LP_LEAVE_KERNEL && sw == LP_SWITCH_THREAD && rnd(rng, 6) == 0 && op != OP_FORCE &&
               op != OP_REVERSE; /* turned around, the old universe owes kthread-0 nothing */
    atomic_store(&G.lazy_kthread, lazy);
    atomic_store(&G.long_sleep, G.nudges && rnd(rng, 12) == 0);
    atomic_store(&G.lazy_ack, 0);
    resume_all();
    sleep_ns(1000000 + rnd(rng, 2000000));
    /* The stall is only owed if kthread-0's section began before the start. */
    for (uint64_t until = now_ns() + 2000000000ull; lazy && !atomic_load(&G.lazy_ack) && now_ns() < until;)
        sleep_ns(100000);
    if (lazy && !atomic_load(&G.lazy_ack)) {
        lazy = 0;
        atomic_store(&G.lazy_kthread, 0);
    }

    /* Both ends of the transition are reachable while it runs. */
    for (int fn = 0; fn < NF; fn++) {
        atomic_store(&G.retired_at[fn][x.before[fn]], 0);
        atomic_store(&G.retired_at[fn][x.after[fn]], 0);
    }
    lp_transition_status_t status;
    lp_transition_status(&status);
    uint64_t reversed_before = status.reversed;
    x.S = now_ns();
    int rc = disabling ? lp_patch_disable(h.p) : lp_patch_enable(h.p);
    if (rc != 0) {
        fprintf(stderr, "torture: %s %s: %s\n", op_names[op], disabling ? "disable" : "enable", lp_strerror(rc));
        pause_all();
        return 0;
    }
    m->transitions++;
    int turned = 0;
    if (op == OP_REVERSE) {
        sleep_ns(rnd(rng, 2000000));
        turned = lp_transition_reverse() == 0; /* -EINVAL if it had completed already */
        m->reversed += turned;
    } else if (op == OP_FORCE) {
        sleep_ns(rnd(rng, 1000000));
        lp_transition_force();
        x.forced = 1;
        m->forced++;
    }
    int explained = 1;
    G.stalled_report[0] = 0;
    if (lazy) {
        /* It must stall while kthread-0 skips its safe points, and say so. */
        int named = 0;
        rc = lp_transition_wait(100000000);
        if (rc == -ETIMEDOUT) {
            lp_transition_for_each_stalled(collect_stalled, &named);
            m->expected_stalls++;
            explained = named;
        }
        atomic_store(&G.lazy_kthread, 0);
    }
    rc = lp_transition_wait(G.bound_ns);
    if (rc == -ETIMEDOUT) {
        int ignored = 0;
        lp_transition_for_each_stalled(collect_stalled, &ignored);
        fprintf(stderr, "\ntorture: round %u (%s, %s) did not complete in %.1f s; stalled:%s\n", round, m->name,
                op_names[op], G.bound_ns / 1e9, G.stalled_report);
        m->stalls++;
        explained = 0;
        lp_transition_force();
        x.forced = 1;
    }
    x.D = now_ns();
    if (!explained) {
        G.unexplained++;
        if (!rc)
            fprintf(stderr, "\ntorture: round %u: the stalled report did not name the lazy kthread:%s\n", round,
                    G.stalled_report);
    }
    /* What the transition ended in: a reverse ends where it started. The
     * harness reversed it (turned), or its model did, or both: count them. */
    lp_transition_status(&status);
    x.final_new = (status.reversed - reversed_before) % 2 == 0;
    m->model_reversed += status.reversed - reversed_before - (uint64_t)turned;
    m->reversed += status.reversed - reversed_before - (uint64_t)turned;
    if (!x.forced)
        record_latency(m, x.D - x.S);
    m->completed++;
    /* Retire what is no longer reachable: calls into it from now on are poison. */
    for (int fn = 0; fn < NF; fn++) {
        int from = x.final_new ? x.before[fn] : x.after[fn], to = x.final_new ? x.after[fn] : x.before[fn];
        if (from != to)
            atomic_store(&G.retired_at[fn][from], x.D);
    }
    /* The harness's stack follows the outcome. */
    if (x.final_new) {
        if (disabling) {
            lp_patch_destroy(stack[--depth].p);
        } else {
            depth++;
        }
    } else if (!disabling) {
        lp_patch_destroy(h.p);
    }

    sleep_ns(1000000 + rnd(rng, 2000000));
    pause_all();

    struct tctx *all[G.nctx + CHURN_SLOTS];
    unsigned nall = 0;
    for (unsigned k = 0; k < G.nctx; k++)
        all[nall++] = &G.ctx[k];
    for (int s = 0; s < CHURN_SLOTS; s++)
        all[nall++] = &G.churn[s];
    check_round(&x, m, all, nall);
    check_counts(m);
    for (unsigned k = 0; k < nall; k++) {
        all[k]->nrec = all[k]->nsect = all[k]->nh = 0;
        all[k]->strays = all[k]->poison = all[k]->hstrays = all[k]->hpoison = all[k]->hlost = 0;
        all[k]->cur_parent = NONE;
    }
    int clean = m->i0 == before[0] && m->i1 == before[1] && m->i2 == before[2] && m->i3 == before[3] &&
                m->poison == before_poison && m->counts == before_counts && explained;
    return clean;
}

/* ---- output ------------------------------------------------------------------- */

static uint64_t percentile(uint64_t *v, size_t n, double q)
{
    if (!n)
        return 0;
    for (size_t i = 1; i < n; i++) /* insertion sort: a few thousand values at most per model */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);
    return v[k];
}

static void print_table(FILE *out)
{
    fprintf(out, "\n%-20s %6s %6s %6s %9s %9s %6s %6s %7s %5s %5s %5s %5s %6s %6s\n", "model", "trans", "rev", "force",
            "median_ms", "p99_ms", "stalls", "named", "hcalls", "I0", "I1", "I2", "I3", "poison", "counts");
    for (size_t i = 0; i < G.nstats; i++) {
        struct model_stats *m = &G.stats[i];
        fprintf(out, "%-20s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %9.3f %9.3f %6" PRIu64 " %6" PRIu64 " %7" PRIu64
                     " %5" PRIu64 " %5" PRIu64 " %5" PRIu64 " %5" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n",
                m->name, m->transitions, m->reversed, m->forced, percentile(m->lat, m->nlat, 0.5) / 1e6,
                percentile(m->lat, m->nlat, 0.99) / 1e6, m->stalls, m->expected_stalls, m->handler_calls, m->i0,
                m->i1, m->i2, m->i3, m->poison, m->counts);
    }
    for (size_t i = 0; i < G.nstats; i++)
        if (G.stats[i].model_reversed)
            fprintf(out, "%s: %" PRIu64 " of its reversals made by the model's own policy\n", G.stats[i].name,
                    G.stats[i].model_reversed);
}

/* A progress bar with an ETA on stderr (a terminal, unless --no-progress),
 * redrawn at most ten times a second. Wall-clock time (start from wall_ns),
 * also under --sim, whose now_ns() is virtual. */
static void show_progress(double frac, uint64_t start, const char *what)
{
    static uint64_t last;
    uint64_t now = wall_ns();
    if (now - last < 100000000u && frac < 1)
        return;
    last = now;
    frac = frac > 1 ? 1 : frac;
    double eta = frac > 0 ? (double)(now - start) / 1e9 * (1 - frac) / frac : 0;
    fprintf(stderr, "\r\033[K[%-30.*s] %3.0f%% %s, ETA %.0f s", (int)(frac * 30), "##############################",
            frac * 100, what, eta);
}

/* Before a line on stdout, which may be the same terminal. */
static void clear_progress(void) { fputs("\r\033[K", stderr); }

static void write_json(FILE *out, double elapsed)
{
    lp_transition_status_t st;
    lp_transition_status(&st);
    fprintf(out, "{\n  \"seed\": %" PRIu64 ", \"threads\": %u, \"duration_s\": %.1f, \"inject_bug\": %d,\n", G.seed,
            G.threads, elapsed, G.inject);
    fprintf(out, "  \"passed\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"unexplained_hangs\": %" PRIu64
                 ", \"lost_records\": %" PRIu64 ",\n",
            G.passed, G.failed, G.unexplained, G.lost_records);
    fprintf(out, "  \"engine\": {\"exited_inside\": %" PRIu64 ", \"unbalanced_exits\": %" PRIu64
                 ", \"nudges_sent\": %" PRIu64 ", \"hold_attempts\": %" PRIu64 ", \"hold_timeouts\": %" PRIu64 "},\n",
            st.exited_inside, st.unbalanced_exits, st.nudges_sent, st.hold_attempts, st.hold_timeouts);
    fprintf(out, "  \"models\": [\n");
    for (size_t i = 0; i < G.nstats; i++) {
        struct model_stats *m = &G.stats[i];
        fprintf(out, "    {\"name\": \"%s\", \"model\": %u, \"transitions\": %" PRIu64 ", \"reversed\": %" PRIu64
                     ", \"forced\": %" PRIu64 ", \"median_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64
                     ", \"stalls\": %" PRIu64 ", \"named_stalls\": %" PRIu64 ", \"handler_calls\": %" PRIu64
                     ", \"violations\": {\"I0\": %" PRIu64
                     ", \"I1\": %" PRIu64 ", \"I2\": %" PRIu64 ", \"I3\": %" PRIu64 ", \"poison\": %" PRIu64
                     ", \"counts\": %" PRIu64 "}}%s\n",
                m->name, m->model, m->transitions, m->reversed, m->forced, percentile(m->lat, m->nlat, 0.5),
                percentile(m->lat, m->nlat, 0.99), m->stalls, m->expected_stalls, m->handler_calls, m->i0, m->i1,
                m->i2, m->i3, m->poison, m->counts, i + 1 < G.nstats ? "," : "");
    }
    fprintf(out, "  ]\n}\n");
    if (out != stdout)
        fclose(out);
}

/* ---- simulation mode (--sim) -------------------------------------------------------
 * A run is one transition. The driver (the calling thread) draws the
 * operation, the model and the patch stack below it from the run's seed and
 * prepares the stack with the engine in plain mode, while no hooked thread
 * exists; then a patcher and a few workload threads run under lp_sim_*, one
 * at a time, offering the baton next to every hook (SIM_POINT), sleeping in
 * virtual time; the checker judges their records as in a round; the driver
 * empties the stack again. The seed fixes the workload, the operation and
 * the schedule, so --replay SEED repeats a run bit for bit. */

#define SIM_MAX_WORKERS LP_TORTURE_SIM_THREADS_MAX
#define SIM_BOUND_NS 100000000ull /* virtual: a transition that takes longer is a hang */
#define SIM_DEADLINE_NS 150000ull /* virtual: the example model's deadline (DEADLINE_REVERSE) */

static const enum kind sim_kinds[] = { K_WORKER, K_WORKER, K_KTHREAD, K_BLOCK_FN, K_BLOCK_KERNEL, K_OFFLINE, K_LIVER };

static struct {
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
} SIM;

struct sim_outcome {
    lp_sim_result_t res;
    uint64_t i0, i1, i2, i3, poison, counts;
    int hang, failed, bad_op;
    const char *model;
    enum op op;
};

static void sim_patcher(struct tctx *t)
{
    for (unsigned k = rnd(&t->rng, 16); k > 0; k--)
        lp_sim_point(LP_SIM_PATCHER);
    struct txinfo *x = &SIM.x;
    lp_transition_status_t status;
    lp_transition_status(&status);
    uint64_t reversed_before = status.reversed;
    int turned = 0;
    x->S = now_ns();
    SIM.rc = SIM.disabling ? lp_patch_disable(SIM.h.p) : lp_patch_enable(SIM.h.p);
    if (SIM.rc == 0) {
        if (SIM.op == OP_REVERSE || SIM.op == OP_FORCE)
            for (unsigned k = rnd(&t->rng, 12); k > 0; k--)
                lp_sim_point(LP_SIM_PATCHER);
        if (SIM.op == OP_REVERSE) {
            turned = lp_transition_reverse() == 0; /* -EINVAL if it had completed already */
        } else if (SIM.op == OP_FORCE) {
            lp_transition_force();
            x->forced = 1;
        }
        if (lp_transition_wait(SIM_BOUND_NS) == -ETIMEDOUT) {
            SIM.hang = 1;
            lp_transition_force();
            x->forced = 1;
        }
    }
    x->D = now_ns();
    /* Reversed by the harness, by the model's own policy, or both (as in run_round). */
    lp_transition_status(&status);
    x->final_new = (status.reversed - reversed_before) % 2 == 0;
    SIM.model_reversals += status.reversed - reversed_before - (uint64_t)turned;
    /* Retire what is no longer reachable: calls into it from now on are poison. */
    for (int fn = 0; fn < NF; fn++) {
        int from = x->final_new ? x->before[fn] : x->after[fn], to = x->final_new ? x->after[fn] : x->before[fn];
        if (from != to)
            atomic_store(&G.retired_at[fn][from], x->D);
    }
    SIM.done = 1;
    lp_sim_wake(&SIM.done);
}

static void sim_worker(struct tctx *t)
{
    lp_thread_register(t->name);
    t->signalable = 1;
    if (t->kind == K_KTHREAD) {
        kernel_enter(t); /* and leaves only once the transition is over */
        while (!SIM.done) {
            work_once(t);
            lp_sim_wait(&SIM.done, 0, 20000 + rnd(&t->rng, 80000)); /* sleeps between rounds of work */
        }
        kernel_exit(t);
    } else {
        if (t->kind == K_LIVER)
            live_enter(t);
        for (unsigned i = 2 + rnd(&t->rng, 4); i > 0; i--)
            work_once(t);
        if (t->kind == K_LIVER)
            live_exit(t);
    }
    t->signalable = 0;
    lp_thread_unregister(); /* inside the run: its counts flush at a fixed point */
}

static void *sim_thread(void *arg)
{
    struct tctx *t = arg;
    self = t;
    if (lp_sim_thread_join((unsigned)t->idx) != 0)
        return NULL;
    if (t->idx == 0)
        sim_patcher(t);
    else
        sim_worker(t);
    lp_sim_thread_leave();
    return NULL;
}

/* Disables and destroys what the stack holds, in plain mode. */
static void sim_empty_stack(void)
{
    while (depth > 0) {
        struct hpatch *h = &stack[--depth];
        if (lp_patch_disable(h->p) == 0 && lp_transition_wait(1000000000ull) != 0)
            lp_transition_force();
        lp_patch_destroy(h->p);
    }
}

/* Prepares the patch stack and the transition of the run; 0 on success. */
static int sim_prepare(uint64_t *rng, const lp_model_t *models, const char **names, size_t nmodels, struct sim_outcome *o)
{
    enum op op = (enum op)rnd(rng, OP_COUNT);
    int below = op == OP_DISABLE ? 1 : op == OP_STACK ? 1 + (int)rnd(rng, MAX_STACK - 1) : op == OP_REVERSE ? (int)rnd(rng, 2) : 0;
    for (int b = 0; b < below; b++) {
        struct hpatch hb;
        if (new_patch(rng, models[rnd(rng, nmodels)], 0, &hb) != 0)
            return -1;
        if (lp_patch_enable(hb.p) != 0 || lp_transition_wait(1000000000ull) != 0) {
            lp_patch_destroy(hb.p);
            return -1;
        }
        stack[depth++] = hb;
    }
    int disabling = op == OP_DISABLE || (op == OP_REVERSE && depth > 0);
    size_t mi = rnd(rng, nmodels);
    struct hpatch h;
    if (disabling) {
        h = stack[depth - 1];
        for (mi = 0; mi < nmodels && models[mi] != h.model; mi++)
            ;
    } else if (new_patch(rng, models[mi], op == OP_EXTEND || rnd(rng, 5) == 0, &h) != 0) {
        return -1;
    }
    struct txinfo *x = &SIM.x;
    memset(x, 0, sizeof *x);
    x->model = h.model;
    for (int fn = 0; fn < NF; fn++)
        x->before[fn] = effective_version(fn, depth);
    if (!disabling)
        stack[depth] = h;
    for (int fn = 0; fn < NF; fn++)
        x->after[fn] = effective_version(fn, disabling ? depth - 1 : depth + 1);
    for (int i = 0; i < h.nrep; i++)
        x->in_set[h.rep[i]] = 1;
    for (int i = 0; i < h.next; i++)
        x->in_set[h.ext[i]] = 1;
    SIM.h = h;
    SIM.op = op;
    SIM.disabling = disabling;
    o->op = op;
    o->model = mi < nmodels ? names[mi] : "?";
    return 0;
}

/* One run under the simulation; fills o. */
static void sim_run(uint64_t seed, const lp_model_t *models, const char **names, size_t nmodels, struct sim_outcome *o)
{
    memset(o, 0, sizeof *o);
    patch_seq = 0; /* a patch's variant follows from its number: the same in every run of a seed */
    memset(G.retired_at, 0, sizeof G.retired_at);
    uint64_t rng = (SIM.fixed_workload ? SIM.workload_seed : seed) ^ 0x5eedull;
    if (sim_prepare(&rng, models, names, nmodels, o) != 0) {
        o->bad_op = o->failed = 1;
        sim_empty_stack();
        return;
    }
    SIM.done = 0;
    SIM.hang = SIM.rc = 0;
    unsigned n = SIM.workers + 1;
    for (unsigned k = 0; k < n; k++) {
        struct tctx *t = &SIM.ctx[k];
        struct rec *recs = t->recs;
        struct sect *sects = t->sects;
        uint32_t cap = t->cap, scap = t->scap;
        memset(t, 0, sizeof *t);
        t->recs = recs, t->sects = sects, t->cap = cap, t->scap = scap;
        t->idx = (int)k;
        t->kind = k == 0 ? K_WORKER : sim_kinds[(k - 1) % (sizeof sim_kinds / sizeof *sim_kinds)];
        snprintf(t->name, sizeof t->name, "%s-%u", k == 0 ? "patcher" : kind_names[t->kind], k);
        t->rng = splitmix(&rng);
        t->hrng = splitmix(&rng);
        t->cur_parent = NONE;
    }
    uint64_t base_e[NF], base_x[NF];
    for (int fn = 0; fn < NF; fn++)
        lp_func_counts(G.f[fn], &base_e[fn], &base_x[fn]);
    lp_sim_config_t cfg = { .seed = seed, .strategy = SIM.strategy, .pct_depth = SIM.depth, .threads = n,
                            .max_steps = SIM.max_steps, .pct_horizon = SIM.horizon };
    if (lp_sim_start(&cfg) != 0) {
        o->failed = 1;
        return;
    }
    for (unsigned k = 0; k < n; k++)
        pthread_create(&SIM.ctx[k].th, NULL, sim_thread, &SIM.ctx[k]);
    for (unsigned k = 0; k < n; k++)
        pthread_join(SIM.ctx[k].th, NULL);
    lp_sim_stop(&o->res);

    struct model_stats *m = stats_for(SIM.x.model);
    uint64_t before[6] = { m->i0, m->i1, m->i2, m->i3, m->poison, m->counts };
    struct tctx *all[SIM_MAX_WORKERS];
    for (unsigned k = 1; k < n; k++)
        all[k - 1] = &SIM.ctx[k];
    check_round(&SIM.x, m, all, n - 1);
    for (int fn = 0; fn < NF; fn++) { /* the run's own counts: what lp_func_counts() gained */
        uint64_t e = 0, x = 0, le, lx;
        for (unsigned k = 1; k < n; k++) {
            e += SIM.ctx[k].enters[fn] + SIM.ctx[k].hcalls[fn];
            x += SIM.ctx[k].exits[fn] + SIM.ctx[k].hcalls[fn];
        }
        if (lp_func_counts(G.f[fn], &le, &lx) != 0 || le - base_e[fn] != e || lx - base_x[fn] != x || le != lx)
            m->counts++;
    }
    o->i0 = m->i0 - before[0], o->i1 = m->i1 - before[1], o->i2 = m->i2 - before[2], o->i3 = m->i3 - before[3];
    o->poison = m->poison - before[4], o->counts = m->counts - before[5];
    o->hang = SIM.hang || o->res.outcome != LP_SIM_DONE || SIM.rc != 0;
    o->failed = o->hang || o->i0 || o->i1 || o->i2 || o->i3 || o->poison || o->counts;

    /* The harness's stack follows the outcome, then is emptied. */
    if (SIM.x.final_new && SIM.rc == 0) {
        if (SIM.disabling)
            lp_patch_destroy(stack[--depth].p);
        else
            depth++;
    } else if (!SIM.disabling) {
        lp_patch_destroy(SIM.h.p);
    }
    sim_empty_stack();
}

static const char *sim_strategy_name(int s) { return s == LP_SIM_PCT ? "pct" : "random"; }
static const char *sim_outcome_name(int o) { return o == LP_SIM_DONE ? "done" : o == LP_SIM_DEADLOCK ? "deadlock" : "budget spent"; }

static void sim_print(FILE *out, uint64_t seed, const struct sim_outcome *o)
{
    fprintf(out, "sim seed %" PRIu64 " (%s): %s under %s, hash %016" PRIx64 ", %" PRIu64 " steps, %" PRIu64
                 " switches, %.3f ms virtual, %s; I0 %" PRIu64 " I1 %" PRIu64 " I2 %" PRIu64 " I3 %" PRIu64
                 " poison %" PRIu64 " counts %" PRIu64 "%s%s\n",
            seed, sim_strategy_name(SIM.strategy), op_names[o->op], o->model ? o->model : "?", o->res.hash, o->res.steps,
            o->res.switches, (double)(o->res.virtual_ns - 1000000000ull) / 1e6, sim_outcome_name(o->res.outcome),
            o->i0, o->i1, o->i2, o->i3, o->poison, o->counts, o->hang ? ", HANG" : "", o->failed ? ", FAILED" : "");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The replay command of a failing run: the same flags, --replay SEED. */
static void sim_replay_hint(const char *prog, const char *models, const char *bug, uint64_t seed)
{
    printf("replay: %s --sim --strategy %s", prog, sim_strategy_name(SIM.strategy));
    if (SIM.strategy == LP_SIM_PCT)
        printf(" --pct-depth %u --pct-horizon %" PRIu64, SIM.depth, SIM.horizon);
    printf(" --sim-threads %u --steps %" PRIu64, SIM.workers, SIM.max_steps);
    if (SIM.fixed_workload)
        printf(" --workload-seed %" PRIu64, SIM.workload_seed);
    if (models)
        printf(" --models '%s'", models);
    if (bug)
        printf(" --inject-bug %s", bug);
    printf(" --replay %" PRIu64 "\n", seed);
}

/* --sim: explores `runs` seeds from `seed` with each strategy, or replays one. */
static int sim_main(const char *prog, const char *model_spec, const char *bug, uint64_t seed, unsigned runs,
                    int strategies, int replay, const lp_model_t *models, const char **names, size_t nmodels)
{
    sim_on = 1;
    uint32_t cap = 4096;
    for (unsigned k = 0; k <= SIM.workers; k++) {
        SIM.ctx[k].cap = cap;
        SIM.ctx[k].recs = calloc(cap, sizeof(struct rec));
        SIM.ctx[k].scap = cap / 2;
        SIM.ctx[k].sects = calloc(cap / 2, sizeof(struct sect));
    }
    /* Holds and pauses in virtual time: a step is 1 us. */
    lp_set_switch_policy(200000, 100000);
    /* The example model's deadline too, so that some of its transitions
     * still reverse themselves. */
    deadline_reverse_model(SIM_DEADLINE_NS);
    int status = 0;
    if (replay) {
        struct sim_outcome o;
        sim_run(seed, models, names, nmodels, &o);
        sim_print(stdout, seed, &o);
        return o.failed ? 1 : 0;
    }
    uint64_t *hashes = calloc(runs, sizeof *hashes);
    if (!hashes) {
        fprintf(stderr, "torture: out of memory for %u runs\n", runs);
        return 1;
    }
    uint64_t t0 = wall_ns();
    unsigned total = strategies == 3 ? 2 * runs : runs, done = 0;
    for (int s = LP_SIM_RANDOM; s <= LP_SIM_PCT; s++) {
        if (!(strategies & (1 << s)))
            continue;
        SIM.strategy = s;
        unsigned failed = 0, hangs = 0, first = 0;
        uint64_t first_seed = 0, steps = 0, v[6] = { 0 };
        lp_transition_status_t st0, st1;
        lp_transition_status(&st0);
        uint64_t model_reversals_before = SIM.model_reversals, handler_calls = 0;
        for (size_t i = 0; i < G.nstats; i++)
            handler_calls -= G.stats[i].handler_calls;
        for (unsigned r = 0; r < runs; r++) {
            struct sim_outcome o;
            sim_run(seed + r, models, names, nmodels, &o);
            hashes[r] = o.res.hash;
            steps += o.res.steps;
            v[0] += o.i0, v[1] += o.i1, v[2] += o.i2, v[3] += o.i3, v[4] += o.poison, v[5] += o.counts;
            hangs += o.hang;
            if (G.progress) {
                char what[64];
                snprintf(what, sizeof what, "sim %s: run %u of %u", sim_strategy_name(s), r + 1, runs);
                show_progress((double)++done / total, t0, what);
                if (SIM.verbose || o.failed)
                    clear_progress();
            }
            if (SIM.verbose)
                sim_print(stdout, seed + r, &o);
            if (!o.failed)
                continue;
            if (failed++ == 0) {
                first = r + 1;
                first_seed = seed + r;
                if (!SIM.verbose)
                    sim_print(stdout, seed + r, &o);
                sim_replay_hint(prog, model_spec, bug, seed + r);
            }
        }
        lp_transition_status(&st1);
        for (size_t i = 0; i < G.nstats; i++)
            handler_calls += G.stats[i].handler_calls;
        if (G.progress)
            clear_progress();
        qsort(hashes, runs, sizeof *hashes, cmp_u64);
        unsigned distinct = runs ? 1 : 0;
        for (unsigned r = 1; r < runs; r++)
            distinct += hashes[r] != hashes[r - 1];
        printf("sim %s: %u runs (seeds %" PRIu64 "..%" PRIu64 "), %u distinct interleavings, %.0f steps per run; "
               "%u failed runs (I0 %" PRIu64 " I1 %" PRIu64 " I2 %" PRIu64 " I3 %" PRIu64 " poison %" PRIu64
               " counts %" PRIu64 ", hangs %u); %" PRIu64 " holds, %" PRIu64 " nudges (%" PRIu64
               " handler calls checked), %" PRIu64 " reversals by the model's own policy",
               sim_strategy_name(s), runs, seed, seed + runs - 1, distinct, runs ? (double)steps / runs : 0.0, failed,
               v[0], v[1], v[2], v[3], v[4], v[5], hangs, st1.hold_attempts - st0.hold_attempts,
               st1.nudges_sent - st0.nudges_sent, handler_calls, SIM.model_reversals - model_reversals_before);
        if (failed)
            printf(", first at run %u (seed %" PRIu64 ")", first, first_seed);
        printf("\n");
        status |= failed != 0;
    }
    free(hashes);
    return status;
}

int lp_torture_run(lp_torture_options_t *o)
{
    G.threads = (unsigned)o->threads;
    G.duration = o->duration;
    G.seed = o->seed;
    G.nudges = !o->no_nudges;
    G.progress = !o->no_progress && isatty(STDERR_FILENO);
    G.inject = o->inject;
    G.json_out = o->json_out;
    G.text = o->text;
    /* Draining a hold takes CPU time from every thread inside the area: on a
     * small machine that grows with the thread count. */
    G.bound_ns = o->bound_ms * 1000000ull;
    if (G.bound_ns < G.threads * 5000000ull)
        G.bound_ns = G.threads * 5000000ull;
    SIM.workers = (unsigned)o->sim_threads;
    SIM.depth = (unsigned)o->pct_depth;
    SIM.horizon = o->pct_horizon;
    SIM.max_steps = o->steps;
    SIM.verbose = o->verbose;
    SIM.fixed_workload = !!(o->given & LP_TORTURE_WORKLOAD_SEED);
    SIM.workload_seed = o->workload_seed;
    const lp_model_t *models = o->model_ids;
    const char **names = o->model_names;
    size_t nmodels = o->nmodels;
    G.stats = calloc(nmodels, sizeof *G.stats);
    for (size_t i = 0; i < nmodels; i++) {
        /* a preset equal to a bare cell (KGRAFT is kernel x thread) shares its row */
        size_t j;
        for (j = 0; j < G.nstats && G.stats[j].model != models[i]; j++)
            ;
        if (j == G.nstats) {
            G.stats[G.nstats].model = models[i];
            G.stats[G.nstats++].name = names[i];
        } else if (names[i][0] >= 'A' && names[i][0] <= 'Z') {
            G.stats[j].name = names[i];
        }
    }

    /* The bug first: pad-not-written breaks the arming below. */
    if (G.inject)
        lp_debug_inject_bug(G.inject);
    /* Functions, signals, policy. */
    char name[32];
    for (int fn = 0; fn < NF; fn++) {
        snprintf(name, sizeof name, "torture.f%d", fn);
        G.f[fn] = lp_func_lookup(name);
        if (!G.f[fn])
            G.f[fn] = lp_func_register(name, (const void *)impls[fn][0]);
        if (!G.f[fn]) {
            fprintf(stderr, "torture: lp_func_register: %s\n", strerror(errno));
            return 1;
        }
    }
    /* A build whose pads the engine cannot use (the CLI's SwiftPM link) runs
     * without pad threads, and says so. */
    int pads = pad_workload_setup(G.f, NF) == 0;
    if (!pads)
        fprintf(stderr, "torture: no usable patchable entries in this build: no pad threads\n");
    /* Each handler blocks the other's signal: a thread's handler calls never nest. */
    struct sigaction sa = { .sa_handler = on_nudge };
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR2, &sa, NULL);
    lp_set_nudge_signal(G.nudges ? SIGUSR1 : 0);
    /* Blockers sleep up to 4 ms inside functions: hold new entries long enough to drain them. */
    lp_set_switch_policy(10000000, 2000000);
    if (o->sim) {
        int replay = !!(o->given & LP_TORTURE_REPLAY);
        if (replay)
            SIM.strategy = o->strategies == 1 << LP_SIM_PCT ? LP_SIM_PCT : LP_SIM_RANDOM;
        int status = sim_main(o->prog, o->models, o->inject_bug, replay ? o->replay : o->seed, (unsigned)o->runs,
                              o->strategies, replay, models, names, nmodels);
        lp_debug_inject_bug(LP_BUG_NONE);
        return status;
    }

    /* Threads: mostly workers, plus blockers, kthreads, offline sleepers and churn. */
    pthread_mutex_init(&G.lock, NULL);
    pthread_cond_init(&G.parked_cv, NULL);
    pthread_cond_init(&G.resume_cv, NULL);
    atomic_store(&G.pause, 1);
    G.nctx = G.threads;
    G.ctx = calloc(G.nctx, sizeof *G.ctx);
    uint64_t per_thread = (256ull << 20) / G.nctx / sizeof(struct rec);
    uint32_t cap = per_thread < 512 ? 512 : per_thread > 8192 ? 8192 : (uint32_t)per_thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    uint64_t seed = G.seed;
    unsigned nk = 2, nbf = G.threads / 20, nbk = G.threads / 20, noff = G.threads / 20, nliv = G.threads / 20, nsig = 2,
             npad = pads ? G.threads / 8 : 0;
    for (unsigned k = 0; k < G.nctx + CHURN_SLOTS; k++) {
        struct tctx *t = k < G.nctx ? &G.ctx[k] : &G.churn[k - G.nctx];
        unsigned kind_idx = k < nk ? K_KTHREAD : k < nk + nbf ? K_BLOCK_FN : k < nk + nbf + nbk ? K_BLOCK_KERNEL
                          : k < nk + nbf + nbk + noff ? K_OFFLINE : k < nk + nbf + nbk + noff + nliv ? K_LIVER
                          : k < nk + nbf + nbk + noff + nliv + nsig ? K_SIGNALLED
                          : k < nk + nbf + nbk + noff + nliv + nsig + npad ? K_PAD : K_WORKER;
        t->kind = k < G.nctx ? (enum kind)kind_idx : K_CHURN;
        t->idx = t->kind == K_KTHREAD ? (int)k : (int)k;
        snprintf(t->name, sizeof t->name, "%s-%u", kind_names[t->kind], t->kind == K_KTHREAD ? k : k);
        t->rng = splitmix(&seed);
        t->hrng = splitmix(&seed);
        t->cap = cap;
        t->recs = calloc(cap, sizeof *t->recs);
        t->scap = cap / 2;
        t->sects = calloc(t->scap, sizeof *t->sects);
        t->cur_parent = NONE;
        if (!t->recs || !t->sects) {
            fprintf(stderr, "torture: out of memory for %u threads\n", G.threads);
            return 1;
        }
    }
    G.parties = (int)G.nctx + 2;
    for (unsigned k = 0; k < G.nctx; k++)
        if (pthread_create(&G.ctx[k].th, &attr, worker, &G.ctx[k]) != 0) {
            fprintf(stderr, "torture: pthread_create: thread %u of %u\n", k, G.nctx);
            return 1;
        }
    pthread_create(&G.churn_driver, &attr, churn_driver, NULL);
    pthread_create(&G.sender, &attr, sender, NULL);
    pthread_mutex_lock(&G.lock);
    while (G.parked < G.parties)
        pthread_cond_wait(&G.parked_cv, &G.lock);
    pthread_mutex_unlock(&G.lock);

    fprintf(G.text, "torture: %u threads, %.0f s, seed %" PRIu64 ", %zu models%s%s\n", G.threads, G.duration, G.seed,
            nmodels, G.inject ? ", injected bug: " : "", G.inject ? o->inject_bug : "");
    fflush(G.text);
    uint64_t start = now_ns(), end = start + (uint64_t)(G.duration * 1e9);
    uint64_t rng = G.seed ^ 0x5eedull;
    for (unsigned round = 0; now_ns() < end; round++) {
        if (run_round(&rng, round, models, nmodels))
            G.passed++;
        else
            G.failed++;
        if (G.progress) {
            char what[64];
            snprintf(what, sizeof what, "%" PRIu64 " transitions, %" PRIu64 " failed", G.passed + G.failed, G.failed);
            show_progress((double)(now_ns() - start) / (double)(end - start), start, what);
        }
    }
    if (G.progress)
        fprintf(stderr, "\n");
    /* Leave nothing enabled, so that a process running several tortures starts clean. */
    while (depth > 0) {
        struct hpatch *h = &stack[--depth];
        if (lp_patch_disable(h->p) == 0 && lp_transition_wait(G.bound_ns) != 0)
            lp_transition_force();
        lp_patch_destroy(h->p);
    }
    atomic_store(&G.stop, 1);
    resume_all();
    pthread_join(G.sender, NULL); /* before the workers end: it signals only live threads */
    for (unsigned k = 0; k < G.nctx; k++)
        pthread_join(G.ctx[k].th, NULL);
    pthread_join(G.churn_driver, NULL);
    if (G.inject)
        lp_debug_inject_bug(LP_BUG_NONE);
    double elapsed = (double)(now_ns() - start) / 1e9;

    print_table(G.text);
    uint64_t v = 0;
    for (size_t i = 0; i < G.nstats; i++)
        v += G.stats[i].i0 + G.stats[i].i1 + G.stats[i].i2 + G.stats[i].i3 + G.stats[i].poison + G.stats[i].counts;
    lp_transition_status_t st;
    lp_transition_status(&st);
    fprintf(G.text, "\nviolations: %" PRIu64 ", unexplained hangs: %" PRIu64 ", records lost to full rings: %" PRIu64
           ", threads that exited inside a kernel section: %" PRIu64 ", nudges: %" PRIu64 "\n",
           v, G.unexplained, G.lost_records, st.exited_inside, st.nudges_sent);
    fprintf(G.text, "seed %" PRIu64 " (--seed %" PRIu64 " repeats this run's choices)\n", G.seed, G.seed);
    if (G.json_out)
        write_json(G.json_out, elapsed);
    fprintf(G.text, "%" PRIu64 " passed, %" PRIu64 " failed\n", G.passed, G.failed);
    return G.failed || v || G.unexplained ? 1 : 0;
}
