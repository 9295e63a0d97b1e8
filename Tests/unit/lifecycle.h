/*
 * lifecycle.h: what abi_lifecycle.c, abi_stalls.c and stalled_exit.c share:
 * the patched function f with the harness's own count of its calls, threads
 * stepped through batons, and a patch that replaces f. Static, for each
 * program.
 */
#ifndef LP_LIFECYCLE_H
#define LP_LIFECYCLE_H

#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "deadline_reverse.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS) /* a transition that takes this long is hung */
#define SHORT_WAIT (50 * MS)    /* long enough to see that a wait gives up */
#define WORKERS 3


/* ---- the patched function ------------------------------------------------- */

/* Each implementation says which one ran. */
enum { V_OLD = 1, V_A = 2, V_B = 3 };
typedef void (*impl_t)(int *);
static inline void impl_old(int *v) { *v = V_OLD; }
static inline void impl_a(int *v) { *v = V_A; }
static inline void impl_b(int *v) { *v = V_B; }

static lp_func_t *f;
/* Every entry of f this process makes, counted by the harness itself so that
 * lp_func_counts() can be compared with it at quiescence. */
static atomic_ulong f_calls;

/* Through the ABI's macro. Async-signal-safe, as the hooks are. */
static inline int call_f(void)
{
    int v = 0;
    LP_CALL(f, impl_t, &v);
    atomic_fetch_add(&f_calls, 1);
    return v;
}

/* By hand, as LP_CALL's comment suggests when the value matters. */
static inline int call_f_by_hand(void)
{
    int v = 0;
    impl_t impl = (impl_t)lp_func_enter(f);
    impl(&v);
    lp_func_exit(f);
    atomic_fetch_add(&f_calls, 1);
    return v;
}

/* ---- stepping threads ----------------------------------------------------- */

/* A counter two threads step through: one sets step n, the other waits for
 * it. Every scenario below is a fixed sequence of such steps. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int step;
} baton_t;
#define BATON_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

static inline void baton_set(baton_t *b, int step)
{
    pthread_mutex_lock(&b->lock);
    b->step = step;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static inline void baton_wait(baton_t *b, int step)
{
    pthread_mutex_lock(&b->lock);
    while (b->step < step)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

/* A thread's body: registered as name, inside a kernel section from when it
 * sets b to step 1 until b reaches step 2: a thread that blocks a KGRAFT
 * transition started meanwhile. */
static inline void sleep_in_kernel(const char *name, baton_t *b)
{
    (void)lp_thread_register(name);
    lp_kernel_enter();
    baton_set(b, 1);
    baton_wait(b, 2);
    lp_kernel_exit();
}

/* A patch that replaces f with impl_a, enabled (its transition started). */
static inline lp_patch_t *patch_on(const char *name, lp_model_t model)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    char what[128];
    snprintf(what, sizeof what, "%s: create, add f, enable", name);
    check(p != NULL && lp_patch_add_func(p, f, (const void *)impl_a) == 0 && lp_patch_enable(p) == 0, what);
    return p;
}

/* Undo patch_on() once its transition completed. */
static inline void patch_off(const char *name, lp_patch_t *p)
{
    char what[128];
    snprintf(what, sizeof what, "%s: disable, wait, destroy; f is old again", name);
    int ok = lp_patch_disable(p) == 0 && lp_transition_wait(HANG_BOUND) == 0 && lp_patch_destroy(p) == 0;
    check(ok && call_f() == V_OLD, what);
}


static inline void check_counts(const char *when)
{
    uint64_t entries = 0, exits = 0;
    int rc = lp_func_counts(f, &entries, &exits);
    unsigned long mine = atomic_load(&f_calls);
    char what[256];
    snprintf(what, sizeof what, "lp_func_counts(f) %s: entries %llu, exits %llu, harness count %lu", when,
             (unsigned long long)entries, (unsigned long long)exits, mine);
    check(rc == 0 && entries == mine && exits == mine, what);
}

#endif /* LP_LIFECYCLE_H */
