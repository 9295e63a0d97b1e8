// harness-cflags: -finstrument-functions
/*
 * cyg_hooks.c — unmodified functions counted through -finstrument-functions.
 *
 * This file is compiled with -finstrument-functions (the line above is read
 * by scripts/test), so every function in it calls __cyg_profile_func_enter
 * and __cyg_profile_func_exit, which the library defines. Checks: functions
 * registered with lp_func_register_auto() are counted exactly, unregistered
 * ones not at all; a thread sleeping inside a registered, unmodified caller
 * blocks a PATCHED_SET x THREAD and a PATCHED_SET x KERNEL (KPATCH)
 * transition until it returns, and the LP_CALL it makes inside that
 * activation runs the activation's (old) universe; redirection through
 * LP_CALL works in the same program and counts a plain-registered function
 * once although its body is instrumented too; a signal handler's calls are
 * counted; a thread whose first hook is a cyg hook registers lazily.
 *
 * Deterministic: threads are stepped with condition variables, never with
 * sleeps; timeouts are "did not hang" bounds.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)
#define SHORT_WAIT (20 * MS)
#define NOINLINE __attribute__((noinline))
#define FN(fn) ((const void *)(uintptr_t)(fn))

static volatile int sink;

/* ---- unmodified functions (instrumented, never called through a hook) ------ */

NOINLINE void leaf(void) { sink++; }
NOINLINE void caller(int n)
{
    for (int i = 0; i < n; i++) leaf();
}
NOINLINE void unregistered(void) { sink++; }

/* lp_thread_unregister() fails with -EBUSY inside a counted function: a
 * probe of the calling thread's function depth. */
NOINLINE void counted_probe(int *rc) { *rc = lp_thread_unregister(); }
NOINLINE void uncounted_probe(int *rc)
{
    *rc = lp_thread_unregister();
    if (*rc == 0) lp_thread_register("main");
}

/* ---- a function redirected through LP_CALL (registered plainly) ------------- */

enum { V_OLD = 1, V_NEW = 2 };
typedef void (*impl_t)(int *);
NOINLINE void plain_old(int *v) { *v = V_OLD; }
NOINLINE void plain_new(int *v) { *v = V_NEW; }
static lp_func_t *plain;

/* ---- the sleeper: a thread that blocks inside an unmodified caller ----------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inside, go, ran;
    int tid;
} sl = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

/* Registered with lp_func_register_auto and put in the patch's set: its
 * activation begins at its entry, before the transition starts. */
NOINLINE void sleeper_caller(void)
{
    pthread_mutex_lock(&sl.mu);
    sl.inside = 1;
    pthread_cond_broadcast(&sl.cv);
    while (!sl.go) pthread_cond_wait(&sl.cv, &sl.mu);
    pthread_mutex_unlock(&sl.mu);
    int v = 0;
    LP_CALL(plain, impl_t, &v); /* inside the old activation: the old universe */
    sl.ran = v;
}

static void *sleeper_main(void *arg)
{
    (void)arg;
    sl.tid = (int)syscall(SYS_gettid); /* no lp_thread_register: the cyg hook registers lazily */
    sleeper_caller();
    return NULL;
}

static pthread_t start_sleeper(void)
{
    pthread_t th;
    sl.inside = sl.go = sl.ran = 0;
    pthread_create(&th, NULL, sleeper_main, NULL);
    pthread_mutex_lock(&sl.mu);
    while (!sl.inside) pthread_cond_wait(&sl.cv, &sl.mu);
    pthread_mutex_unlock(&sl.mu);
    return th;
}

static void release_sleeper(void)
{
    pthread_mutex_lock(&sl.mu);
    sl.go = 1;
    pthread_cond_broadcast(&sl.cv);
    pthread_mutex_unlock(&sl.mu);
}

struct stalled_seen {
    int tid, reason, function_depth;
    char name[LP_THREAD_NAME_MAX];
};

static int note_stalled(const lp_thread_info_t *info, void *ctx)
{
    struct stalled_seen *s = ctx;
    if (info->tid == sl.tid) {
        s->tid = info->tid;
        s->reason = info->reason;
        s->function_depth = (int)info->function_depth;
        memcpy(s->name, info->name, sizeof s->name);
    }
    return 0;
}

static void counts(lp_func_t *f, uint64_t *entries, uint64_t *exits)
{
    if (lp_func_counts(f, entries, exits) != 0) *entries = *exits = ~0ull;
}

/* A thread asleep inside sleeper_caller (counted by the cyg hooks alone)
 * blocks the transition of a patch whose set it extends, until it returns. */
static void blocking_caller(const char *model_name, lp_model_t model, lp_func_t *caller_f, int want_reason)
{
    char what[160];
    uint64_t e0, x0, e1, x1;
    counts(caller_f, &e0, &x0);
    pthread_t th = start_sleeper();

    char name[48];
    snprintf(name, sizeof name, "cyg-%s", model_name);
    lp_patch_t *p = lp_patch_create(name, model, 0);
    check(p != NULL, "lp_patch_create");
    check_rc("lp_patch_add_func(plain -> plain_new)", lp_patch_add_func(p, plain, FN(plain_new)), 0);
    check_rc("lp_patch_add_func(auto-registered caller): EINVAL, the hooks cannot redirect it",
             lp_patch_add_func(p, caller_f, FN(plain_new)), -EINVAL);
    check_rc("lp_patch_extend_set(unmodified caller)", lp_patch_extend_set(p, caller_f), 0);
    check_rc("lp_patch_enable", lp_patch_enable(p), 0);

    snprintf(what, sizeof what, "%s: the transition is pending while a thread sleeps in the unmodified caller",
             model_name);
    check_rc(what, lp_transition_try_complete(), 0);
    snprintf(what, sizeof what, "%s: lp_transition_wait gives up while it sleeps", model_name);
    check_rc(what, lp_transition_wait(SHORT_WAIT), -ETIMEDOUT);

    struct stalled_seen seen = {0};
    check_rc("lp_transition_for_each_stalled", lp_transition_for_each_stalled(note_stalled, &seen), 0);
    snprintf(what, sizeof what, "%s: the sleeper is named stalled (tid %d, reason %d, function depth %d)",
             model_name, seen.tid, seen.reason, seen.function_depth);
    check(seen.tid == sl.tid && seen.reason == want_reason && seen.function_depth == 1, what);
    char lazy[LP_THREAD_NAME_MAX];
    snprintf(lazy, sizeof lazy, "tid-%d", sl.tid);
    snprintf(what, sizeof what, "%s: registered lazily by its first cyg hook (name \"%s\")", model_name, seen.name);
    check(strcmp(seen.name, lazy) == 0, what);

    release_sleeper();
    pthread_join(th, NULL);
    snprintf(what, sizeof what, "%s: the transition completes once the sleeper returned", model_name);
    check_rc(what, lp_transition_wait(HANG_BOUND), 0);
    snprintf(what, sizeof what, "%s: its LP_CALL inside the old activation ran the old implementation", model_name);
    check(sl.ran == V_OLD, what);

    counts(caller_f, &e1, &x1);
    snprintf(what, sizeof what, "%s: the caller's one call is counted (entries +%llu, exits +%llu)", model_name,
             (unsigned long long)(e1 - e0), (unsigned long long)(x1 - x0));
    check(e1 - e0 == 1 && x1 - x0 == 1, what);

    int v = 0;
    LP_CALL(plain, impl_t, &v);
    check(v == V_NEW, "after the transition, LP_CALL runs the new implementation");
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("the reverse transition completes", lp_transition_wait(HANG_BOUND), 0);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);
}

static lp_func_t *f_leaf;

static void on_signal(int signo)
{
    (void)signo;
    leaf(); /* the handler is instrumented too, and unregistered */
}

int main(void)
{
    check_rc("lp_thread_register", lp_thread_register("main"), 0);

    /* Registration by address, and its misuse. */
    errno = 0;
    check(lp_func_register_auto(NULL, FN(leaf)) == NULL && errno == EINVAL, "lp_func_register_auto(NULL name): EINVAL");
    errno = 0;
    check(lp_func_register_auto("x", NULL) == NULL && errno == EINVAL, "lp_func_register_auto(NULL impl): EINVAL");
    f_leaf = lp_func_register_auto("leaf", FN(leaf));
    lp_func_t *f_caller = lp_func_register_auto("caller", FN(caller));
    lp_func_t *f_counted_probe = lp_func_register_auto("counted_probe", FN(counted_probe));
    lp_func_t *f_sleeper = lp_func_register_auto("sleeper_caller", FN(sleeper_caller));
    check(f_leaf && f_caller && f_counted_probe && f_sleeper, "lp_func_register_auto of four unmodified functions");
    errno = 0;
    check(lp_func_register_auto("leaf-again", FN(leaf)) == NULL && errno == EEXIST,
          "lp_func_register_auto of an address already registered: EEXIST");
    errno = 0;
    check(lp_func_register_auto("leaf", FN(unregistered)) == NULL && errno == EEXIST,
          "lp_func_register_auto of a name already registered: EEXIST");
    check(lp_func_lookup("leaf") == f_leaf, "lp_func_lookup finds an auto-registered function");

    /* Counting: every call of a registered function, none of the others. */
    uint64_t e, x;
    for (int i = 0; i < 10; i++) caller(5);
    for (int i = 0; i < 100; i++) unregistered();
    counts(f_caller, &e, &x);
    check(e == 10 && x == 10, "the caller's 10 calls are counted (entries and exits)");
    counts(f_leaf, &e, &x);
    check(e == 50 && x == 50, "the leaf's 50 calls are counted");
    int rc = 0;
    counted_probe(&rc);
    check_rc("inside a registered function, the thread is inside a hooked function", rc, -EBUSY);
    uncounted_probe(&rc);
    check_rc("inside an unregistered function, it is not", rc, 0);
    lp_transition_status_t st;
    lp_transition_status(&st);
    check(st.unbalanced_exits == 0, "no unbalanced exit");

    /* A signal handler's calls are counted, on this registered thread. */
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    counts(f_leaf, &e, &x);
    check(e == 51 && x == 51, "a call from a signal handler is counted");

    /* LP_CALL in the same program: a plain-registered function whose body is
     * instrumented is counted once (its address is not in the table). */
    plain = lp_func_register("plain", FN(plain_old));
    check(plain != NULL, "lp_func_register(plain)");
    int v = 0;
    for (int i = 0; i < 20; i++) LP_CALL(plain, impl_t, &v);
    counts(plain, &e, &x);
    check(e == 20 && x == 20 && v == V_OLD, "20 LP_CALLs of an instrumented, plainly registered function count 20");
    lp_patch_t *p = lp_patch_create("cyg-redirect", LP_MODEL_IMMEDIATE, 0);
    check_rc("lp_patch_add_func", lp_patch_add_func(p, plain, FN(plain_new)), 0);
    check_rc("lp_patch_enable (IMMEDIATE)", lp_patch_enable(p), 0);
    check_rc("lp_transition_wait", lp_transition_wait(HANG_BOUND), 0);
    LP_CALL(plain, impl_t, &v);
    check(v == V_NEW, "LP_CALL redirects to the new implementation");
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("lp_transition_wait", lp_transition_wait(HANG_BOUND), 0);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);

    /* The area of interest includes unmodified callers. */
    check_rc("lp_set_switch_policy(1 ms, 1 ms)", lp_set_switch_policy(1 * MS, 1 * MS), 0);
    blocking_caller("PATCHED_SET x THREAD", lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD), f_sleeper,
                    LP_STALL_NO_SWITCH_POINT);
    blocking_caller("KPATCH", LP_MODEL_KPATCH, f_sleeper, LP_STALL_NO_SWITCH_POINT);

    counts(plain, &e, &x);
    check(e == x, "at quiescence, the plain function's entries equal its exits");
    lp_transition_status(&st);
    check(st.unbalanced_exits == 0 && st.exited_inside == 0, "no unbalanced exit, no thread exited inside");
    return check_summary();
}
