/*
 * Capacity: LP_MAX_THREADS live registered threads, then -ENOMEM for the
 * next one; with all of them idle outside the area a transition completes
 * (an idle registered thread never blocks). Prints "N passed, N failed".
 */
#include <errno.h>
#include <livepatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int registered, refused, release;

static void *parked(void *arg)
{
    (void)arg;
    int rc = lp_thread_register(NULL);
    pthread_mutex_lock(&lock);
    if (rc == 0) registered++;
    else if (rc == -ENOMEM) refused++;
    pthread_cond_broadcast(&cv);
    while (!release) pthread_cond_wait(&cv, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int old_impl(void) { return 1; }
static int new_impl(void) { return 2; }

int main(void)
{
    /* The main thread counts as one of the live threads. */
    lp_func_t *f = lp_func_register("capacity.f", (const void *)old_impl);
    lp_func_enter(f);
    lp_func_exit(f);
    int n = LP_MAX_THREADS; /* LP_MAX_THREADS - 1 more fit, the last is refused */
    pthread_t *t = calloc((size_t)n, sizeof *t);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    int created = 0;
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], &attr, parked, NULL) == 0) created++;
    pthread_mutex_lock(&lock);
    while (registered + refused < created) pthread_cond_wait(&cv, &lock);
    pthread_mutex_unlock(&lock);
    lp_transition_status_t st;
    lp_transition_status(&st);
    check(created == n, "created LP_MAX_THREADS threads");
    check(registered == LP_MAX_THREADS - 1 && st.registered_threads == LP_MAX_THREADS,
          "LP_MAX_THREADS threads registered at once (at least the 4096 required)");
    check(refused == 1, "the thread past LP_MAX_THREADS gets -ENOMEM");

    lp_patch_t *p = lp_patch_create("capacity", LP_MODEL_KGRAFT, 0);
    lp_patch_add_func(p, f, (const void *)new_impl);
    check(lp_patch_enable(p) == 0 && lp_transition_wait(30000000000ull) == 0,
          "a transition completes with every registered thread idle");
    check(((int (*)(void))lp_func_enter(f))() == 2, "and the new implementation runs");
    lp_func_exit(f);

    pthread_mutex_lock(&lock);
    release = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < created; i++) pthread_join(t[i], NULL);
    lp_transition_status(&st);
    check(st.registered_threads == 1, "exited threads are unregistered");
    free(t);
    return check_summary();
}
