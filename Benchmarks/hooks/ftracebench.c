/*
 * ftracebench — the cost of user-space ftrace, as ratios in one run:
 *
 *   pad, disarmed     a function with a pad (NOPs) / the same without one
 *   trampoline        a patched pad function called directly (its pad calls
 *                     the trampoline: lp_func_enter, the return hooked for
 *                     lp_func_exit) / a direct call of the same body
 *   trampoline/hooks  the same / the hook pair: lp_func_enter, a call
 *                     through the pointer it returns, lp_func_exit
 *                     (issue 15's target: at most 2x)
 *
 * --reps times the four loops of --calls calls each, back to back: ns per
 * call (the best rep) and each ratio within a rep (the median over reps).
 * A benchmark, not a test: it asserts nothing.
 *
 *   LP_EMBEDDED=1 swift build -c release --scratch-path .build-embedded
 *   cc -O2 Benchmarks/hooks/ftracebench.c -I CInclude .build-embedded/release/liblivepatch.a \
 *       $(pkg-config --libs liburcu-memb liburcu-cds) -lelf -lpthread -o .build-bench/ftracebench
 *   .build-bench/ftracebench [--calls N] [--reps N]
 */
#define _GNU_SOURCE
#include <livepatch.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, (size_t)reps, sizeof *v, compare_doubles);
    return reps % 2 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2;
}

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
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--calls") == 0)
            calls = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atol(argv[i + 1]);
    }
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
    /* The four loops back to back, reps times: each ratio is taken within
     * one rep, so that a slow stretch of a loaded machine hits both of its
     * sides, and the median over the reps is printed, next to the best ns. */
    enum { PLAIN, PADDED, HOOKS, PATCHED, KINDS };
    double ns[KINDS][64], pad_ratio[64], hook_ratio[64], direct_ratio[64];
    if (reps > 64)
        reps = 64;
    for (long r = 0; r < reps; r++) {
        ns[PLAIN][r] = time_plain();
        ns[PADDED][r] = time_padded();
        ns[HOOKS][r] = time_hooks();
        ns[PATCHED][r] = time_patched();
        pad_ratio[r] = ns[PADDED][r] / ns[PLAIN][r];
        direct_ratio[r] = ns[PATCHED][r] / ns[PLAIN][r];
        hook_ratio[r] = ns[PATCHED][r] / ns[HOOKS][r];
    }
    printf("ftracebench: %ld reps of %ld calls each; ns per call (best), ratios (median of the reps)\n", reps, calls);
    printf("  direct call, no pad            %7.2f\n", best(ns[PLAIN]));
    printf("  direct call, pad disarmed      %7.2f   %.3fx the call without a pad\n", best(ns[PADDED]), median(pad_ratio));
    printf("  hook pair (lp_func_enter/exit) %7.2f\n", best(ns[HOOKS]));
    printf("  patched, through trampoline    %7.2f   %.2fx the direct call, %.2fx the hook pair (target <= 2x)\n",
           best(ns[PATCHED]), median(direct_ratio), median(hook_ratio));
    return 0;
}
