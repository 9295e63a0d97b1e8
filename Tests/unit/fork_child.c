/*
 * fork_child.c — a child forked at any instant can use the whole ABI.
 *
 * Each case forks while the parent is at one awkward instant (a registered
 * thread just exited; another thread scans the thread list; another thread
 * runs pre_patch, post_patch or the log handler), then a fork storm forks
 * at random instants while transitions, callbacks, scans, registrations and
 * hooks run in the parent. Every child registers two threads, checks that
 * they got distinct records, drives a transition of its own to completion
 * and exits 0; an alarm kills a child that hangs, and the parent counts it
 * as a failure; a case stops at its third failed child. Ends with
 * "N passed, N failed".
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A hung child is killed after this; a healthy one needs milliseconds. A
 * case stops after MAX_FAILURES failed children, so a broken engine costs
 * seconds, not minutes. */
#ifndef CHILD_ALARM_S
#define CHILD_ALARM_S 10
#endif
#define MAX_FAILURES 3

#if defined(__SANITIZE_ADDRESS__)
static const int under_asan = 1;
#else
static const int under_asan = 0;
#endif

static int impl_old(int x) { return x; }
static int impl_new(int x) { return x + 1; }

static lp_func_t *shared_fn;

/* ---- what every child does ------------------------------------------------ */

static pthread_barrier_t child_barrier;
static int child_tids[2];

static void *child_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    if (lp_thread_register(i ? "child-b" : "child-a") != 0)
        return (void *)1;
    child_tids[i] = gettid();
    /* Both stay registered until both have looked at the snapshot. */
    pthread_barrier_wait(&child_barrier);
    pthread_barrier_wait(&child_barrier);
    return NULL;
}

/* The child's checks; 0 when all held. Only async-signal-safe-enough calls
 * the engine documents for a fork child, and _exit, no stdio. */
static int child_body(void)
{
    pthread_barrier_init(&child_barrier, NULL, 3);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, child_thread, (void *)(intptr_t)i) != 0)
            return 10;
    pthread_barrier_wait(&child_barrier);
    lp_thread_state_t states[64];
    lp_snapshot_t snap = { .threads = states, .threads_cap = 64 };
    int bad = 0;
    if (lp_status_snapshot(&snap) < 0)
        bad = 11;
    int seen[2] = { 0, 0 };
    for (uint32_t i = 0; !bad && i < snap.n_threads && i < 64; i++)
        for (int k = 0; k < 2; k++)
            seen[k] += states[i].tid == child_tids[k];
    if (!bad && (seen[0] != 1 || seen[1] != 1))
        bad = 12; /* two threads share a record, or one is missing */
    pthread_barrier_wait(&child_barrier);
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(t[i], &r);
        if (r && !bad)
            bad = 13;
    }
    if (bad)
        return bad;
    uint64_t e, x;
    lp_transition_status_t st;
    if (lp_transition_status(&st) != 0 || lp_func_counts(shared_fn, &e, &x) != 0)
        return 14;
    /* A transition the parent had in flight is the child's to finish. */
    if (lp_transition_wait(0) != 0)
        return 15;
    char name[64];
    snprintf(name, sizeof name, "child-fn-%d", (int)getpid());
    lp_func_t *f = lp_func_register(name, (const void *)impl_old);
    snprintf(name, sizeof name, "child-patch-%d", (int)getpid());
    lp_patch_t *p = lp_patch_create(name, LP_MODEL_UPSTREAM, 0);
    if (!f || !p || lp_patch_add_func(p, f, (const void *)impl_new) != 0)
        return 16;
    if (lp_patch_enable(p) != 0 || lp_transition_wait(0) != 0)
        return 17;
    if (lp_patch_disable(p) != 0 || lp_transition_wait(0) != 0 || lp_patch_destroy(p) != 0)
        return 18;
    return 0;
}

/* Forks; the child runs child_body (and `extra`, when given) under an alarm. */
static pid_t fork_child(int (*extra)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(CHILD_ALARM_S);
        int r = extra ? extra() : 0;
        _exit(r ? r : child_body());
    }
    return pid;
}

/* 1 when the child exited 0; otherwise prints how it ended. */
static int reap(pid_t pid)
{
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 1;
    if (WIFSIGNALED(status))
        printf("  child %d: killed by signal %d%s\n", (int)pid, WTERMSIG(status),
               WTERMSIG(status) == SIGALRM ? " (hung)" : "");
    else
        printf("  child %d: exit %d\n", (int)pid, WEXITSTATUS(status));
    return 0;
}

/* ---- item: fork right after a registered thread exits ---------------------- */

static void *register_and_exit(void *arg)
{
    (void)arg;
    lp_thread_register("short-lived");
    return NULL;
}

static void check_fork_after_thread_exit(void)
{
    int ok = 0, n = 50, i;
    for (i = 0; i < n && i - ok < MAX_FAILURES; i++) {
        pthread_t t;
        pthread_create(&t, NULL, register_and_exit, NULL);
        pthread_join(t, NULL);
        /* Its slot waits for a grace period: the free is still pending. */
        ok += reap(fork_child(NULL));
    }
    char what[128];
    snprintf(what, sizeof what, "fork right after a registered thread exits: %d of %d children use the ABI", ok, i);
    check(ok == i && i == n, what);
}

/* ---- item: fork while another thread scans the thread list ----------------- */

static atomic_int stop_scan;

static void scan_once(void)
{
    uint64_t e, x;
    lp_transition_status_t st;
    lp_transition_status(&st);
    lp_func_counts(shared_fn, &e, &x);
}

static void *scanner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_scan))
        scan_once();
    return NULL;
}

/* In the child: the calls the parent's threads were inside, first. */
static int child_counts(void)
{
    uint64_t e, x;
    return lp_func_counts(shared_fn, &e, &x) == 0 ? 0 : 21;
}

static void check_fork_during_scans(void)
{
    pthread_t t[4];
    atomic_store(&stop_scan, 0);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, scanner, NULL);
    int ok = 0, n = 200, i;
    for (i = 0; i < n && i - ok < MAX_FAILURES; i++)
        ok += reap(fork_child(child_counts));
    atomic_store(&stop_scan, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char what[160];
    snprintf(what, sizeof what,
             "fork while threads are inside lp_transition_status/lp_func_counts: %d of %d children use the ABI", ok, i);
    check(ok == i && i == n, what);
}

/* ---- item: fork while another thread runs a callback or the log handler ---- */

enum hold_point { HOLD_PRE_PATCH, HOLD_POST_PATCH, HOLD_LOG };

static _Atomic int hold_at = -1;    /* where the patcher thread parks */
static atomic_int parked, released;

/* Parks the patcher thread until the main thread has forked. */
static void park(int point)
{
    if (atomic_load(&hold_at) != point)
        return;
    atomic_store(&hold_at, -1);
    atomic_store(&parked, 1);
    while (!atomic_load(&released))
        usleep(100);
}

static int on_pre_patch(lp_patch_t *p, void *ctx) { (void)p; (void)ctx; park(HOLD_PRE_PATCH); return 0; }
static void on_post_patch(lp_patch_t *p, void *ctx) { (void)p; (void)ctx; park(HOLD_POST_PATCH); }
static void on_log(const char *line, void *ctx)
{
    (void)ctx;
    if (strstr(line, "patching complete"))
        park(HOLD_LOG);
}

static lp_patch_t *parked_patch;

static void *patcher_thread(void *arg)
{
    (void)arg;
    if (lp_patch_enable(parked_patch) == 0)
        lp_transition_wait(0);
    return NULL;
}

/* In the child: the patch whose pre_patch never returned can be destroyed. */
static int child_destroys_parked_patch(void) { return lp_patch_destroy(parked_patch) == 0 ? 0 : 20; }

static void check_fork_during_callback(enum hold_point point, const char *what)
{
    static const lp_callbacks_t cb = { .pre_patch = on_pre_patch, .post_patch = on_post_patch };
    parked_patch = lp_patch_create(what, LP_MODEL_UPSTREAM, 0);
    lp_patch_add_func(parked_patch, shared_fn, (const void *)impl_new);
    lp_patch_set_callbacks(parked_patch, &cb, NULL);
    lp_set_log_handler(on_log, NULL);
    atomic_store(&parked, 0);
    atomic_store(&released, 0);
    atomic_store(&hold_at, (int)point);
    pthread_t t;
    pthread_create(&t, NULL, patcher_thread, NULL);
    while (!atomic_load(&parked))
        usleep(100);
    int ok = reap(fork_child(point == HOLD_PRE_PATCH ? child_destroys_parked_patch : NULL));
    atomic_store(&released, 1);
    pthread_join(t, NULL);
    lp_set_log_handler(NULL, NULL);
    lp_transition_wait(0);
    if (point != HOLD_PRE_PATCH) {
        lp_patch_disable(parked_patch);
        lp_transition_wait(0);
    }
    lp_patch_destroy(parked_patch);
    char line[160];
    snprintf(line, sizeof line, "fork while another thread is inside %s: the child uses the ABI", what);
    check(ok, line);
}

/* ---- the fork storm ------------------------------------------------------ */

static atomic_int storm_stop;

static int storm_pre(lp_patch_t *p, void *ctx) { (void)p; (void)ctx; sched_yield(); return 0; }
static void storm_post(lp_patch_t *p, void *ctx) { (void)p; (void)ctx; sched_yield(); }
static void storm_log(const char *line, void *ctx) { (void)line; (void)ctx; sched_yield(); }

static void *storm_patcher(void *arg)
{
    (void)arg;
    static const lp_callbacks_t cb = { storm_pre, storm_post, storm_post, storm_post };
    lp_patch_t *p = lp_patch_create("storm", LP_MODEL_UPSTREAM, 0);
    lp_patch_add_func(p, shared_fn, (const void *)impl_new);
    lp_patch_set_callbacks(p, &cb, NULL);
    lp_set_log_handler(storm_log, NULL);
    while (!atomic_load(&storm_stop)) {
        if (lp_patch_enable(p) == 0)
            lp_transition_wait(0);
        if (lp_patch_disable(p) == 0)
            while (lp_transition_try_complete() == 0)
                sched_yield();
    }
    lp_set_log_handler(NULL, NULL);
    lp_transition_wait(0);
    lp_patch_destroy(p);
    return NULL;
}

static void *storm_hooks(void *arg)
{
    (void)arg;
    while (!atomic_load(&storm_stop)) {
        int (*impl)(int) = (int (*)(int))lp_func_enter(shared_fn);
        impl(1);
        lp_func_exit(shared_fn);
        lp_kernel_enter();
        lp_kernel_exit();
    }
    return NULL;
}

static void *storm_registrations(void *arg)
{
    (void)arg;
    char name[64];
    for (unsigned i = 0; !atomic_load(&storm_stop); i++) {
        pthread_t t;
        pthread_create(&t, NULL, register_and_exit, NULL);
        pthread_join(t, NULL);
        if (i % 16 == 0) {
            snprintf(name, sizeof name, "storm-fn-%u", i);
            lp_func_register(name, (const void *)impl_old);
        }
    }
    return NULL;
}

static void *storm_scans(void *arg)
{
    (void)arg;
    lp_thread_state_t states[16];
    while (!atomic_load(&storm_stop)) {
        lp_snapshot_t snap = { .threads = states, .threads_cap = 16 };
        lp_status_snapshot(&snap);
        scan_once();
    }
    return NULL;
}

static void check_fork_storm(void)
{
    void *(*roles[])(void *) = { storm_patcher, storm_hooks, storm_registrations, storm_scans };
    enum { ROLES = sizeof roles / sizeof roles[0] };
    pthread_t t[ROLES];
    atomic_store(&storm_stop, 0);
    for (int r = 0; r < ROLES; r++)
        pthread_create(&t[r], NULL, roles[r], NULL);
    const unsigned seed0 = (unsigned)time(NULL);
    unsigned seed = seed0;
    int ok = 0, n = 200, i;
    for (i = 0; i < n && i - ok < MAX_FAILURES; i++) {
        usleep((useconds_t)(rand_r(&seed) % 2000));
        ok += reap(fork_child(NULL));
    }
    atomic_store(&storm_stop, 1);
    for (int r = 0; r < ROLES; r++)
        pthread_join(t[r], NULL);
    char what[160];
    snprintf(what, sizeof what, "fork storm (seed %u): %d of %d children forked at random instants use the ABI",
             seed0, ok, i);
    check(ok == i && i == n, what);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    lp_thread_register("main");
    shared_fn = lp_func_register("fork-shared", (const void *)impl_old);
    check(shared_fn != NULL, "lp_func_register");
    /* GCC 12's ASan runtime does not hold its allocator's locks across
     * fork: a child can hang in a malloc that a parent thread was inside.
     * The scanning and storming parent threads allocate, so those two cases
     * run in the plain build only; in the others the parent's threads are
     * parked or gone. */
    if (under_asan)
        printf("scans and storm: not under ASan (its allocator is not fork-safe)\n");
    /* First: a call_rcu worker that earlier cases start makes the scans'
     * window rarer. */
    if (!under_asan)
        check_fork_during_scans();
    check_fork_after_thread_exit();
    check_fork_during_callback(HOLD_PRE_PATCH, "pre_patch");
    check_fork_during_callback(HOLD_POST_PATCH, "post_patch");
    check_fork_during_callback(HOLD_LOG, "the log handler");
    if (!under_asan)
        check_fork_storm();
    return check_summary();
}
