/*
 * abi_parity.c — the kernel-parity calls of livepatch.h misused on purpose,
 * and the callback rules that the golden logs of Tests/regression/selftests cannot
 * show: a callback that calls the patcher gets -EBUSY instead of a
 * deadlock (on its own thread and on another), and a completion that many
 * threads race to drive runs post_patch exactly once. Prints one line per
 * check and ends with "N passed, N failed"; exits non-zero if any failed.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

static void old_impl(void) {}
static void new_impl(void) {}

static lp_patch_t *make(const char *name, unsigned flags, lp_func_t *f)
{
    lp_patch_t *p = lp_patch_create(name, LP_MODEL_UPSTREAM, flags);
    if (p && f)
        (void)lp_patch_add_func(p, f, new_impl);
    return p;
}

static int settle(void) { return lp_transition_wait(0); }

static void check_create_flags(void)
{
    errno = 0;
    check(lp_patch_create("parity-flag", LP_MODEL_UPSTREAM, 0x2) == NULL && errno == EINVAL,
          "lp_patch_create with an unknown flag: NULL, errno EINVAL");
    lp_patch_t *p = lp_patch_create("parity-replace", LP_MODEL_UPSTREAM, LP_PATCH_REPLACE);
    check(p != NULL, "lp_patch_create with LP_PATCH_REPLACE");
    check_rc("lp_patch_destroy(replace patch never enabled)", lp_patch_destroy(p), 0);
    check(strstr(lp_strerror(-ECANCELED), "ECANCELED") != NULL, "lp_strerror names ECANCELED");
}

static void check_set_callbacks(lp_func_t *f)
{
    static const lp_callbacks_t none;
    check_rc("lp_patch_set_callbacks(NULL patch)", lp_patch_set_callbacks(NULL, &none, NULL), -EINVAL);
    lp_patch_t *p = make("parity-cb", 0, f);
    check_rc("lp_patch_set_callbacks(patch, NULL): clears", lp_patch_set_callbacks(p, NULL, NULL), 0);
    check_rc("lp_patch_enable", lp_patch_enable(p), 0);
    check_rc("lp_patch_set_callbacks during the transition", lp_patch_set_callbacks(p, &none, NULL), -EBUSY);
    check_rc("transition completes", settle(), 0);
    check_rc("lp_patch_set_callbacks on an enabled patch", lp_patch_set_callbacks(p, &none, NULL), -EBUSY);
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("transition completes", settle(), 0);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);
    check_rc("lp_patch_set_callbacks(destroyed patch)", lp_patch_set_callbacks(p, &none, NULL), -ENOENT);
    lp_patch_t *foreign = (lp_patch_t *)&none;
    check_rc("lp_patch_set_callbacks(foreign pointer)", lp_patch_set_callbacks(foreign, &none, NULL), -ENOENT);
}

static void check_states(lp_func_t *f)
{
    int data = 42;
    check_rc("lp_patch_add_state(NULL patch)", lp_patch_add_state(NULL, 7, 1, NULL), -EINVAL);
    lp_patch_t *p = make("parity-state", 0, f);
    check_rc("lp_patch_add_state(id 0)", lp_patch_add_state(p, 0, 1, NULL), -EINVAL);
    check_rc("lp_patch_add_state(7, v1)", lp_patch_add_state(p, 7, 1, &data), 0);
    check_rc("lp_patch_add_state(7 again)", lp_patch_add_state(p, 7, 2, NULL), -EEXIST);
    check_rc("lp_state_get(7) before enabling", lp_state_get(7, NULL, NULL), -ENOENT);
    check_rc("lp_patch_enable", lp_patch_enable(p), 0);
    check_rc("lp_state_get(7) while the enable runs: not enabled yet", lp_state_get(7, NULL, NULL), -ENOENT);
    check_rc("lp_patch_add_state during the transition", lp_patch_add_state(p, 8, 1, NULL), -EBUSY);
    check_rc("transition completes", settle(), 0);
    unsigned version = 0;
    void *got = NULL;
    check_rc("lp_state_get(7)", lp_state_get(7, &version, &got), 0);
    check(version == 1 && got == &data, "lp_state_get(7) gives the version and data of the patch");
    check_rc("lp_state_get(7, NULL, NULL)", lp_state_get(7, NULL, NULL), 0);
    check_rc("lp_state_get(unknown id)", lp_state_get(99, &version, &got), -ENOENT);
    check_rc("lp_patch_add_state on an enabled patch", lp_patch_add_state(p, 8, 1, NULL), -EBUSY);

    /* A newer non-cumulative patch may add states and keep the version;
     * a lower version is refused, whatever the kind of patch. */
    lp_patch_t *lower = make("parity-state-lower", 0, f);
    check_rc("lp_patch_add_state(7, v0)", lp_patch_add_state(lower, 7, 0, NULL), 0);
    check_rc("lp_patch_enable(lower version of state 7)", lp_patch_enable(lower), -EINVAL);
    check_rc("lp_patch_destroy(refused patch)", lp_patch_destroy(lower), 0);
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("transition completes", settle(), 0);
    check_rc("lp_state_get(7) after disabling", lp_state_get(7, NULL, NULL), -ENOENT);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);
    check_rc("lp_patch_add_state(destroyed patch)", lp_patch_add_state(p, 9, 1, NULL), -ENOENT);
}

static void check_by_name(lp_func_t *f)
{
    check_rc("lp_patch_add_func_by_name(NULL patch)", lp_patch_add_func_by_name(NULL, "x", new_impl), -EINVAL);
    lp_patch_t *p = make("parity-byname", 0, NULL);
    check_rc("lp_patch_add_func_by_name(NULL name)", lp_patch_add_func_by_name(p, NULL, new_impl), -EINVAL);
    check_rc("lp_patch_add_func_by_name(NULL impl)", lp_patch_add_func_by_name(p, "parity-late", NULL), -EINVAL);
    check_rc("lp_patch_add_func_by_name(unregistered)", lp_patch_add_func_by_name(p, "parity-late", new_impl), 0);
    check_rc("lp_patch_add_func_by_name(same name again)", lp_patch_add_func_by_name(p, "parity-late", new_impl), -EEXIST);
    check_rc("lp_patch_add_func_by_name(registered)", lp_patch_add_func_by_name(p, "parity-f", new_impl), 0);
    check_rc("lp_patch_add_func(the same function)", lp_patch_add_func(p, f, new_impl), -EEXIST);
    check_rc("lp_patch_enable", lp_patch_enable(p), 0);
    check_rc("lp_patch_add_func_by_name during the transition", lp_patch_add_func_by_name(p, "parity-other", new_impl), -EBUSY);
    check_rc("transition completes", settle(), 0);
    lp_func_t *late = lp_func_register("parity-late", old_impl);
    check(late != NULL && lp_func_enter(late) == (const void *)new_impl, "a late function starts patched");
    lp_func_exit(late);
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("transition completes", settle(), 0);
    check(lp_func_enter(late) == (const void *)old_impl, "... and is unpatched with its patch");
    lp_func_exit(late);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);

    /* A patch with only a name that never registers still enables. */
    p = make("parity-byname-only", 0, NULL);
    check_rc("lp_patch_enable(empty patch)", lp_patch_enable(p), -EINVAL);
    check_rc("lp_patch_add_func_by_name(never registered)", lp_patch_add_func_by_name(p, "parity-never", new_impl), 0);
    check_rc("lp_patch_enable(only a pending name)", lp_patch_enable(p), 0);
    check_rc("transition completes", settle(), 0);
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("transition completes", settle(), 0);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);
}

/* Callbacks that call the patcher back: they must get -EBUSY, never hang. */
static struct {
    lp_patch_t *self, *other;
    int enable_self, enable_other, disable_self, destroy_self, set_cb_self, add_state_self, set_cb_other;
    int other_thread, post_disable;
    int state_get, try_complete, post_patch_calls;
} reentry;

static void *enable_other_thread(void *arg)
{
    (void)arg;
    reentry.other_thread = lp_patch_enable(reentry.other);
    return NULL;
}

static int reentrant_pre_patch(lp_patch_t *p, void *ctx)
{
    (void)ctx;
    static const lp_callbacks_t none;
    reentry.enable_self = lp_patch_enable(p);
    reentry.enable_other = lp_patch_enable(reentry.other);
    reentry.disable_self = lp_patch_disable(p);
    reentry.destroy_self = lp_patch_destroy(p);
    reentry.set_cb_self = lp_patch_set_callbacks(p, &none, NULL);
    reentry.add_state_self = lp_patch_add_state(p, 5, 1, NULL);
    reentry.set_cb_other = lp_patch_set_callbacks(reentry.other, &none, NULL);
    reentry.state_get = lp_state_get(12345, NULL, NULL);
    reentry.try_complete = lp_transition_try_complete();
    pthread_t t;
    pthread_create(&t, NULL, enable_other_thread, NULL);
    pthread_join(t, NULL);
    return 0;
}

static void reentrant_post_patch(lp_patch_t *p, void *ctx)
{
    (void)ctx;
    reentry.post_patch_calls++;
    reentry.post_disable = lp_patch_disable(p);
}

static void check_reentry(lp_func_t *f)
{
    static const lp_callbacks_t cb = {reentrant_pre_patch, reentrant_post_patch, NULL, NULL};
    reentry.self = make("parity-reentry", 0, f);
    reentry.other = make("parity-reentry-other", 0, f);
    check_rc("lp_patch_set_callbacks", lp_patch_set_callbacks(reentry.self, &cb, NULL), 0);
    check_rc("lp_patch_enable (callbacks call back)", lp_patch_enable(reentry.self), 0);
    check_rc("transition completes", settle(), 0);
    check_rc("pre_patch: lp_patch_enable(itself)", reentry.enable_self, -EBUSY);
    check_rc("pre_patch: lp_patch_enable(another)", reentry.enable_other, -EBUSY);
    check_rc("pre_patch: lp_patch_disable(itself)", reentry.disable_self, -EBUSY);
    check_rc("pre_patch: lp_patch_destroy(itself)", reentry.destroy_self, -EBUSY);
    check_rc("pre_patch: lp_patch_set_callbacks(itself)", reentry.set_cb_self, -EBUSY);
    check_rc("pre_patch: lp_patch_add_state(itself)", reentry.add_state_self, -EBUSY);
    check_rc("pre_patch: lp_patch_set_callbacks(another patch) works", reentry.set_cb_other, 0);
    check_rc("pre_patch: lp_state_get works", reentry.state_get, -ENOENT);
    check_rc("pre_patch: lp_transition_try_complete (nothing in flight)", reentry.try_complete, 1);
    check_rc("pre_patch: lp_patch_enable(another) on another thread", reentry.other_thread, -EBUSY);
    check_rc("post_patch: lp_patch_disable(itself)", reentry.post_disable, -EBUSY);
    check_rc("post_patch ran once", reentry.post_patch_calls, 1);
    check_rc("lp_patch_disable after the callbacks", lp_patch_disable(reentry.self), 0);
    check_rc("transition completes", settle(), 0);
    check_rc("lp_patch_destroy", lp_patch_destroy(reentry.self), 0);
    check_rc("lp_patch_destroy", lp_patch_destroy(reentry.other), 0);
}

/* Many threads drive one completion: post_patch still runs once. The
 * parked thread spins (yielding) inside the function until released. */
static atomic_int parked_inside, parked_release;
static int post_patch_calls, waits_ok;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void parked_impl(void)
{
    atomic_store(&parked_inside, 1);
    while (!atomic_load(&parked_release))
        sched_yield();
}

static void *parked_thread(void *arg)
{
    lp_func_t *f = arg;
    ((void (*)(void))lp_func_enter(f))();
    lp_func_exit(f);
    return NULL;
}

static void *waiter_thread(void *arg)
{
    (void)arg;
    int rc = lp_transition_wait(0);
    pthread_mutex_lock(&count_lock);
    waits_ok += rc == 0;
    pthread_mutex_unlock(&count_lock);
    return NULL;
}

static void counting_post_patch(lp_patch_t *p, void *ctx)
{
    (void)p;
    (void)ctx;
    pthread_mutex_lock(&count_lock);
    post_patch_calls++;
    pthread_mutex_unlock(&count_lock);
}

static void check_completion_once(void)
{
    enum { WAITERS = 8 };
    static const lp_callbacks_t cb = {NULL, counting_post_patch, NULL, NULL};
    lp_func_t *f = lp_func_register("parity-parked", parked_impl);
    lp_patch_t *p = make("parity-once", 0, f);
    check_rc("lp_patch_set_callbacks", lp_patch_set_callbacks(p, &cb, NULL), 0);
    pthread_t parked, waiters[WAITERS];
    pthread_create(&parked, NULL, parked_thread, f);
    while (!atomic_load(&parked_inside))
        sched_yield();
    check_rc("lp_patch_enable with a thread inside the function", lp_patch_enable(p), 0);
    check_rc("the transition is pending", lp_transition_try_complete(), 0);
    for (int i = 0; i < WAITERS; i++)
        pthread_create(&waiters[i], NULL, waiter_thread, NULL);
    atomic_store(&parked_release, 1);
    pthread_join(parked, NULL);
    for (int i = 0; i < WAITERS; i++)
        pthread_join(waiters[i], NULL);
    check_rc("every waiter saw the completion", waits_ok, WAITERS);
    check_rc("post_patch ran exactly once", post_patch_calls, 1);
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("transition completes", settle(), 0);
    check_rc("post_patch did not run for the disable", post_patch_calls, 1);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);
}

/* A late function registered while a transition that changes it runs joins
 * that transition: a thread whose kernel section predates it keeps the old
 * universe, for the late function too (KGRAFT), while a fresh activation
 * gets the new one. */
static volatile int late_ran;
static void late_old(void) { late_ran = 1; }
static void late_new(void) { late_ran = 2; }
static atomic_int joiner_inside, joiner_go;
static const void *joiner_got;

static void *joiner_thread(void *arg)
{
    (void)arg;
    lp_thread_register("parity-joiner");
    lp_kernel_enter();
    atomic_store(&joiner_inside, 1);
    while (!atomic_load(&joiner_go))
        sched_yield();
    joiner_got = lp_func_enter(lp_func_lookup("parity-join-late"));
    lp_func_exit(lp_func_lookup("parity-join-late"));
    lp_kernel_exit();
    return NULL;
}

static void check_late_joins_transition(void)
{
    lp_func_t *a = lp_func_register("parity-join-a", old_impl);
    lp_patch_t *p = lp_patch_create("parity-join", LP_MODEL_KGRAFT, 0);
    check(a != NULL && p != NULL, "late join: function and patch");
    check_rc("late join: lp_patch_add_func", lp_patch_add_func(p, a, new_impl), 0);
    check_rc("late join: lp_patch_add_func_by_name", lp_patch_add_func_by_name(p, "parity-join-late", late_new), 0);
    pthread_t t;
    pthread_create(&t, NULL, joiner_thread, NULL);
    while (!atomic_load(&joiner_inside))
        sched_yield();
    check_rc("late join: enable", lp_patch_enable(p), 0);
    check_rc("late join: pending while the old kernel section runs", lp_transition_try_complete(), 0);
    lp_func_t *late = lp_func_register("parity-join-late", late_old);
    check(late != NULL, "late join: the late function registers during the transition");
    const void *fresh = lp_func_enter(late);
    lp_func_exit(late);
    check(fresh == (const void *)late_new, "late join: a new activation gets its new implementation");
    atomic_store(&joiner_go, 1);
    pthread_join(t, NULL);
    check(joiner_got == (const void *)late_old,
          "late join: the thread still in the old universe gets its old implementation (no old/new mix)");
    check_rc("late join: completes", settle(), 0);
    const void *after = lp_func_enter(late);
    lp_func_exit(late);
    check(after == (const void *)late_new, "late join: after completion, the new implementation");
    check_rc("late join: disable", lp_patch_disable(p), 0);
    check_rc("late join: completes", settle(), 0);
    after = lp_func_enter(late);
    lp_func_exit(late);
    check(after == (const void *)late_old, "late join: unpatched, the old implementation");
    check_rc("late join: destroy", lp_patch_destroy(p), 0);
}

int main(void)
{
    lp_func_t *f = lp_func_register("parity-f", old_impl);
    check(f != NULL, "lp_func_register(parity-f)");
    check_rc("lp_set_log_handler(NULL)", lp_set_log_handler(NULL, NULL), 0);
    check_create_flags();
    check_set_callbacks(f);
    check_states(f);
    check_by_name(f);
    check_reentry(f);
    check_completion_once();
    check_late_joins_transition();
    return check_summary();
}
