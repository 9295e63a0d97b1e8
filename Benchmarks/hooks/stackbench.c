/*
 * stackbench — counting against stack checking on one workload, per model
 * (UPSTREAM / UPSTREAM_STACK, KPATCH / KPATCH_STACK):
 *  - hook cost: ns per lp_func_enter + call + lp_func_exit of a set function,
 *    steady (no transition) and while a transition is pending (a thread
 *    parked inside another set function keeps it so);
 *  - transition latency against thread count: median ms from
 *    lp_patch_enable to lp_transition_wait's return, with N threads calling
 *    the set;
 *  - a sleeper inside the set: whether the transition stalls and names it.
 * Figures are for comparing models within one run, not across machines.
 * Build: the cc_static_cmd line of scripts/lib.sh with
 * -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer.
 */
#define _GNU_SOURCE
#include <livepatch.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull

static lp_func_t *g_f, *h_f;
static atomic_int hold, inside, stop;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static int g_old(void)
{
    atomic_store(&inside, 1);
    while (atomic_load(&hold)) usleep(500);
    return 1;
}
__attribute__((noinline)) static int h_old(int x) { return x + 1; }
__attribute__((noinline)) static int x_new(int x) { return x + 2; }

static int call_h(int x)
{
    int (*impl)(int) = (int (*)(int))lp_func_enter(h_f);
    int v = impl(x);
    lp_func_exit(h_f);
    return v;
}

static void *sleeper(void *arg)
{
    (void)arg;
    lp_thread_register("sleeper");
    int (*impl)(void) = (int (*)(void))lp_func_enter(g_f);
    impl();
    lp_func_exit(g_f);
    lp_thread_unregister();
    return NULL;
}

static void *caller(void *arg)
{
    (void)arg;
    lp_thread_register("caller");
    for (int x = 0; !atomic_load(&stop); x++) {
        call_h(x);
        if ((x & 63) == 0) usleep(50);
    }
    lp_thread_unregister();
    return NULL;
}

/* ns per hooked call of h on this thread. */
static double hook_ns(void)
{
    enum { N = 2000000 };
    volatile int sink = 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++) sink += call_h(i);
    return (double)(now_ns() - t0) / N;
}

static lp_patch_t *patch(const char *name, lp_model_t model)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    lp_patch_add_func(p, g_f, (const void *)x_new);
    lp_patch_add_func(p, h_f, (const void *)x_new);
    return p;
}

static void undo(lp_patch_t *p)
{
    lp_patch_disable(p);
    lp_transition_wait(0);
    lp_patch_destroy(p);
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void one_model(const char *name, lp_model_t model)
{
    char pname[64];
    /* Hook cost while a sleeper inside g keeps the transition pending. */
    atomic_store(&hold, 1);
    atomic_store(&inside, 0);
    pthread_t s;
    pthread_create(&s, NULL, sleeper, NULL);
    while (!atomic_load(&inside)) usleep(100);
    snprintf(pname, sizeof pname, "%s-pending", name);
    lp_patch_t *p = patch(pname, model);
    lp_patch_enable(p);
    int stalled = lp_transition_wait(200 * MS) == -ETIMEDOUT;
    double pending = hook_ns();
    atomic_store(&hold, 0);
    pthread_join(s, NULL);
    lp_transition_wait(0);
    undo(p);
    printf("%-16s hook %6.1f ns pending | sleeper in set: %s |", name, pending, stalled ? "stalls" : "completes");
    /* Transition latency against threads calling the set. */
    static const int counts[] = {1, 16, 64};
    for (unsigned c = 0; c < sizeof counts / sizeof *counts; c++) {
        int n = counts[c];
        pthread_t th[64];
        atomic_store(&stop, 0);
        for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, caller, NULL);
        usleep(20000);
        enum { REPS = 7 };
        uint64_t lat[REPS];
        for (int r = 0; r < REPS; r++) {
            snprintf(pname, sizeof pname, "%s-%d-%d", name, n, r);
            lp_patch_t *q = patch(pname, model);
            uint64_t t0 = now_ns();
            lp_patch_enable(q);
            /* Bounded: a stop_machine may keep missing a clean instant. */
            lat[r] = lp_transition_wait(5000 * MS) == 0 ? now_ns() - t0 : UINT64_MAX;
            if (lat[r] == UINT64_MAX) lp_transition_force();
            undo(q);
        }
        atomic_store(&stop, 1);
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
        qsort(lat, REPS, sizeof *lat, cmp);
        if (lat[REPS / 2] == UINT64_MAX)
            printf(" %d thr  >5000 ms", n);
        else
            printf(" %d thr %7.3f ms", n, (double)lat[REPS / 2] / 1e6);
    }
    printf("\n");
}

int main(void)
{
    lp_thread_register("patcher");
    g_f = lp_func_register("g", (const void *)g_old);
    h_f = lp_func_register("h", (const void *)h_old);
    printf("steady hook %.1f ns\n", hook_ns());
    const struct {
        const char *name;
        lp_model_t model;
    } models[] = {
        {"UPSTREAM", LP_MODEL_UPSTREAM},
        {"UPSTREAM_STACK", LP_MODEL_UPSTREAM_STACK},
        {"KPATCH", LP_MODEL_KPATCH},
        {"KPATCH_STACK", LP_MODEL_KPATCH_STACK},
    };
    for (unsigned i = 0; i < sizeof models / sizeof *models; i++) one_model(models[i].name, models[i].model);
    return 0;
}
