/* hookbench section "memory": RSS per registered thread, per counter row,
 * per registered function. */
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

#include "hb.h"

/* ---- section: memory ---------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int phase, done;
    lp_func_t *f;
    uint64_t lazy_allocs; /* heap allocations made by the first hooks that registered lazily */
} mem = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, 0};

enum { MEM_REGISTER_NAMED = 1, MEM_REGISTER_NULL = 2, MEM_CALL = 3, MEM_QUIT = 4 };

/* A parked thread of the memory section: arg 1 registers under a name of its
 * own, arg 0 lazily, through its first lp_func_enter (the engine's default
 * name "tid-N"). */
static void *mem_main(void *arg)
{
    int named = arg != NULL;
    /* Touch the stack the registration will use before the baseline, so that
     * its pages are not counted as the engine's. */
    volatile char stack_touch[16384];
    memset((char *)stack_touch, 1, sizeof stack_touch);
    int seen = 0, registered = 0;
    pthread_mutex_lock(&mem.mu);
    mem.done++;
    pthread_cond_broadcast(&mem.cv);
    for (;;) {
        while (mem.phase == seen) pthread_cond_wait(&mem.cv, &mem.mu);
        seen = mem.phase;
        pthread_mutex_unlock(&mem.mu);
        if (seen == MEM_REGISTER_NAMED && named) {
            char name[LP_THREAD_NAME_MAX];
            snprintf(name, sizeof name, "hb-mem-%p", (void *)&name);
            registered = lp_thread_register(name) == 0;
        } else if (seen == MEM_REGISTER_NULL && !named) {
            uint64_t a0 = hb_alloc_count;
            hb_alloc_counting = 1;
            ((void (*)(void))(uintptr_t)lp_func_enter(f_plain))(); /* registers */
            lp_func_exit(f_plain);
            hb_alloc_counting = 0;
            __atomic_fetch_add(&mem.lazy_allocs, hb_alloc_count - a0, __ATOMIC_RELAXED);
            registered = 1;
        } else if (seen == MEM_CALL && registered) {
            ((void (*)(void))(uintptr_t)lp_func_enter(mem.f))();
            lp_func_exit(mem.f);
        }
        pthread_mutex_lock(&mem.mu);
        if (seen == MEM_QUIT) break;
        mem.done++;
        pthread_cond_broadcast(&mem.cv);
    }
    pthread_mutex_unlock(&mem.mu);
    if (registered) lp_thread_unregister();
    return NULL;
}

static void mem_phase(int phase, int n)
{
    pthread_mutex_lock(&mem.mu);
    mem.done = 0;
    mem.phase = phase;
    pthread_cond_broadcast(&mem.cv);
    while (phase != MEM_QUIT && mem.done < n) pthread_cond_wait(&mem.cv, &mem.mu);
    pthread_mutex_unlock(&mem.mu);
}

static long settled_rss(void)
{
    sleep_ns(20000000);
    return rss_bytes();
}

void section_memory(void)
{
    /* 1. Functions, first, while the heap has no freed memory to reuse:
     * register opt.mem_funcs of them. */
    int F = opt.mem_funcs;
    long f0 = settled_rss();
    for (int i = 0; i < F; i++) {
        char name[32];
        snprintf(name, sizeof name, "hb_memfn_%05d", i);
        reg_func(name);
    }
    long f1 = settled_rss();
    double per_func = (double)(f1 - f0) / F;

    /* 2. Threads: opt.mem_threads registering under a name, as many with
     * NULL, all created and parked before the baseline; each half registers
     * in its own phase, so each touches thread slots never used before. */
    int N = opt.mem_threads;
    pthread_t *th = calloc((size_t)(2 * N), sizeof *th);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    mem.done = 0;
    int started = 0;
    for (int i = 0; i < 2 * N; i++) {
        if (pthread_create(&th[i], &attr, mem_main, i < N ? (void *)1 : NULL) != 0) break;
        started++;
    }
    pthread_attr_destroy(&attr);
    if (started < 2 * N) die("pthread_create(memory)", -EAGAIN);
    pthread_mutex_lock(&mem.mu);
    while (mem.done < started) pthread_cond_wait(&mem.cv, &mem.mu);
    pthread_mutex_unlock(&mem.mu);

    long r0 = settled_rss();
    mem_phase(MEM_REGISTER_NAMED, started);
    long r1 = settled_rss();
    mem_phase(MEM_REGISTER_NULL, started);
    long r2 = settled_rss();
    double per_named = (double)(r1 - r0) / N, per_null = (double)(r2 - r1) / N;

    /* 3. Per-transition counters: a PATCHED_SET x FUNCTION transition counts
     * per thread and function; each parked thread calls the function once
     * while it is in flight, which touches its counter row. */
    mem.f = reg_func("hb_mem_counted");
    lp_patch_t *pc = make_patch("hb-mem-counted", lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION), mem.f);
    int rc = lp_patch_enable(pc);
    if (rc) die("lp_patch_enable(memory)", rc);
    long r3 = settled_rss();
    mem_phase(MEM_CALL, started);
    long r4 = settled_rss();
    finish_transition("memory");
    if ((rc = lp_patch_disable(pc))) die("lp_patch_disable(memory)", rc);
    finish_transition("memory");
    double per_row = (double)(r4 - r3) / started;

    mem_phase(MEM_QUIT, started);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);

    printf("\n== memory: RSS deltas, page-granular (documented: 512 B per thread record plus 16 B per function it counts, 128 B per function "
           "record + its name) ==\n");
    printf("  %-58s %8.0f B/thread   (%ld KiB for %d)\n", "registering parked threads, with a name", per_named,
           (r1 - r0) / 1024, N);
    printf("  %-58s %8.0f B/thread   (%ld KiB for %d)\n", "registering parked threads lazily, by a first hook",
           per_null, (r2 - r1) / 1024, N);
    if (hb_alloc_supported)
        printf("  %-58s %8.1f per thread\n", "  heap allocations made by that first hook",
               (double)mem.lazy_allocs / N);
    printf("  %-58s %8.0f B/thread   (%ld KiB for %d)\n", "SWITCH_FUNCTION counter row touched (1-function patch)",
           per_row, (r4 - r3) / 1024, started);
    printf("  %-58s %8.0f B/function (%ld KiB for %d)\n", "registering functions", per_func, (f1 - f0) / 1024, F);
    sb_printf(&js_memory,
              "{\"threads\": %d, \"bytes_per_thread_named\": %.1f, \"rss_delta_named\": %ld, "
              "\"bytes_per_thread_lazy\": %.1f, \"rss_delta_lazy\": %ld, \"allocations_per_lazy_registration\": %.2f, "
              "\"counter_row_bytes_per_thread\": %.1f, \"rss_delta_counter_rows\": %ld, "
              "\"functions\": %d, \"bytes_per_function\": %.1f, \"rss_delta_functions\": %ld, "
              "\"documented_thread_record_bytes\": 256, \"documented_function_record_bytes\": 128}",
              N, per_named, r1 - r0, per_null, r2 - r1, hb_alloc_supported ? (double)mem.lazy_allocs / N : -1.0,
              per_row, r4 - r3, F, per_func, f1 - f0);
}
