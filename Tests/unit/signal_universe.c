/*
 * signal_universe.c — a signal handler runs in the interrupted thread's
 * universe.
 *
 * KGRAFT: a blocker thread sits in a kernel section begun before the
 * transition, so the transition stays in flight. The victim begins its
 * kernel section after the transition started (new universe) and calls the
 * patched f in a loop: each call is an outermost function entry. Another
 * thread keeps signalling it, and the handler calls f too. A handler that
 * lands inside an outermost entry, after the depth is announced and before
 * the epoch is stored, must still get the new implementation. Every call,
 * the thread's and the handler's, must run the new one.
 *
 * How many signals land in the window depends on scheduling; the check is
 * that none of the handler's calls got the old implementation.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)
#define HANDLER_CALLS 20000

static int f_old(void) { return 1; }
static int f_new(void) { return 2; }

static lp_func_t *f;
static atomic_int blocker_in, release_blocker, victim_ready, victim_done;
static atomic_long handler_calls, handler_old, thread_old;

static int call_f(void)
{
    int (*impl)(void) = (int (*)(void))lp_func_enter(f);
    int v = impl();
    lp_func_exit(f);
    return v;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&handler_calls, 1);
    if (call_f() != 2) atomic_fetch_add(&handler_old, 1);
}

static void *blocker(void *arg)
{
    (void)arg;
    lp_thread_register("blocker");
    lp_kernel_enter();
    atomic_store(&blocker_in, 1);
    while (!atomic_load(&release_blocker)) usleep(1000);
    lp_kernel_exit();
    lp_thread_unregister();
    return NULL;
}

static void *victim(void *arg)
{
    (void)arg;
    lp_thread_register("victim");
    lp_kernel_enter(); /* after the transition started: the new universe */
    atomic_store(&victim_ready, 1);
    while (atomic_load(&handler_calls) < HANDLER_CALLS)
        if (call_f() != 2) atomic_fetch_add(&thread_old, 1);
    lp_kernel_exit();
    atomic_store(&victim_done, 1);
    lp_thread_unregister();
    return NULL;
}

int main(void)
{
    lp_thread_register("main");
    f = lp_func_register("f", (const void *)f_old);
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);

    pthread_t b, v;
    pthread_create(&b, NULL, blocker, NULL);
    while (!atomic_load(&blocker_in)) usleep(100);
    lp_patch_t *p = lp_patch_create("p", LP_MODEL_KGRAFT, 0);
    lp_patch_add_func(p, f, (const void *)f_new);
    int rc = lp_patch_enable(p);
    check_rc("enable under KGRAFT", rc < 0 ? rc : 0, 0);
    check_rc("it waits for the blocker", lp_transition_wait(MS), -ETIMEDOUT);

    pthread_create(&v, NULL, victim, NULL);
    while (!atomic_load(&victim_ready)) usleep(100);
    while (!atomic_load(&victim_done)) pthread_kill(v, SIGUSR1);
    pthread_join(v, NULL);

    printf("handler calls: %ld, old: %ld; thread's old: %ld\n", atomic_load(&handler_calls),
           atomic_load(&handler_old), atomic_load(&thread_old));
    check(atomic_load(&handler_calls) > 0, "the handler ran");
    check(atomic_load(&handler_old) == 0, "every handler call ran the new implementation");
    check(atomic_load(&thread_old) == 0, "every call of the thread ran the new implementation");

    atomic_store(&release_blocker, 1);
    pthread_join(b, NULL);
    check_rc("the transition completes", lp_transition_wait(HANG_BOUND), 0);
    return check_summary();
}
