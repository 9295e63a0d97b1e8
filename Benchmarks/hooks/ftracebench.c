/*
 * ftracebench — the cost of user-space ftrace, as ratios in one run:
 *
 *   pad, disarmed     a function with a pad (NOPs) / the same without one
 *   trampoline        a patched pad function called directly (its pad calls
 *                     the trampoline: the entry hook, the return hooked for
 *                     the exit hook) / a direct call of the same body
 *   trampoline/hooks  the same / the hook pair: lp_func_enter, a call
 *                     through the pointer it returns, lp_func_exit
 *                     (issue 15's target: at most 2x)
 *
 * --reps rounds of the four loops of --calls calls each, back to back: each
 * ratio is taken within a round, so that a slow stretch of a loaded machine
 * hits both of its sides, and printed as the median over rounds with its
 * 95% interval (hb_util.c's ratio_spread), beside the best ns per call.
 * The targets are printed as MET/MISSED/UNSURE lines, as hookbench's;
 * --json FILE writes the figures (`livepatch report` runs it). A benchmark,
 * not a test: it asserts nothing.
 *
 *   scripts/bench --build-only   (builds .build-bench/ftracebench)
 *   .build-bench/ftracebench [--calls N] [--reps N] [--json FILE]
 */
#define _GNU_SOURCE
#include "hb_driver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* hb_util.c's target() reads it. */
hb_options_t opt = {.variant = "ftracebench"};

/* The same body with and without a pad, and a replacement; noinline and no
 * IPA, so each call is a real call of that symbol. */
#ifdef __clang__
#define NOIPA __attribute__((noinline, weak))
#else
#define NOIPA __attribute__((noipa))
#endif
#define PAD __attribute__((patchable_function_entry(5, 0)))

NOIPA long plain(long x) { return x * 3 + 1; }
PAD NOIPA long padded(long x) { return x * 3 + 1; }
PAD NOIPA long patched(long x) { return x * 3 + 1; }
NOIPA long replacement(long x) { return x * 3 + 1; }
NOIPA long hooked_impl(long x) { return x * 3 + 1; }

static long calls = 5000000, reps = 21;
static lp_func_t *hook_f;

/* One timed loop: ns per call. */
#define LOOP(name, call)                                   \
    static double name(void)                               \
    {                                                      \
        volatile long sink = 0;                            \
        uint64_t t0 = now_ns();                            \
        for (long i = 0; i < calls; i++)                   \
            sink = call;                                   \
        (void)sink;                                        \
        return (double)(now_ns() - t0) / calls;            \
    }

LOOP(time_plain, plain(i))
LOOP(time_padded, padded(i))
LOOP(time_patched, patched(i))

static double best(const double *v)
{
    double b = v[0];
    for (long r = 1; r < reps; r++)
        b = v[r] < b ? v[r] : b;
    return b;
}

static long hook_pair(long x)
{
    long (*impl)(long) = (long (*)(long))lp_func_enter(hook_f);
    long r = impl(x);
    lp_func_exit(hook_f);
    return r;
}
LOOP(time_hooks, hook_pair(i))

int main(int argc, char **argv)
{
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atol(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atol(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else {
            fprintf(stderr, "usage: ftracebench [--calls N] [--reps N] [--json FILE]\n");
            return 2;
        }
    }
    if (calls < 1 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "ftracebench: --calls must be positive and --reps 1 to %d\n", MAX_REPS);
        return 2;
    }
    read_machine();
    lp_thread_register("bench");
    if (lp_ftrace_discover(0) < 2) {
        fprintf(stderr, "ftracebench: discovery found no pads\n");
        return 1;
    }
    hook_f = lp_func_register("hooked", (const void *)hooked_impl);
    lp_patch_t *p = lp_patch_create("bench", LP_MODEL_UPSTREAM, 0);
    if (lp_patch_add_func(p, lp_func_lookup("patched"), (const void *)replacement) != 0 ||
        lp_patch_add_func(p, hook_f, (const void *)replacement) != 0 || lp_patch_enable(p) < 0 ||
        lp_transition_wait(10000000000ull) != 0) {
        fprintf(stderr, "ftracebench: patching failed\n");
        return 1;
    }
    enum { PLAIN, PADDED, HOOKS, PATCHED, KINDS };
    double ns[KINDS][MAX_REPS];
    for (long r = 0; r < reps; r++) {
        ns[PLAIN][r] = time_plain();
        ns[PADDED][r] = time_padded();
        ns[HOOKS][r] = time_hooks();
        ns[PATCHED][r] = time_patched();
    }
    int n = (int)reps;
    spread_t pad = ratio_spread(ns[PADDED], ns[PLAIN], n);
    spread_t direct = ratio_spread(ns[PATCHED], ns[PLAIN], n);
    spread_t trampoline = ratio_spread(ns[PATCHED], ns[HOOKS], n);
    char a[64], b[64];
    printf("ftracebench: %ld rounds of %ld calls each; ns per call (best round), ratios (median of per-round ratios [95%% CI])\n",
           reps, calls);
    printf("  direct call, no pad            %7.2f\n", best(ns[PLAIN]));
    printf("  direct call, pad disarmed      %7.2f   %s the call without a pad\n", best(ns[PADDED]),
           fmt_spread(a, sizeof a, pad));
    printf("  hook pair (lp_func_enter/exit) %7.2f\n", best(ns[HOOKS]));
    printf("  patched, through trampoline    %7.2f   %s the direct call, %s the hook pair\n", best(ns[PATCHED]),
           fmt_spread(a, sizeof a, direct), fmt_spread(b, sizeof b, trampoline));
    target("ftrace.pad", verdict(pad, 1.01), "a disarmed pad: %s a call without one (target <= 1.01x)",
           fmt_spread(a, sizeof a, pad));
    target("ftrace.trampoline", verdict(trampoline, 2.0),
           "a call through the trampoline: %s the hook pair (target <= 2x)", fmt_spread(a, sizeof a, trampoline));
    if (json) {
        sbuf_t js = {0};
        sb_printf(&js, "{\"cpu_model\": \"%s\", \"nproc\": %ld, \"load_at_start\": ", cpu_model,
                  sysconf(_SC_NPROCESSORS_ONLN));
        sb_num(&js, load_at_start);
        sb_printf(&js, ", \"reps\": %ld, \"calls\": %ld, \"ns_best\": {\"plain\": ", reps, calls);
        sb_num(&js, best(ns[PLAIN]));
        sb_printf(&js, ", \"padded\": ");
        sb_num(&js, best(ns[PADDED]));
        sb_printf(&js, ", \"hooks\": ");
        sb_num(&js, best(ns[HOOKS]));
        sb_printf(&js, ", \"patched\": ");
        sb_num(&js, best(ns[PATCHED]));
        sb_printf(&js, "}");
        sb_spread(&js, "pad_x_plain", pad);
        sb_spread(&js, "trampoline_x_direct", direct);
        sb_spread(&js, "trampoline_x_hooks", trampoline);
        sb_printf(&js, ", \"targets\": [%s]}\n", js_targets.p ? js_targets.p : "");
        FILE *f = fopen(json, "w");
        if (!f || fwrite(js.p, 1, js.len, f) != js.len || fclose(f) != 0) {
            fprintf(stderr, "ftracebench: cannot write %s\n", json);
            return 2;
        }
        free(js.p);
    }
    return 0;
}
