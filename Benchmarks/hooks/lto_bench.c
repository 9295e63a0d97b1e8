/*
 * The LTO flavour's hook pair (scripts/build-lto): lp_func_enter and
 * lp_func_exit inlined into the loop by clang -flto, against urcu_memb's
 * read lock and unlock inlined the same way (_LGPL_SOURCE: the whole pair in
 * the loop, no call), in alternating rounds within one run. Prints the
 * median of the per-round ratios with their min and max, and a verdict
 * against the target (at most 1.0x the inlined urcu pair). Built and run by
 * scripts/bench; a benchmark, not a test.
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE
#include <livepatch.h>
#include <urcu/urcu-memb.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 15
#define KEEP(v) __asm__ volatile("" ::"r"(v) : "memory")

static void impl(void) {}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void loop_hooks(lp_func_t *f, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = lp_func_enter(f);
        KEEP(p);
        lp_func_exit(f);
    }
}

__attribute__((noinline)) static void loop_memb(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        urcu_memb_read_lock();
        KEEP(i);
        urcu_memb_read_unlock();
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    lp_func_t *f = lp_func_register("lto-bench", (const void *)impl);
    if (!f || lp_thread_register("lto-bench")) return perror("lto_bench"), 2;
    urcu_memb_register_thread();
    double hook[ROUNDS], memb[ROUNDS], ratio[ROUNDS];
    loop_hooks(f, n / 4), loop_memb(n / 4); /* warm-up */
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = now_ns();
        loop_hooks(f, n);
        uint64_t t1 = now_ns();
        loop_memb(n);
        uint64_t t2 = now_ns();
        hook[r] = (double)(t1 - t0) / (double)n;
        memb[r] = (double)(t2 - t1) / (double)n;
        ratio[r] = hook[r] / memb[r];
    }
    urcu_memb_unregister_thread();
    qsort(hook, ROUNDS, sizeof(double), cmp);
    qsort(memb, ROUNDS, sizeof(double), cmp);
    qsort(ratio, ROUNDS, sizeof(double), cmp);
    double lo = ratio[0], med = ratio[ROUNDS / 2], hi = ratio[ROUNDS - 1];
    printf("== LTO: hooks inlined by clang -flto, %d rounds ==\n", ROUNDS);
    printf("  hook pair inlined            %6.2f ns/pair\n", hook[ROUNDS / 2]);
    printf("  urcu_memb read pair inlined  %6.2f ns/pair\n", memb[ROUNDS / 2]);
    printf("  ratio                        %.2fx [min %.2f, max %.2f]\n", med, lo, hi);
    printf("%s [lto] hook<=urcu_memb_inlined inlined hook pair <= 1.0x inlined urcu_memb pair: %.2fx [%.2f-%.2f]\n",
           hi <= 1.0 ? "MET   " : lo > 1.0 ? "MISSED" : "UNSURE", med, lo, hi);
    return 0;
}
