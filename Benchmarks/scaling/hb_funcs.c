/* hookbench section "funcs": the hook pair cycling over 1, 4, 16, 256 and
 * 4096 registered functions, on 1 and on 2 threads at once. A program with
 * many hot functions must pay what one hot function pays: each thread counts
 * in its own rows, indexed by function (lps_records.h, lps_count_row_t), so no
 * count moves between threads' cache lines, however many functions are hot.
 * Each figure is a ratio to the 1-function loop on as many threads, taken
 * within a round. */
#include "hb_driver.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define FN_MAX 4096
static const int fn_counts[] = {1, 4, 16, 256, 4096};
#define FN_N (int)(sizeof fn_counts / sizeof fn_counts[0])
#define FN_THREADS 2

static lp_func_t *fns[FN_MAX];

/* The same loop for every count: the mask picks the cycle's length, so the
 * 1-function figure pays the same indexing as the others. */
HB_NOINLINE static void loop_cycle(uint64_t n, uint64_t mask)
{
    for (uint64_t i = 0; i < n; i++) {
        lp_func_t *f = fns[i & mask];
        const void *p = lp_func_enter(f);
        KEEP(p);
        lp_func_exit(f);
    }
}

typedef struct {
    pthread_t th;
    int idx;
    uint64_t ns;
} fn_worker_t;

static struct {
    pthread_barrier_t start, end;
    int threads, quit;
    uint64_t mask, iters;
} fn_run;

static void *fn_main(void *arg)
{
    fn_worker_t *w = arg;
    char name[24];
    snprintf(name, sizeof name, "hb-funcs-%d", w->idx);
    int rc = lp_thread_register(name);
    if (rc) die("lp_thread_register(funcs)", rc);
    for (;;) {
        pthread_barrier_wait(&fn_run.start);
        if (fn_run.quit) break;
        if (w->idx < fn_run.threads) {
            uint64_t t0 = now_ns();
            loop_cycle(fn_run.iters, fn_run.mask);
            w->ns = now_ns() - t0;
        }
        pthread_barrier_wait(&fn_run.end);
    }
    lp_thread_unregister();
    return NULL;
}

static double fn_ns[FN_THREADS][FN_N][MAX_REPS]; /* per-thread ns per pair */

void section_funcs(void)
{
    for (int i = 0; i < FN_MAX; i++) {
        char name[32];
        snprintf(name, sizeof name, "hb-funcs-%d", i);
        fns[i] = reg_func(name);
    }
    fn_worker_t w[FN_THREADS];
    pthread_barrier_init(&fn_run.start, NULL, FN_THREADS + 1);
    pthread_barrier_init(&fn_run.end, NULL, FN_THREADS + 1);
    for (int i = 0; i < FN_THREADS; i++) w[i].idx = i, pthread_create(&w[i].th, NULL, fn_main, &w[i]);
    /* About rep_ms per loop at ~10 ns a pair. */
    fn_run.iters = (uint64_t)(opt.rep_ms * 1e5);
    for (int r = -1; r < opt.reps; r++) { /* round -1: warm-up, not kept */
        for (int t = 1; t <= FN_THREADS; t++)
            for (int k = 0; k < FN_N; k++) {
                fn_run.threads = t;
                fn_run.mask = (uint64_t)fn_counts[k] - 1;
                pthread_barrier_wait(&fn_run.start);
                pthread_barrier_wait(&fn_run.end);
                if (r < 0) continue;
                double sum = 0;
                for (int i = 0; i < t; i++) sum += (double)w[i].ns / (double)fn_run.iters;
                fn_ns[t - 1][k][r] = sum / t;
            }
    }
    fn_run.quit = 1;
    pthread_barrier_wait(&fn_run.start);
    for (int i = 0; i < FN_THREADS; i++) pthread_join(w[i].th, NULL);
    pthread_barrier_destroy(&fn_run.start);
    pthread_barrier_destroy(&fn_run.end);

    printf("\n== many hot functions: hook pair cycling over N functions, per-thread ns per pair and "
           "x the 1-function pair on as many threads [95%% CI]; %d rounds ==\n", opt.reps);
    printf("  %-10s", "functions");
    for (int k = 0; k < FN_N; k++) printf(" %26d", fn_counts[k]);
    printf("\n");
    for (int t = 0; t < FN_THREADS; t++) {
        printf("  %d thread%s", t + 1, t ? "s " : "  ");
        for (int k = 0; k < FN_N; k++) {
            char cell[48];
            spread_t s = ratio_spread(fn_ns[t][k], fn_ns[t][0], opt.reps);
            printf(" %6.2f %19s", median(fn_ns[t][k], opt.reps), fmt_spread(cell, sizeof cell, s));
            if (js_funcs.len) sb_printf(&js_funcs, ",\n    ");
            sb_printf(&js_funcs, "{\"functions\": %d, \"threads\": %d, \"ns_per_pair_per_thread\": ", fn_counts[k], t + 1);
            sb_num(&js_funcs, median(fn_ns[t][k], opt.reps));
            sb_spread(&js_funcs, "ratio_one_function", s);
            sb_printf(&js_funcs, ", \"samples_ns\": ");
            sb_array(&js_funcs, fn_ns[t][k], opt.reps);
            sb_printf(&js_funcs, "}");
        }
        printf("\n");
    }
}

void targets_funcs(void)
{
    for (int t = 0; t < FN_THREADS; t++) {
        int v = V_MET;
        char worst[48] = "";
        double worst_med = 0;
        for (int k = 1; k < FN_N; k++) {
            spread_t s = ratio_spread(fn_ns[t][k], fn_ns[t][0], opt.reps);
            v = verdict_and(v, verdict(s, 1.1));
            if (s.med > worst_med) worst_med = s.med, fmt_spread(worst, sizeof worst, s);
        }
        char id[32];
        snprintf(id, sizeof id, "many-funcs<=1.1x@%d", t + 1);
        target(id, v, "hook pair over 4..4096 hot functions <= 1.1x one function, %d thread%s: worst %s", t + 1,
               t ? "s" : "", worst);
    }
}
