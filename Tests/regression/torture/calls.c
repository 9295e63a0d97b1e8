/*
 * The torture's calls: NF x NV implementations that know their own
 * (function, variant), the hook-called path and the pad path into them,
 * signal handlers' calls, and kernel sections; each records what the checker
 * judges (see torture.h).
 */
#include "torture.h"

#include <sched.h>

__thread struct tctx *self;

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
const impl_fn impls[NF][NV] = {
    ROW(0), ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6), ROW(7),
    ROW(8), ROW(9), ROW(10), ROW(11), ROW(12), ROW(13), ROW(14), ROW(15),
};

/* ---- sleeping, yielding, nudges ------------------------------------------------ */

static void handler_call(struct tctx *t);

/* The engine's nudge (SIGUSR1) and the sender's signal (SIGUSR2) both call a
 * patched function, as a real program's handler may: the header promises it
 * runs in the interrupted thread's universe, and check_round holds it to that. */
void on_nudge(int signo)
{
    (void)signo;
    if (self) {
        self->nudged = 1;
        handler_call(self);
    }
}

void on_signal(int signo)
{
    (void)signo;
    if (self)
        handler_call(self);
}

/* Sleeps ns in short slices; a nudge or the end of the round cuts it short. */
void sleep_nudgeable(struct tctx *t, uint64_t ns)
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
void debug_yield(struct tctx *t)
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

uint64_t block_time(struct tctx *t)
{
    if (atomic_load_explicit(&G.long_sleep, memory_order_relaxed))
        return 2000000000ull; /* only a nudge ends it early */
    return 500000 + rnd(&t->rng, 3500000);
}

/* ---- calls --------------------------------------------------------------------- */

static uint32_t rec_begin(struct tctx *t, int fn, int ver, uint64_t t_pre, uint64_t t_start)
{
    uint32_t n = t->nrec++;
    *rec_at(t, n) = (struct rec){ .t_pre = t_pre, .t_start = t_start, .parent = t->cur_parent,
                                  .section = t->section, .incarnation = t->incarnation,
                                  .fn = (uint8_t)fn, .ver = (uint8_t)ver };
    return n;
}

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

long call_fn(struct tctx *t, int fn, int depth, uint64_t block_ns)
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

void section_begin(struct tctx *t)
{
    t->section = ++t->section_seq;
    t->sects[t->nsect++ % t->scap] = (struct sect){ .t_start = now_ns(), .id = t->section, .incarnation = t->incarnation };
}

void section_end(struct tctx *t)
{
    struct sect *last = &t->sects[(t->nsect - 1) % t->scap];
    if (t->nsect && last->id == t->section && !last->t_end)
        last->t_end = now_ns();
    t->section = 0;
}

void kernel_enter(struct tctx *t)
{
    SIM_POINT(LP_SIM_KERNEL_ENTER);
    hook_begin(t);
    lp_kernel_enter();
    hook_end(t);
    section_begin(t);
}

void kernel_exit(struct tctx *t)
{
    section_end(t);
    SIM_POINT(LP_SIM_KERNEL_EXIT);
    hook_begin(t);
    lp_kernel_exit();
    hook_end(t);
}

/* A kthread's safe point ends one stretch of its endless section and begins the next. */
void safe_point(struct tctx *t) { section_end(t); SIM_POINT(LP_SIM_SAFE_POINT); lp_safe_point(); section_begin(t); }

int pick_top(struct tctx *t)
{
    return rnd(&t->rng, 10) < 8 ? (int)rnd(&t->rng, NPATCHABLE) : NPATCHABLE + (int)rnd(&t->rng, NF - NPATCHABLE);
}
