/*
 * callback_locks.c — while post_patch, post_unpatch or the log handler runs,
 * other threads get the documented answers at once: lp_patch_enable -EBUSY,
 * lp_func_register a record, lp_transition_try_complete 1 (nothing in
 * flight). The callback waits for that other thread to finish its calls; a
 * callback that never sees it finish (the other thread is blocked behind
 * the callback) gives up after WAIT_S and the check fails. Ends with
 * "N passed, N failed".
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Only a deadlock runs into this: the calls answer in microseconds. */
#define WAIT_S 10

static void impl_old(void) {}
static void impl_new(void) {}

static lp_func_t *fn;
static lp_patch_t *other;   /* a second patch the other thread tries to enable */

enum where { IN_POST_PATCH, IN_POST_UNPATCH, IN_LOG };
static _Atomic int wait_in = -1;

/* What the other thread's calls returned, and whether they all returned. */
static int got_enable, got_try_complete;
static lp_func_t *got_register;
static atomic_int other_done, callback_saw_done;
static pthread_t other_tid;
static int other_started;

static void *other_thread(void *arg)
{
    (void)arg;
    static atomic_int n;
    char name[64];
    snprintf(name, sizeof name, "late-%d", atomic_fetch_add(&n, 1));
    got_enable = lp_patch_enable(other);
    got_register = lp_func_register(name, (const void *)impl_old);
    got_try_complete = lp_transition_try_complete();
    atomic_store(&other_done, 1);
    return NULL;
}

/* Runs the other thread's calls and waits for them, inside a callback. */
static void wait_for_other(int where)
{
    if (atomic_load(&wait_in) != where)
        return;
    atomic_store(&wait_in, -1);
    pthread_create(&other_tid, NULL, other_thread, NULL);
    other_started = 1;
    for (int i = 0; i < WAIT_S * 1000 && !atomic_load(&other_done); i++)
        usleep(1000);
    atomic_store(&callback_saw_done, atomic_load(&other_done));
    /* Joined after the callback returned: a blocked thread goes on then. */
}

static void on_post_patch(lp_patch_t *p, void *ctx) { (void)p; (void)ctx; wait_for_other(IN_POST_PATCH); }
static void on_post_unpatch(lp_patch_t *p, void *ctx) { (void)p; (void)ctx; wait_for_other(IN_POST_UNPATCH); }
static void on_log(const char *line, void *ctx)
{
    (void)ctx;
    /* Logged with post_patch already queued: the patcher is busy. */
    if (strstr(line, "completing patching transition"))
        wait_for_other(IN_LOG);
}

static void check_while(enum where where, const char *what)
{
    static const lp_callbacks_t cb = { .post_patch = on_post_patch, .post_unpatch = on_post_unpatch };
    lp_patch_t *p = lp_patch_create(what, LP_MODEL_UPSTREAM, 0);
    lp_patch_add_func(p, fn, (const void *)impl_new);
    lp_patch_set_callbacks(p, &cb, NULL);
    atomic_store(&other_done, 0);
    atomic_store(&callback_saw_done, 0);
    lp_patch_enable(p);
    if (where == IN_POST_PATCH || where == IN_LOG)
        atomic_store(&wait_in, (int)where);
    lp_transition_wait(0);
    atomic_store(&wait_in, where == IN_POST_UNPATCH ? (int)where : -1);
    lp_patch_disable(p);
    lp_transition_wait(0);
    atomic_store(&wait_in, -1);
    if (other_started)
        pthread_join(other_tid, NULL);
    other_started = 0;
    lp_transition_wait(0); /* whatever a late enable of `other` started */
    if (got_enable == 0) {
        lp_patch_disable(other);
        lp_transition_wait(0);
    }
    lp_patch_destroy(p);

    char line[192];
    snprintf(line, sizeof line, "inside %s, another thread's calls return without waiting for it", what);
    check(atomic_load(&callback_saw_done), line);
    snprintf(line, sizeof line, "inside %s: lp_patch_enable from another thread", what);
    check_rc(line, got_enable, -EBUSY);
    snprintf(line, sizeof line, "inside %s: lp_func_register from another thread works", what);
    check(got_register != NULL, line);
    snprintf(line, sizeof line, "inside %s: lp_transition_try_complete from another thread (none in flight)", what);
    check_rc(line, got_try_complete, 1);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    fn = lp_func_register("cb-locks", (const void *)impl_old);
    other = lp_patch_create("cb-locks-other", LP_MODEL_UPSTREAM, 0);
    check(fn && other && lp_patch_add_func(other, fn, (const void *)impl_new) == 0, "set-up");
    lp_set_log_handler(on_log, NULL);
    check_while(IN_POST_PATCH, "post_patch");
    check_while(IN_POST_UNPATCH, "post_unpatch");
    check_while(IN_LOG, "the log handler");
    lp_set_log_handler(NULL, NULL);
    lp_patch_destroy(other);
    return check_summary();
}
