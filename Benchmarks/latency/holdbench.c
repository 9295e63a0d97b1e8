/*
 * holdbench.c — what a pending hold-based transition costs a program whose
 * lock functions are in the patched set.
 *
 * Worker threads take and release one mutex through two hooked functions,
 * hb_lock and hb_unlock, both in the patch. A thread waiting inside hb_lock
 * waits for the owner, which must call hb_unlock to let it go: a hold that
 * keeps new entries out keeps the owner out too, so the count it waits for
 * can stall. One more thread idles inside a third set function, hb_idle,
 * as a pool thread waiting for work would, so the transition stays pending
 * and holds keep being tried. Each round measures the workers' lock/unlock
 * pairs per second with no transition, then with one pending
 * (lp_transition_wait driving holds), in alternating order. Prints, per
 * model, the median over rounds of pending/none with its spread.
 *
 *   cc -O2 Benchmarks/latency/holdbench.c -I CInclude .build-embedded/release/liblivepatch.a \
 *      $(pkg-config --libs liburcu-memb liburcu-cds) -lpthread -o holdbench
 *   ./holdbench [--threads N] [--rounds N] [--round-ms MS] [--hold-us US --retry-us US]
 *
 * --hold-us and --retry-us set lp_set_switch_policy (default: its defaults).
 *
 * A benchmark, not a test: nothing here asserts a figure.
 */
#define _GNU_SOURCE
#include <livepatch.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define MAX_THREADS 64
#define FN(fn) ((const void *)(uintptr_t)(fn))

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t shared_work;

/* Old and new implementations do the same; only the transition matters. */
static void lock_impl(void) { pthread_mutex_lock(&mu); }
static void unlock_impl(void) { pthread_mutex_unlock(&mu); }
static void lock_impl_new(void) { pthread_mutex_lock(&mu); }
static void unlock_impl_new(void) { pthread_mutex_unlock(&mu); }

static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;
static int idle_inside, idle_stop;

static void idle_impl(void)
{
    pthread_mutex_lock(&idle_mu);
    idle_inside = 1;
    pthread_cond_broadcast(&idle_cv);
    while (!idle_stop) pthread_cond_wait(&idle_cv, &idle_mu);
    pthread_mutex_unlock(&idle_mu);
}

static lp_func_t *f_lock, *f_unlock, *f_idle;
static int stop;

/* One cache line per worker: its pairs so far. */
static struct {
    uint64_t pairs;
    char pad[56];
} counts[MAX_THREADS] __attribute__((aligned(64)));

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void spin(int n)
{
    for (int i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
}

static void *worker_main(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    lp_thread_register("holdbench worker");
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        LP_CALL(f_lock, void (*)(void));
        shared_work++;
        spin(200);
        LP_CALL(f_unlock, void (*)(void));
        spin(200);
        __atomic_store_n(&counts[id].pairs, counts[id].pairs + 1, __ATOMIC_RELAXED);
    }
    lp_thread_unregister();
    return NULL;
}

static void *idler_main(void *arg)
{
    (void)arg;
    lp_thread_register("holdbench idler");
    LP_CALL(f_idle, void (*)(void));
    lp_thread_unregister();
    return NULL;
}

static int nthreads = 4, rounds = 7, round_ms = 500, hold_us, retry_us;

static uint64_t total_pairs(void)
{
    uint64_t sum = 0;
    for (int i = 0; i < nthreads; i++) sum += __atomic_load_n(&counts[i].pairs, __ATOMIC_RELAXED);
    return sum;
}

/* Pairs per second over round_ms with nothing in flight. */
static double measure_none(void)
{
    uint64_t p0 = total_pairs(), t0 = now_ns();
    usleep((useconds_t)round_ms * 1000);
    return (double)(total_pairs() - p0) * 1e9 / (double)(now_ns() - t0);
}

/* Pairs per second over round_ms with p's enable pending; *completed
 * counts a transition that completed all the same. Ends with the patch
 * disabled and nothing in flight (forced: both implementations do the same). */
static double measure_pending(lp_patch_t *p, int *completed)
{
    if (lp_patch_enable(p) != 0) return -1;
    uint64_t p0 = total_pairs(), t0 = now_ns();
    int rc = lp_transition_wait((uint64_t)round_ms * MS);
    double rate = (double)(total_pairs() - p0) * 1e9 / (double)(now_ns() - t0);
    if (rc == 0) ++*completed;
    else lp_transition_force();
    if (lp_patch_disable(p) != 0 || lp_transition_force() != 0) return -1;
    return rate;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run_model(const char *name, lp_model_t model)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    if (!p || lp_patch_add_func(p, f_lock, FN(lock_impl_new)) != 0 ||
        lp_patch_add_func(p, f_unlock, FN(unlock_impl_new)) != 0 || lp_patch_add_func(p, f_idle, FN(idle_impl)) != 0) {
        fprintf(stderr, "holdbench: cannot build patch %s\n", name);
        exit(1);
    }
    double ratio[64], none_rate = 0, pending_rate = 0;
    int completed = 0;
    lp_transition_status_t before, s;
    lp_transition_status(&before);
    for (int r = 0; r < rounds; r++) {
        double none, pending;
        if (r % 2 == 0) {
            none = measure_none();
            pending = measure_pending(p, &completed);
        } else {
            pending = measure_pending(p, &completed);
            none = measure_none();
        }
        if (pending < 0) {
            fprintf(stderr, "holdbench: %s: enable/disable failed\n", name);
            exit(1);
        }
        ratio[r] = pending / none;
        none_rate += none / rounds;
        pending_rate += pending / rounds;
    }
    lp_transition_status(&s);
    qsort(ratio, (size_t)rounds, sizeof ratio[0], cmp_double);
    printf("%-10s pending/none %.3f (min %.3f, max %.3f, %d rounds); pairs/s none %.0f, pending %.0f; "
           "%d completed, holds %llu (timed out or stalled %llu)\n",
           name, ratio[rounds / 2], ratio[0], ratio[rounds - 1], rounds, none_rate, pending_rate, completed,
           (unsigned long long)(s.hold_attempts - before.hold_attempts),
           (unsigned long long)(s.hold_timeouts - before.hold_timeouts));
    lp_patch_destroy(p);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) nthreads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--round-ms")) round_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hold-us")) hold_us = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--retry-us")) retry_us = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: holdbench [--threads N] [--rounds N] [--round-ms MS] [--hold-us US --retry-us US]\n");
            return 2;
        }
    }
    if (nthreads < 1 || nthreads > MAX_THREADS || rounds < 1 || rounds > 64 || round_ms < 1) {
        fprintf(stderr, "holdbench: --threads 1..%d, --rounds 1..64, --round-ms >= 1\n", MAX_THREADS);
        return 2;
    }
    if ((hold_us || retry_us) && lp_set_switch_policy((uint64_t)hold_us * 1000, (uint64_t)retry_us * 1000) != 0) {
        fprintf(stderr, "holdbench: lp_set_switch_policy refused --hold-us %d --retry-us %d\n", hold_us, retry_us);
        return 2;
    }
    f_lock = lp_func_register("hb_lock", FN(lock_impl));
    f_unlock = lp_func_register("hb_unlock", FN(unlock_impl));
    f_idle = lp_func_register("hb_idle", FN(idle_impl));
    pthread_t th[MAX_THREADS], idler;
    pthread_create(&idler, NULL, idler_main, NULL);
    pthread_mutex_lock(&idle_mu);
    while (!idle_inside) pthread_cond_wait(&idle_cv, &idle_mu);
    pthread_mutex_unlock(&idle_mu);
    for (int i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, worker_main, (void *)(uintptr_t)i);
    printf("holdbench: %d workers, lock/unlock through hooked set functions, %d rounds of 2 x %d ms\n",
           nthreads, rounds, round_ms);
    run_model("KPATCH", LP_MODEL_KPATCH);
    run_model("HIRAMATSU", LP_MODEL_HIRAMATSU);
    run_model("SET x FUNC", LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION));
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    pthread_mutex_lock(&idle_mu);
    idle_stop = 1;
    pthread_cond_broadcast(&idle_cv);
    pthread_mutex_unlock(&idle_mu);
    pthread_join(idler, NULL);
    return 0;
}
