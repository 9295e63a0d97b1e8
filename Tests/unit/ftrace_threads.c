/*
 * ftrace_threads.c — pad-patched functions under many threads.
 *
 * 1. Arming under load: eight threads call a pad function in a loop while
 *    the main thread arms and disarms its pad 2000 times (a patch naming it
 *    is created and destroyed). No call may crash or return a wrong value,
 *    and at quiescence the counts balance.
 * 2. Consistency: outer() calls inner(), both pad functions called
 *    directly, both replaced by one patch. Under a PATCHED_SET model an
 *    activation of outer never mixes universes (new outer sees new inner);
 *    under every model each call returns a value of one of the two
 *    versions, and after the transition only the new ones.
 * 3. A long-lived pad function: a thread sits inside sleeper(); a patch of
 *    it stalls under the PATCHED_SET models, and lp_status_snapshot names
 *    the thread and sleeper.
 *
 * Timeouts are "did not hang" bounds; no check depends on timing.
 */
// harness-cflags: -fpatchable-function-entry=5
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "noipa.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000ull
#define HANG_BOUND (20000 * MS)

#define THREADS 8

NOIPA int work(int x) { return 3 * x + 1; }

NOIPA int inner(void) { return 1; }
NOIPA int inner_new(void) { return 2; }
/* Old outer expects old inner; new outer expects new inner. 0: mixed. */
NOIPA int outer(void) { return inner() == 1 ? 10 : 0; }
NOIPA int outer_new(void) { return inner() == 2 ? 20 : 0; }

static atomic_int stay, inside;
NOIPA int sleeper(void)
{
    atomic_store(&inside, 1);
    while (atomic_load(&stay))
        usleep(200);
    return 5;
}
NOIPA int sleeper_new(void) { return 6; }

static atomic_int stop_flag, wrong, mixed, calls_done;
static atomic_int seen_new;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; !atomic_load(&stop_flag); i++) {
        if (work(i) != 3 * i + 1)
            atomic_fetch_add(&wrong, 1);
        atomic_fetch_add(&calls_done, 1);
    }
    return NULL;
}

static void *consistency(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_flag)) {
        int v = outer();
        if (v == 0)
            atomic_fetch_add(&mixed, 1);
        else if (v == 20)
            atomic_store(&seen_new, 1);
        else if (v != 10)
            atomic_fetch_add(&wrong, 1);
        atomic_fetch_add(&calls_done, 1);
    }
    return NULL;
}

static void start(pthread_t *th, void *(*fn)(void *))
{
    atomic_store(&stop_flag, 0);
    atomic_store(&calls_done, 0);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, fn, NULL);
    while (atomic_load(&calls_done) < 1000)
        usleep(100);
}

static void finish(pthread_t *th)
{
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
}

static int balanced(lp_func_t *f)
{
    uint64_t e = 0, x = 0;
    lp_func_counts(f, &e, &x);
    return e == x && e > 0;
}

static void arming_under_load(void)
{
    lp_func_t *w = lp_func_lookup("work");
    pthread_t th[THREADS];
    start(th, hammer);
    int failures = 0;
    for (int i = 0; i < 2000; i++) {
        lp_patch_t *p = lp_patch_create("arm", LP_MODEL_IMMEDIATE, 0);
        failures += lp_patch_extend_set(p, w) != 0;
        failures += lp_patch_destroy(p) != 0;
    }
    /* The last arming is still being run through: calls go on meanwhile. */
    int done = atomic_load(&calls_done);
    while (atomic_load(&calls_done) < done + 1000)
        usleep(100);
    finish(th);
    check(failures == 0, "2000 armings and disarmings of work's pad while 8 threads call it");
    check(atomic_load(&wrong) == 0, "every call returned its exact result");
    check(balanced(w), "work's counts balance at quiescence");
    printf("      %d calls in all\n", atomic_load(&calls_done));
}

static void consistency_under(const char *name, lp_model_t model, int set_model)
{
    char what[160];
    lp_func_t *o = lp_func_lookup("outer"), *in = lp_func_lookup("inner");
    atomic_store(&mixed, 0);
    atomic_store(&wrong, 0);
    atomic_store(&seen_new, 0);
    lp_patch_t *p = lp_patch_create(name, model, 0);
    lp_patch_add_func(p, o, (const void *)outer_new);
    lp_patch_add_func(p, in, (const void *)inner_new);
    pthread_t th[THREADS];
    start(th, consistency);
    for (int round = 0; round < 20; round++) {
        int rc = lp_patch_enable(p);
        rc = rc < 0 ? rc : lp_transition_wait(HANG_BOUND);
        int done = atomic_load(&calls_done);
        while (atomic_load(&calls_done) < done + 200)
            usleep(50);
        int after = atomic_load(&seen_new);
        rc = rc < 0 ? rc : lp_patch_disable(p);
        rc = rc < 0 ? rc : lp_transition_wait(HANG_BOUND);
        if (rc != 0 || !after) {
            snprintf(what, sizeof what, "%s: round %d (rc %d, new seen %d)", name, round, rc, after);
            check(0, what);
            break;
        }
    }
    finish(th);
    snprintf(what, sizeof what, "%s: 20 enable/disable rounds under 8 threads calling outer->inner", name);
    check(atomic_load(&wrong) == 0, what);
    if (set_model) {
        snprintf(what, sizeof what, "%s: no activation mixed old and new (%d did)", name, atomic_load(&mixed));
        check(atomic_load(&mixed) == 0, what);
    } else {
        printf("      %s allows mixing: %d activations mixed\n", name, atomic_load(&mixed));
    }
    snprintf(what, sizeof what, "%s: outer and inner balance", name);
    check(balanced(o) && balanced(in), what);
    lp_patch_destroy(p);
}

static void *sit(void *arg)
{
    (void)arg;
    lp_thread_register("sitter");
    sleeper();
    return NULL;
}

static void long_lived(const char *name, lp_model_t model)
{
    char what[160];
    lp_func_t *s = lp_func_lookup("sleeper");
    lp_patch_t *p = lp_patch_create(name, model, 0);
    lp_patch_add_func(p, s, (const void *)sleeper_new); /* armed: the sitter's entry is counted */
    atomic_store(&stay, 1);
    atomic_store(&inside, 0);
    pthread_t th;
    pthread_create(&th, NULL, sit, NULL);
    while (!atomic_load(&inside))
        usleep(100);
    int rc = lp_patch_enable(p);
    snprintf(what, sizeof what, "%s: enable while a thread sits in sleeper", name);
    check_rc(what, rc < 0 ? rc : 0, 0);
    snprintf(what, sizeof what, "%s: it stalls", name);
    check_rc(what, lp_transition_wait(20 * MS), -ETIMEDOUT);
    snprintf(what, sizeof what, "%s: the stall report names the sitter, inside sleeper", name);
    check(snapshot_blocked_inside("sitter", s), what);
    char json[8192];
    lp_status_json(json, sizeof json);
    snprintf(what, sizeof what, "%s: the JSON names sleeper", name);
    check(strstr(json, "\"inside\": [\"sleeper\"]") != NULL, what);
    atomic_store(&stay, 0);
    pthread_join(th, NULL);
    snprintf(what, sizeof what, "%s: completes once it has left", name);
    check_rc(what, lp_transition_wait(HANG_BOUND), 0);
    snprintf(what, sizeof what, "%s: sleeper is replaced", name);
    check(sleeper() == 6, what);
    rc = lp_patch_disable(p);
    check_rc("disable", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    lp_patch_destroy(p);
}

int main(void)
{
    lp_thread_register("main");
    check(lp_ftrace_discover(0) > 0, "discover");
    arming_under_load();
    consistency_under("IMMEDIATE", LP_MODEL_IMMEDIATE, 0);
    consistency_under("UPSTREAM", LP_MODEL_UPSTREAM, 1);
    consistency_under("KPATCH", LP_MODEL_KPATCH, 1);
    consistency_under("HIRAMATSU", LP_MODEL_HIRAMATSU, 1);
    consistency_under("KGRAFT", LP_MODEL_KGRAFT, 0);
    long_lived("UPSTREAM", LP_MODEL_UPSTREAM);
    long_lived("KPATCH", LP_MODEL_KPATCH);
    long_lived("HIRAMATSU", LP_MODEL_HIRAMATSU);
    return check_summary();
}
