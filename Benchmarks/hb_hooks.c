/* hookbench section "hooks": the single-thread pairs, baselines and hooks,
 * in interleaved rounds; and --count, one row's loop for callgrind. */
#include "hb_driver.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <alloca.h>

/* No _LGPL_SOURCE here: urcu_memb_read_lock() below is the library's
 * exported function, a call into liburcu-memb.so. */
#include <urcu/urcu-memb.h>

#include "hb.h"

/* ---- the loops: one noinline function per measured body ---------------------
 * Every loop runs `n` pairs; the clobber keeps the compiler from deleting or
 * merging iterations. The loop overhead itself is the "empty loop" row. */

HB_NOINLINE static void loop_empty(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) CLOBBER();
}

HB_NOINLINE static void loop_calls(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_empty_enter(arg);
        hb_empty_exit(arg);
        CLOBBER();
    }
}

HB_NOINLINE void loop_floor(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_floor_enter(arg);
        KEEP(p);
        hb_floor_exit(arg);
    }
}

HB_NOINLINE void loop_floor_so(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_so_floor_enter(arg);
        KEEP(p);
        hb_so_floor_exit(arg);
    }
}

HB_NOINLINE void loop_xadd(uint64_t n, void *arg)
{
    uint64_t *c = arg;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = hb_xadd(c);
        KEEP(v);
        v = hb_xadd(c);
        KEEP(v);
    }
}

HB_NOINLINE static void loop_rwlock(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_rwlock_rdlock(arg);
        pthread_rwlock_unlock(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_mutex(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(arg);
        pthread_mutex_unlock(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_memb_inline(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_memb_lock();
        hb_memb_unlock();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_memb_so(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        urcu_memb_read_lock();
        urcu_memb_read_unlock();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_bp(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_bp_lock();
        hb_bp_unlock();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_qsbr_qs1(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_qsbr_lock();
        hb_qsbr_unlock();
        hb_qsbr_quiescent();
    }
}

HB_NOINLINE static void loop_qsbr_qs1024(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_qsbr_lock();
        hb_qsbr_unlock();
        if ((i & 1023) == 1023) hb_qsbr_quiescent();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_ref(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_ref_enter(arg);
        KEEP(p);
        hb_ref_exit(arg);
    }
}

HB_NOINLINE void loop_hook(uint64_t n, void *arg)
{
    lp_func_t *f = arg;
    for (uint64_t i = 0; i < n; i++) {
        const void *p = lp_func_enter(f);
        KEEP(p);
        lp_func_exit(f);
    }
}

/* One call of an instrumented empty function: its call, plus the two cyg
 * hooks around its body. */
HB_NOINLINE static void loop_cyg_unregistered(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_cyg_unregistered(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_cyg_registered(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_cyg_registered(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_kernel(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        lp_kernel_enter();
        CLOBBER();
        lp_kernel_exit();
    }
}

/* One lp_shadow_get that finds its shadow (a lock-free rculfhash lookup in
 * a memb read section): one call per iteration, against the floor's two. */
HB_NOINLINE static void loop_shadow_get(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        void *p = lp_shadow_get(arg, 1);
        KEEP(p);
    }
}


static lp_patch_t *p_steady, *p_tx[N_PRESETS];


/* The parker: a registered thread that enters a kernel section and a patched
 * function, then blocks on a condition variable inside both, so that a
 * transition it predates cannot complete (except under IMMEDIATE, which
 * counts nothing; there the transition stays in flight only because nobody
 * calls lp_transition_try_complete or _wait while the hooks are measured). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int cmd;   /* 0 none, 1 park, 2 release, 3 quit */
    int state; /* 0 idle, 1 parked */
    lp_func_t *f;
    pthread_t th;
} parker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, 0};

static void *parker_main(void *arg)
{
    (void)arg;
    int rc = lp_thread_register("hb-parker");
    if (rc) die("lp_thread_register(parker)", rc);
    pthread_mutex_lock(&parker.mu);
    for (;;) {
        while (parker.cmd == 0) pthread_cond_wait(&parker.cv, &parker.mu);
        if (parker.cmd == 3) break;
        if (parker.cmd != 1) {
            parker.cmd = 0;
            continue;
        }
        parker.cmd = 0;
        lp_func_t *f = parker.f;
        pthread_mutex_unlock(&parker.mu);
        lp_kernel_enter();
        ((void (*)(void))(uintptr_t)lp_func_enter(f))();
        pthread_mutex_lock(&parker.mu);
        parker.state = 1;
        pthread_cond_broadcast(&parker.cv);
        while (parker.cmd != 2) pthread_cond_wait(&parker.cv, &parker.mu);
        parker.cmd = 0;
        pthread_mutex_unlock(&parker.mu);
        lp_func_exit(f);
        lp_kernel_exit();
        pthread_mutex_lock(&parker.mu);
        parker.state = 0;
        pthread_cond_broadcast(&parker.cv);
    }
    pthread_mutex_unlock(&parker.mu);
    lp_thread_unregister();
    return NULL;
}

static void parker_cmd(int cmd, int want_state, lp_func_t *f)
{
    pthread_mutex_lock(&parker.mu);
    parker.f = f;
    parker.cmd = cmd;
    pthread_cond_broadcast(&parker.cv);
    while (want_state >= 0 && parker.state != want_state) pthread_cond_wait(&parker.cv, &parker.mu);
    pthread_mutex_unlock(&parker.mu);
}

/* ---- section: single-thread pairs ------------------------------------------ */

typedef struct bench {
    const char *key, *label;
    int hook;   /* 0 baseline, 1 the project's hook */
    loop_fn loop;
    void *arg;
    int (*setup)(struct bench *);
    void (*teardown)(struct bench *);
    int preset; /* transition benches: index in presets[], else -1 */
    uint64_t iters;
    double ns[MAX_REPS];
    int inflight; /* transition benches: rounds verified in flight before and after */
    uint64_t allocs; /* heap allocations by this thread during the timed loops */
    int state_before;
} bench_t;

static int setup_memb(bench_t *b)
{
    (void)b;
    urcu_memb_register_thread();
    return 0;
}
static void teardown_memb(bench_t *b)
{
    (void)b;
    /* The engine registers this thread with urcu_memb itself when it scans
     * (lp_transition_wait): never leave it registered. */
    urcu_memb_unregister_thread();
}
/* lp_shadow_get uses the thread's own urcu_memb registration when it has
 * one; without it the first lp_shadow_* call would register this thread for
 * good, and setup_memb's registration in the next round would be a second. */
static char shadow_obj;
static int setup_shadow(bench_t *b)
{
    setup_memb(b);
    if (lp_shadow_get_or_alloc(&shadow_obj, 1, 64, NULL, NULL)) return 0;
    fprintf(stderr, "hookbench: lp_shadow_get_or_alloc failed\n");
    teardown_memb(b);
    return -1;
}
static int setup_qsbr(bench_t *b)
{
    (void)b;
    hb_qsbr_register();
    return 0;
}
static void teardown_qsbr(bench_t *b)
{
    (void)b;
    hb_qsbr_unregister();
}

static int setup_tx(bench_t *b)
{
    parker_cmd(1, 1, f_tx);
    int rc = lp_patch_enable(p_tx[b->preset]);
    if (rc) {
        fprintf(stderr, "hookbench: lp_patch_enable(%s): %s\n", presets[b->preset].name, lp_strerror(rc));
        parker_cmd(2, 0, NULL);
        return -1;
    }
    b->state_before = transition_state();
    return 0;
}

static void teardown_tx(bench_t *b)
{
    int after = transition_state();
    if (b->state_before == LP_TRANSITION_PATCHING && after == LP_TRANSITION_PATCHING) b->inflight++;
    parker_cmd(2, 0, NULL);
    finish_transition(presets[b->preset].name);
    int rc = lp_patch_disable(p_tx[b->preset]);
    if (rc) die("lp_patch_disable", rc);
    finish_transition(presets[b->preset].name);
}

/* Runs one repetition with the stack moved down by `offset` bytes. The hooks
 * push registers, then load their records; a record whose address agrees
 * with a pushed slot in its low 12 bits makes the load wait for the store (4K
 * aliasing), and which one does depends on the stack's offset within its page,
 * which Linux draws at random per process: the same row measured 5.8 ns in one
 * run and 6.8 or 8.1 ns in others (stable with setarch -R). Each round uses
 * another offset, the same for every row of that round, so that the median
 * over rounds is the typical placement rather than one process's draw. */
HB_NOINLINE static uint64_t run_at_offset(bench_t *b, size_t offset)
{
    volatile char *pad = alloca(offset + 16);
    pad[0] = 0;
    uint64_t t0 = now_ns();
    b->loop(b->iters, b->arg);
    uint64_t dt = now_ns() - t0;
    __asm__ volatile("" ::"r"(pad) : "memory");
    return dt;
}

static uint64_t calibrate(bench_t *b, double target_ns)
{
    uint64_t n = 256;
    for (;;) {
        uint64_t t0 = now_ns();
        b->loop(n, b->arg);
        uint64_t dt = now_ns() - t0;
        if (dt >= 2000000 || n >= (1ull << 36)) {
            double it = (double)n * target_ns / (double)(dt ? dt : 1);
            return it < 1000 ? 1000 : (uint64_t)it;
        }
        n *= dt < 100000 ? 8 : 2;
    }
}

static bench_t benches[32];
static int n_benches;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t c;
    char pad[56];
} __attribute__((aligned(64))) private_line;
static char tx_keys[N_PRESETS][32], tx_labels[N_PRESETS][64];

static bench_t *add_bench(const char *key, const char *label, int hook, loop_fn loop, void *arg)
{
    bench_t *b = &benches[n_benches++];
    memset(b, 0, sizeof *b);
    b->key = key;
    b->label = label;
    b->hook = hook;
    b->loop = loop;
    b->arg = arg;
    b->preset = -1;
    return b;
}

static bench_t *find_bench(const char *key)
{
    for (int i = 0; i < n_benches; i++)
        if (!strcmp(benches[i].key, key)) return &benches[i];
    return NULL;
}

/* The rows of the hooks section, with their fixtures: hb-steady enabled and
 * complete, the parker thread started. */
static void hooks_prepare(void)
{
    int rc;
    p_steady = make_patch("hb-steady", LP_MODEL_KGRAFT, f_steady);
    if ((rc = lp_patch_enable(p_steady))) die("lp_patch_enable(hb-steady)", rc);
    finish_transition("hb-steady");
    for (int i = 0; i < N_PRESETS; i++) {
        char name[48];
        snprintf(name, sizeof name, "hb-tx-%.31s", presets[i].name);
        p_tx[i] = make_patch(name, presets[i].model, f_tx);
    }
    pthread_create(&parker.th, NULL, parker_main, NULL);

    add_bench("empty", "empty loop (loop overhead)", 0, loop_empty, NULL);
    add_bench("calls", "2 non-inlined empty calls", 0, loop_calls, NULL);
    add_bench("floor", "FLOOR: 2 non-inlined calls, ++ IE __thread", 0, loop_floor, NULL);
    add_bench("floor_plt", "floor through a .so's PLT", 0, loop_floor_so, NULL);
    add_bench("xadd_private", "lock xadd pair, private line", 0, loop_xadd, &private_line.c);
    add_bench("rwlock", "pthread_rwlock rdlock+unlock", 0, loop_rwlock, &rwlock);
    add_bench("mutex", "pthread_mutex lock+unlock", 0, loop_mutex, &mutex);
    bench_t *b = add_bench("memb", "urcu_memb lock+unlock, inlined, noinline", 0, loop_memb_inline, NULL);
    b->setup = setup_memb, b->teardown = teardown_memb;
    b = add_bench("memb_so", "urcu_memb lock+unlock, calls into .so", 0, loop_memb_so, NULL);
    b->setup = setup_memb, b->teardown = teardown_memb;
    add_bench("bp", "urcu_bp lock+unlock, inlined, noinline", 0, loop_bp, NULL);
    b = add_bench("qsbr_qs1", "urcu_qsbr pair + quiescent every call", 0, loop_qsbr_qs1, NULL);
    b->setup = setup_qsbr, b->teardown = teardown_qsbr;
    b = add_bench("qsbr_qs1024", "urcu_qsbr pair + quiescent every 1024", 0, loop_qsbr_qs1024, NULL);
    b->setup = setup_qsbr, b->teardown = teardown_qsbr;
    add_bench("ref", "the hook pair's algorithm in C (hb_ref.c)", 0, loop_ref, hb_ref_setup(IMPL(impl_old)));
    add_bench("hook", "lp_func_enter+exit, in no patch", 1, loop_hook, f_plain);
    add_bench("hook_steady", "lp_func_enter+exit, patched, steady", 1, loop_hook, f_steady);
    for (int i = 0; i < N_PRESETS; i++) {
        snprintf(tx_keys[i], sizeof tx_keys[i], "hook_tx_%.23s", presets[i].name);
        snprintf(tx_labels[i], sizeof tx_labels[i], "lp_func_enter+exit, in transition, %.28s", presets[i].name);
        b = add_bench(tx_keys[i], tx_labels[i], 1, loop_hook, f_tx);
        b->setup = setup_tx, b->teardown = teardown_tx, b->preset = i;
    }
    add_bench("kernel", "lp_kernel_enter+exit", 1, loop_kernel, NULL);
    b = add_bench("shadow_get", "lp_shadow_get, hit (one call)", 1, loop_shadow_get, &shadow_obj);
    b->setup = setup_shadow, b->teardown = teardown_memb;
    /* -finstrument-functions: one call of an empty instrumented function. */
    if (!lp_func_register_auto("hb-cyg", (const void *)(uintptr_t)hb_cyg_registered)) die("hb-cyg", -errno);
    add_bench("cyg_unregistered", "cyg hooks, unregistered function", 1, loop_cyg_unregistered, NULL);
    add_bench("cyg_registered", "cyg hooks, registered function", 1, loop_cyg_registered, NULL);
}

static void hooks_finish(void)
{
    int rc;
    parker_cmd(3, -1, NULL);
    pthread_join(parker.th, NULL);
    if ((rc = lp_patch_disable(p_steady))) die("lp_patch_disable(hb-steady)", rc);
    finish_transition("hb-steady");
}

/* --count KEY: one row's loop, run --count-iters times and nothing else
 * timed, for scripts/count-instructions (callgrind collects inside the
 * loop's function only: --toggle-collect). */
void count_one(void)
{
    hooks_prepare();
    bench_t *b = find_bench(opt.count_key);
    if (!b) {
        fprintf(stderr, "hookbench: --count: no row %s\n", opt.count_key);
        exit(2);
    }
    if (b->setup && b->setup(b)) exit(2);
    b->loop(opt.count_iters, b->arg);
    if (b->teardown) b->teardown(b);
    hooks_finish();
    if (hb_ref_slow_calls) {
        fprintf(stderr, "hookbench: the C transcription left its fast path %llu times\n",
                (unsigned long long)hb_ref_slow_calls);
        exit(2);
    }
    printf("%s: %llu pairs\n", b->key, (unsigned long long)opt.count_iters);
}

void section_hooks(void)
{
    hooks_prepare();
    bench_t *b;
    double target_ns = opt.rep_ms * 1e6;
    for (int r = 0; r < opt.reps; r++) {
        for (int i = 0; i < n_benches; i++) {
            b = &benches[i];
            b->ns[r] = NAN;
            if (b->setup && b->setup(b)) continue;
            if (r == 0) b->iters = calibrate(b, target_ns); /* also the warm-up */
            uint64_t a0 = hb_alloc_count;
            hb_alloc_counting = 1;
            uint64_t dt = run_at_offset(b, (size_t)(r * 1040) % 4096); /* 1040: a quarter page + 16 */
            hb_alloc_counting = 0;
            b->allocs += hb_alloc_count - a0;
            b->ns[r] = (double)dt / (double)b->iters;
            if (b->teardown) b->teardown(b);
        }
    }

    hooks_finish();
    /* A figure of the C transcription is its fast path's only. */
    if (hb_ref_slow_calls) {
        fprintf(stderr, "hookbench: the C transcription left its fast path %llu times: its row is void\n",
                (unsigned long long)hb_ref_slow_calls);
        bench_t *ref = find_bench("ref");
        for (int r = 0; r < opt.reps; r++) ref->ns[r] = NAN;
    }

    bench_t *floor = find_bench("floor");
    printf("\n== single-thread pairs, %s library: %d rounds x ~%.0f ms; ns/pair = median over rounds; "
           "x floor = median of per-round ratios to the floor [its 95%% confidence interval] ==\n",
           opt.variant, opt.reps, opt.rep_ms);
    printf("  %-46s %9s %22s %7s\n", "", "ns/pair", "x floor [95% CI]", "allocs");
    for (int i = 0; i < n_benches; i++) {
        b = &benches[i];
        if (i > 0 && b->hook && !benches[i - 1].hook) printf("  %s\n", "-- the project's hooks --");
        double med = median(b->ns, opt.reps);
        spread_t sp = ratio_spread(b->ns, floor->ns, opt.reps);
        char note[64] = "", cell[48];
        if (b->preset >= 0) snprintf(note, sizeof note, "  (in flight %d/%d)", b->inflight, opt.reps);
        char allocs[24];
        if (hb_alloc_supported) snprintf(allocs, sizeof allocs, "%llu", (unsigned long long)b->allocs);
        else snprintf(allocs, sizeof allocs, "?");
        printf("  %-46s %9.2f %22s %7s%s\n", b->label, med, fmt_spread(cell, sizeof cell, sp), allocs, note);
        if (js_hooks.len) sb_printf(&js_hooks, ",\n    ");
        sb_printf(&js_hooks, "{\"key\": \"%s\", \"label\": \"%s\", \"hook\": %s, \"ns_per_pair\": ", b->key, b->label,
                  b->hook ? "true" : "false");
        sb_num(&js_hooks, med);
        sb_spread(&js_hooks, "ratio_floor", sp);
        sb_printf(&js_hooks, ", \"iters_per_rep\": %llu, \"samples_ns\": ", (unsigned long long)b->iters);
        sb_array(&js_hooks, b->ns, opt.reps);
        if (b->preset >= 0) sb_printf(&js_hooks, ", \"in_flight_rounds\": %d", b->inflight);
        if (hb_alloc_supported) sb_printf(&js_hooks, ", \"allocations\": %llu", (unsigned long long)b->allocs);
        sb_printf(&js_hooks, "}");
        sb_printf(&tsv, "%s\t%s\t%.3f\t%.3f\n", b->key, b->label, med, sp.med);
    }
}

/* The cyg rows against the floor and the plain hook pair (in no patch). */
void report_cyg(void)
{
    bench_t *floor = find_bench("floor"), *hook = find_bench("hook");
    printf("\n== -finstrument-functions hooks, %s library: an empty instrumented function's call, "
           "median of per-round ratios ==\n", opt.variant);
    printf("  %-46s %9s %22s %22s\n", "", "ns/call", "x floor [95% CI]", "x hook pair [95% CI]");
    const char *keys[] = {"cyg_unregistered", "cyg_registered"};
    for (int i = 0; i < 2; i++) {
        bench_t *b = find_bench(keys[i]);
        spread_t xf = ratio_spread(b->ns, floor->ns, opt.reps), xh = ratio_spread(b->ns, hook->ns, opt.reps);
        char c1[48], c2[48];
        printf("  %-46s %9.2f %22s %22s\n", b->label, median(b->ns, opt.reps), fmt_spread(c1, sizeof c1, xf),
               fmt_spread(c2, sizeof c2, xh));
        if (js_cyg.len) sb_printf(&js_cyg, ",\n    ");
        sb_printf(&js_cyg, "{\"key\": \"%s\", \"label\": \"%s\"", b->key, b->label);
        sb_spread(&js_cyg, "ratio_floor", xf);
        sb_spread(&js_cyg, "ratio_hook_pair", xh);
        sb_printf(&js_cyg, "}");
    }
}

void targets_hooks(void)
{
    bench_t *floor = find_bench("floor"), *hook = find_bench("hook"), *steady = find_bench("hook_steady");
    bench_t *memb = find_bench("memb");
    char c1[48], c2[48];
    spread_t r1 = ratio_spread(hook->ns, floor->ns, opt.reps), r2 = ratio_spread(steady->ns, floor->ns, opt.reps);
    target("hook<=1.25xfloor", verdict_and(verdict(r1, 1.25), verdict(r2, 1.25)),
           "hook pair <= 1.25x floor: no patch %s, patched steady %s", fmt_spread(c1, sizeof c1, r1),
           fmt_spread(c2, sizeof c2, r2));
    spread_t m1 = ratio_spread(hook->ns, memb->ns, opt.reps), m2 = ratio_spread(steady->ns, memb->ns, opt.reps);
    target("hook<=urcu_memb", verdict_and(verdict(m1, 1.0), verdict(m2, 1.0)),
           "hook pair <= urcu_memb pair (inlined, each half a noinline call): no patch %s, steady %s",
           fmt_spread(c1, sizeof c1, m1), fmt_spread(c2, sizeof c2, m2));
    if (!strcmp(opt.variant, "shared")) {
        bench_t *plt = find_bench("floor_plt");
        target("hook-vs-plt-floor", V_NA,
               "(not a section 6 target) hook pair against the floor called through a PLT, as the shared library's "
               "hooks are: %s",
               fmt_spread(c1, sizeof c1, ratio_spread(hook->ns, plt->ns, opt.reps)));
    }
    if (hb_alloc_supported) {
        uint64_t allocs = 0, pairs = 0;
        for (int i = 0; i < n_benches; i++)
            if (benches[i].hook) allocs += benches[i].allocs, pairs += benches[i].iters * (uint64_t)opt.reps;
        target("no-alloc", allocs == 0, "zero heap allocations on the hot path: %llu allocations in %.3g timed hook pairs",
               (unsigned long long)allocs, (double)pairs);
    }
    for (int i = 0; i < N_PRESETS; i++) {
        bench_t *b = find_bench(tx_keys[i]);
        spread_t r = ratio_spread(b->ns, steady->ns, opt.reps);
        char id[48];
        snprintf(id, sizeof id, "transition<=2xsteady:%s", presets[i].name);
        target(id, b->inflight == opt.reps ? verdict(r, 2.0) : V_MISSED,
               "hook pair during a %s transition <= 2x steady: %s (in flight %d/%d rounds)", presets[i].name,
               fmt_spread(c1, sizeof c1, r), b->inflight, opt.reps);
    }
}
