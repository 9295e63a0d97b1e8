/* hookbench section "hooks": the single-thread pairs in interleaved rounds,
 * their report and targets; and --count, one row's loop for callgrind. */
#include "hb_pairs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <alloca.h>

#include "hb.h"

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
        snprintf(id, sizeof id, "transition<=2xsteady:%.26s", presets[i].name);
        target(id, b->inflight == opt.reps ? verdict(r, 2.0) : V_MISSED,
               "hook pair during a %s transition <= 2x steady: %s (in flight %d/%d rounds)", presets[i].name,
               fmt_spread(c1, sizeof c1, r), b->inflight, opt.reps);
    }
}
