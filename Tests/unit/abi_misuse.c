/*
 * abi_misuse.c — every documented error of livepatch.h, provoked on purpose.
 *
 * The ABI promises that misuse is answered with an error, never with a crash
 * or silent corruption (docs/DESIGN.md section 4). Each check below calls the API
 * the wrong way and compares the answer with the one livepatch.h documents.
 * Prints one line per check and ends with "N passed, N failed"; exits non-zero
 * if any check failed.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>


static void old_impl(void) {}
static void new_impl(void) {}
static void newer_impl(void) {}

/* A thread parked inside a kernel section that started before the
 * transition: under kGraft's model it blocks the transition until released. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int step; /* 1: inside the section, 2: may leave it */
} sleeper = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void sleeper_step(int step)
{
    pthread_mutex_lock(&sleeper.lock);
    sleeper.step = step;
    pthread_cond_broadcast(&sleeper.cond);
    pthread_mutex_unlock(&sleeper.lock);
}

static void sleeper_wait(int step)
{
    pthread_mutex_lock(&sleeper.lock);
    while (sleeper.step < step)
        pthread_cond_wait(&sleeper.cond, &sleeper.lock);
    pthread_mutex_unlock(&sleeper.lock);
}

static void *sleeper_main(void *arg)
{
    (void)arg;
    lp_kernel_enter();
    sleeper_step(1);
    sleeper_wait(2);
    lp_kernel_exit();
    return NULL;
}

/* A thread that exits with one unbalanced exit of each kind, registered
 * first or with an exit as its very first hook. */
struct unbalanced_thread {
    lp_func_t *f;
    int registered;
};

static void *unbalanced_main(void *arg)
{
    struct unbalanced_thread *u = arg;
    if (u->registered)
        (void)lp_thread_register("unbalanced");
    lp_func_exit(u->f);
    lp_kernel_exit();
    return NULL;
}

static void check_exited_unbalanced(lp_func_t *f, int registered, const char *what)
{
    lp_transition_status_t before, after;
    struct unbalanced_thread u = {f, registered};
    pthread_t t;
    (void)lp_transition_status(&before);
    pthread_create(&t, NULL, unbalanced_main, &u);
    pthread_join(t, NULL);
    (void)lp_transition_status(&after);
    char line[256];
    snprintf(line, sizeof line, "%s (unbalanced_exits +%llu, want +2)", what,
             (unsigned long long)(after.unbalanced_exits - before.unbalanced_exits));
    check(after.unbalanced_exits == before.unbalanced_exits + 2, line);
}

static void check_library_and_models(void)
{
    check_rc("lp_abi_version() == LP_ABI_VERSION", lp_abi_version(), LP_ABI_VERSION);

    /* The presets are expressions of type lp_model_t (docs/DESIGN.md section 2). */
    lp_model_t presets[] = {LP_MODEL_IMMEDIATE, LP_MODEL_KGRAFT, LP_MODEL_KPATCH,
                            LP_MODEL_UPSTREAM,  LP_MODEL_HIRAMATSU, LP_MODEL_RENEW};
    lp_model_t m = LP_MODEL_KGRAFT;
    check(m == presets[1] && m == lp_model(LP_LEAVE_KERNEL, LP_SWITCH_THREAD),
          "lp_model_t m = LP_MODEL_KGRAFT compiles and equals lp_model(KERNEL, THREAD)");
    check(lp_model(LP_LEAVE_FUNCTION, LP_SWITCH_FUNCTION) == presets[0] &&
              lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_KERNEL) == presets[2] &&
              (lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD) | LP_MODEL_F_KERNEL_EXIT_SWITCHES) == presets[3] &&
              (lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_KERNEL) | LP_MODEL_F_ARM_AT_KERNEL_EXIT) == presets[4] &&
              lp_model(LP_LEAVE_KERNEL, LP_SWITCH_KERNEL) == presets[5],
          "every preset is its lp_model() cell plus its extras (docs/DESIGN.md section 2)");
    check(lp_model((lp_leave_t)3, LP_SWITCH_THREAD) == LP_MODEL_INVALID, "lp_model(leave 3, THREAD) == LP_MODEL_INVALID");
    check(lp_model(LP_LEAVE_KERNEL, (lp_switch_t)3) == LP_MODEL_INVALID, "lp_model(KERNEL, switch 3) == LP_MODEL_INVALID");
    check(lp_model((lp_leave_t)-1, (lp_switch_t)-1) == LP_MODEL_INVALID, "lp_model(-1, -1) == LP_MODEL_INVALID");
}

static void check_strerror(void)
{
    /* The errnos the API returns: each has its own name, for the negative
     * value the API returns and for the positive errno alike. */
    const int codes[] = {EINVAL, ENOENT, EEXIST, EBUSY, ETIMEDOUT, ENOMEM, EDEADLK};
    const char *names[] = {"EINVAL", "ENOENT", "EEXIST", "EBUSY", "ETIMEDOUT", "ENOMEM", "EDEADLK"};
    const int n = sizeof codes / sizeof codes[0];
    const char *unknown = lp_strerror(123456);
    check(unknown != NULL, "lp_strerror(123456) is not NULL");
    for (int i = 0; i < n; i++) {
        const char *neg = lp_strerror(-codes[i]), *pos = lp_strerror(codes[i]);
        char what[128];
        snprintf(what, sizeof what, "lp_strerror(-%s) names it (\"%s\")", names[i], neg ? neg : "NULL");
        int distinct = neg != NULL && strcmp(neg, "unknown error") != 0 && unknown != NULL && strcmp(neg, unknown) != 0;
        for (int j = 0; j < i; j++)
            distinct = distinct && strcmp(neg, lp_strerror(-codes[j])) != 0;
        check(distinct && pos != NULL && strcmp(neg, pos) == 0, what);
    }
}

static void check_threads(lp_func_t *f)
{
    check_rc("lp_thread_register(\"misuse\")", lp_thread_register("misuse"), 0);
    check_rc("lp_thread_register twice: -EEXIST", lp_thread_register("again"), -EEXIST);

    lp_kernel_enter();
    check_rc("lp_thread_unregister inside a kernel section: -EBUSY", lp_thread_unregister(), -EBUSY);
    lp_kernel_exit();
    (void)lp_func_enter(f);
    check_rc("lp_thread_unregister inside a hooked function: -EBUSY", lp_thread_unregister(), -EBUSY);
    lp_func_exit(f);

    check_rc("lp_thread_unregister", lp_thread_unregister(), 0);
    check_rc("lp_thread_unregister twice: -ENOENT", lp_thread_unregister(), -ENOENT);
    check_rc("lp_thread_register after unregistering", lp_thread_register("misuse"), 0);
}

static void check_functions(lp_func_t *f)
{
    EXPECT_NULL("lp_func_register(NULL, impl): EINVAL", lp_func_register(NULL, (const void *)old_impl), EINVAL);
    EXPECT_NULL("lp_func_register(name, NULL): EINVAL", lp_func_register("null-impl", NULL), EINVAL);
    EXPECT_NULL("lp_func_register same name twice: EEXIST", lp_func_register("f", (const void *)new_impl), EEXIST);
    EXPECT_NULL("lp_func_lookup(NULL): EINVAL", lp_func_lookup(NULL), EINVAL);
    EXPECT_NULL("lp_func_lookup(unknown name): ENOENT", lp_func_lookup("no-such-function"), ENOENT);
    check(lp_func_lookup("f") == f, "lp_func_lookup(\"f\") finds f");
    EXPECT_NULL("lp_func_enter(NULL): EINVAL", lp_func_enter(NULL), EINVAL);

    uint64_t entries, exits;
    /* Handles that are not registered functions: a local object, and a
     * pointer into the middle of a real record. Neither may be dereferenced. */
    _Alignas(64) char local[128] = {0};
    lp_func_t *foreign = (lp_func_t *)local;
    lp_func_t *inside = (lp_func_t *)((char *)f + 8);
    check_rc("lp_func_counts(NULL, ...): -EINVAL", lp_func_counts(NULL, &entries, &exits), -EINVAL);
    check_rc("lp_func_counts(f, NULL, ...): -EINVAL", lp_func_counts(f, NULL, &exits), -EINVAL);
    check_rc("lp_func_counts(f, ..., NULL): -EINVAL", lp_func_counts(f, &entries, NULL), -EINVAL);
    check_rc("lp_func_counts(local object): -ENOENT", lp_func_counts(foreign, &entries, &exits), -ENOENT);
    check_rc("lp_func_counts(pointer inside a record): -ENOENT", lp_func_counts(inside, &entries, &exits), -ENOENT);
}

static void check_unbalanced(lp_func_t *f)
{
    lp_transition_status_t before, after;
    uint64_t entries0, exits0, entries1, exits1;
    check_rc("lp_transition_status(NULL): -EINVAL", lp_transition_status(NULL), -EINVAL);
    check_rc("lp_transition_status", lp_transition_status(&before), 0);
    check_rc("lp_func_counts(f)", lp_func_counts(f, &entries0, &exits0), 0);

    lp_func_exit(f);
    lp_func_exit(f);
    lp_kernel_exit();
    (void)lp_transition_status(&after);
    check(after.unbalanced_exits == before.unbalanced_exits + 3,
          "unbalanced lp_func_exit x2 and lp_kernel_exit x1 counted in unbalanced_exits");
    /* A NULL handle has no entry to match either; it must not crash. */
    lp_func_exit(NULL);
    (void)lp_func_counts(f, &entries1, &exits1);
    check(entries1 == entries0 && exits1 == exits0 && exits1 <= entries1,
          "unbalanced exits leave f's entries and exits unchanged (never negative)");
    /* The depths did not wrap below zero: the thread is outside everything. */
    check_rc("lp_thread_unregister after unbalanced exits (depths stayed 0)", lp_thread_unregister(), 0);
    check_rc("lp_thread_register again", lp_thread_register("misuse"), 0);
    lp_kernel_enter();
    lp_kernel_exit();
    check_rc("a balanced kernel section after unbalanced exits leaves depth 0", lp_thread_unregister(), 0);
    check_rc("lp_thread_register again", lp_thread_register("misuse"), 0);

    /* Unbalanced exits of a thread that has exited still count, and so do
     * exits that are a thread's first hook (they have no entry to match). */
    check_exited_unbalanced(f, 1, "unbalanced exits of an exited registered thread stay in unbalanced_exits");
    check_exited_unbalanced(f, 0, "exits as a new thread's first hooks are counted in unbalanced_exits");
}

static void check_settings(void)
{
    check_rc("lp_set_nudge_signal(-1): -EINVAL", lp_set_nudge_signal(-1), -EINVAL);
    check_rc("lp_set_nudge_signal(SIGRTMAX + 1): -EINVAL", lp_set_nudge_signal(SIGRTMAX + 1), -EINVAL);
    check_rc("lp_set_nudge_signal(SIGUSR1)", lp_set_nudge_signal(SIGUSR1), 0);
    check_rc("lp_set_nudge_signal(0) turns nudges off", lp_set_nudge_signal(0), 0);
    check_rc("lp_set_switch_policy(0, 5 ms): -EINVAL", lp_set_switch_policy(0, 5000000), -EINVAL);
    check_rc("lp_set_switch_policy(2 ms, 0): -EINVAL", lp_set_switch_policy(2000000, 0), -EINVAL);
    check_rc("lp_set_switch_policy(2 s, 5 ms): -EINVAL", lp_set_switch_policy(2000000000ull, 5000000), -EINVAL);
    check_rc("lp_set_switch_policy(2 ms, 2 s): -EINVAL", lp_set_switch_policy(2000000, 2000000000ull), -EINVAL);
    check_rc("lp_set_switch_policy(2 ms, 5 ms)", lp_set_switch_policy(2000000, 5000000), 0);
    check_rc("lp_transition_for_each_stalled(NULL, ...): -EINVAL", lp_transition_for_each_stalled(NULL, NULL), -EINVAL);
}

static void check_no_transition(void)
{
    check_rc("lp_transition_reverse with no transition: -EINVAL", lp_transition_reverse(), -EINVAL);
    check_rc("lp_transition_force with no transition: -EINVAL", lp_transition_force(), -EINVAL);
    check_rc("lp_transition_try_complete with no transition: 1", lp_transition_try_complete(), 1);
    check_rc("lp_transition_wait with no transition: 0", lp_transition_wait(1000000000ull), 0);
}

static void check_patch_creation(lp_func_t *f, lp_func_t *g)
{
    EXPECT_NULL("lp_patch_create(NULL, ...): EINVAL", lp_patch_create(NULL, LP_MODEL_KGRAFT, 0), EINVAL);
    EXPECT_NULL("lp_patch_create(LP_MODEL_INVALID): EINVAL", lp_patch_create("x", LP_MODEL_INVALID, 0), EINVAL);
    EXPECT_NULL("lp_patch_create(leave 3): EINVAL", lp_patch_create("x", 0x3, 0), EINVAL);
    EXPECT_NULL("lp_patch_create(switch 3): EINVAL", lp_patch_create("x", 0x30, 0), EINVAL);
    EXPECT_NULL("lp_patch_create(unknown model extra 0x400): EINVAL",
                lp_patch_create("x", LP_MODEL_KGRAFT | 0x400u, 0), EINVAL);
    /* parity: 0x1 is LP_PATCH_REPLACE; any other bit is unknown */
    EXPECT_NULL("lp_patch_create(unknown flag 0x2): EINVAL", lp_patch_create("x", LP_MODEL_KGRAFT, 0x2), EINVAL);
    EXPECT_NULL("lp_patch_create(flags 0x80000000): EINVAL", lp_patch_create("x", LP_MODEL_KGRAFT, 0x80000000u), EINVAL);

    lp_patch_t *p = lp_patch_create("p", LP_MODEL_KGRAFT, 0);
    check(p != NULL, "lp_patch_create(\"p\", KGRAFT, 0)");
    EXPECT_NULL("lp_patch_create same name twice: EEXIST", lp_patch_create("p", LP_MODEL_KPATCH, 0), EEXIST);

    /* Handles that are not live patches: a local object, and a pointer into
     * the middle of a real handle. */
    _Alignas(64) char local[64] = {0};
    lp_patch_t *foreign = (lp_patch_t *)local;
    lp_patch_t *inside = (lp_patch_t *)((char *)p + 4);
    lp_func_t *nofunc = (lp_func_t *)local;
    const void *impl = (const void *)new_impl;

    check_rc("lp_patch_add_func(NULL, f, impl): -EINVAL", lp_patch_add_func(NULL, f, impl), -EINVAL);
    check_rc("lp_patch_add_func(p, NULL, impl): -EINVAL", lp_patch_add_func(p, NULL, impl), -EINVAL);
    check_rc("lp_patch_add_func(p, f, NULL): -EINVAL", lp_patch_add_func(p, f, NULL), -EINVAL);
    check_rc("lp_patch_add_func(local patch object): -ENOENT", lp_patch_add_func(foreign, f, impl), -ENOENT);
    check_rc("lp_patch_add_func(pointer inside a handle): -ENOENT", lp_patch_add_func(inside, f, impl), -ENOENT);
    check_rc("lp_patch_add_func(p, local function object): -ENOENT", lp_patch_add_func(p, nofunc, impl), -ENOENT);
    check_rc("lp_patch_extend_set(NULL, g): -EINVAL", lp_patch_extend_set(NULL, g), -EINVAL);
    check_rc("lp_patch_extend_set(p, NULL): -EINVAL", lp_patch_extend_set(p, NULL), -EINVAL);
    check_rc("lp_patch_extend_set(local patch object): -ENOENT", lp_patch_extend_set(foreign, g), -ENOENT);
    check_rc("lp_patch_extend_set(p, local function object): -ENOENT", lp_patch_extend_set(p, nofunc), -ENOENT);

    check_rc("lp_patch_enable(NULL): -EINVAL", lp_patch_enable(NULL), -EINVAL);
    check_rc("lp_patch_enable(local patch object): -ENOENT", lp_patch_enable(foreign), -ENOENT);
    check_rc("lp_patch_enable(empty patch): -EINVAL", lp_patch_enable(p), -EINVAL);
    check_rc("lp_patch_disable(NULL): -EINVAL", lp_patch_disable(NULL), -EINVAL);
    check_rc("lp_patch_disable(local patch object): -ENOENT", lp_patch_disable(foreign), -ENOENT);
    check_rc("lp_patch_disable(a disabled patch): -EINVAL", lp_patch_disable(p), -EINVAL);
    check_rc("lp_patch_destroy(NULL): -EINVAL", lp_patch_destroy(NULL), -EINVAL);
    check_rc("lp_patch_destroy(local patch object): -ENOENT", lp_patch_destroy(foreign), -ENOENT);
    check_rc("lp_patch_destroy(pointer inside a handle): -ENOENT", lp_patch_destroy(inside), -ENOENT);

    check_rc("lp_patch_add_func(p, f, new)", lp_patch_add_func(p, f, impl), 0);
    check_rc("lp_patch_add_func(p, f) again: -EEXIST", lp_patch_add_func(p, f, (const void *)newer_impl), -EEXIST);
    check_rc("lp_patch_extend_set(p, f) when f is replaced by p: -EEXIST", lp_patch_extend_set(p, f), -EEXIST);
    check_rc("lp_patch_extend_set(p, g)", lp_patch_extend_set(p, g), 0);
    check_rc("lp_patch_extend_set(p, g) again: -EEXIST", lp_patch_extend_set(p, g), -EEXIST);

    /* A destroyed handle is unknown from then on. */
    check_rc("lp_patch_destroy(a disabled patch)", lp_patch_destroy(p), 0);
    check_rc("lp_patch_destroy(destroyed patch): -ENOENT", lp_patch_destroy(p), -ENOENT);
    check_rc("lp_patch_enable(destroyed patch): -ENOENT", lp_patch_enable(p), -ENOENT);
    check_rc("lp_patch_disable(destroyed patch): -ENOENT", lp_patch_disable(p), -ENOENT);
    check_rc("lp_patch_add_func(destroyed patch): -ENOENT", lp_patch_add_func(p, f, impl), -ENOENT);
    check_rc("lp_patch_extend_set(destroyed patch): -ENOENT", lp_patch_extend_set(p, g), -ENOENT);
}

static void check_transitions(lp_func_t *f, lp_func_t *g)
{
    lp_patch_t *a = lp_patch_create("a", LP_MODEL_KGRAFT, 0);
    lp_patch_t *b = lp_patch_create("b", LP_MODEL_KGRAFT, 0);
    lp_patch_t *c = lp_patch_create("c", LP_MODEL_KGRAFT, 0);
    check(a && b && c, "lp_patch_create a, b, c (KGRAFT)");
    check_rc("lp_patch_add_func(a, f)", lp_patch_add_func(a, f, (const void *)new_impl), 0);
    check_rc("lp_patch_add_func(b, f)", lp_patch_add_func(b, f, (const void *)newer_impl), 0);
    check_rc("lp_patch_add_func(c, g)", lp_patch_add_func(c, g, (const void *)new_impl), 0);

    /* Hold a's transition open with a thread inside an old kernel section. */
    pthread_t t;
    pthread_create(&t, NULL, sleeper_main, NULL);
    sleeper_wait(1);
    check_rc("lp_patch_enable(a) with a sleeper in the kernel", lp_patch_enable(a), 0);
    check_rc("lp_transition_try_complete: 0 while the sleeper blocks", lp_transition_try_complete(), 0);
    check_rc("lp_transition_wait(50 ms): -ETIMEDOUT", lp_transition_wait(50000000), -ETIMEDOUT);
    check_rc("lp_patch_enable(b) while a transition runs: -EBUSY", lp_patch_enable(b), -EBUSY);
    check_rc("lp_patch_enable(a) while its own transition runs: -EBUSY", lp_patch_enable(a), -EBUSY);
    check_rc("lp_patch_disable(a) while its transition runs: -EBUSY", lp_patch_disable(a), -EBUSY);
    check_rc("lp_patch_destroy(a) in transition: -EBUSY", lp_patch_destroy(a), -EBUSY);
    check_rc("lp_patch_add_func(a, g) in transition: -EBUSY", lp_patch_add_func(a, g, (const void *)new_impl), -EBUSY);
    check_rc("lp_patch_extend_set(a, g) in transition: -EBUSY", lp_patch_extend_set(a, g), -EBUSY);

    /* The patcher must not wait for itself. */
    lp_kernel_enter();
    check_rc("lp_transition_wait inside a kernel section: -EDEADLK", lp_transition_wait(1000000000ull), -EDEADLK);
    check_rc("lp_transition_try_complete inside a kernel section: -EDEADLK", lp_transition_try_complete(), -EDEADLK);
    lp_kernel_exit();
    (void)lp_func_enter(g);
    check_rc("lp_transition_wait inside a hooked function: -EDEADLK", lp_transition_wait(1000000000ull), -EDEADLK);
    check_rc("lp_transition_try_complete inside a hooked function: -EDEADLK", lp_transition_try_complete(), -EDEADLK);
    lp_func_exit(g);

    sleeper_step(2);
    pthread_join(t, NULL);
    check_rc("lp_transition_wait after the sleeper left: 0", lp_transition_wait(10000000000ull), 0);

    check_rc("lp_patch_enable(a) when enabled: -EINVAL", lp_patch_enable(a), -EINVAL);
    check_rc("lp_patch_destroy(a) when enabled: -EBUSY", lp_patch_destroy(a), -EBUSY);
    check_rc("lp_patch_add_func(a, g) when enabled: -EBUSY", lp_patch_add_func(a, g, (const void *)new_impl), -EBUSY);
    check_rc("lp_patch_extend_set(a, g) when enabled: -EBUSY", lp_patch_extend_set(a, g), -EBUSY);

    check_rc("lp_patch_enable(b) on top of a", lp_patch_enable(b), 0);
    check_rc("lp_transition_wait", lp_transition_wait(10000000000ull), 0);
    check_rc("lp_patch_enable(c) on top of b", lp_patch_enable(c), 0);
    check_rc("lp_transition_wait", lp_transition_wait(10000000000ull), 0);
    check_rc("lp_patch_disable(a), not the newest: -EBUSY", lp_patch_disable(a), -EBUSY);
    check_rc("lp_patch_disable(b), not the newest (c is): -EBUSY", lp_patch_disable(b), -EBUSY);
    check_rc("lp_patch_disable(c)", lp_patch_disable(c), 0);
    check_rc("lp_transition_wait", lp_transition_wait(10000000000ull), 0);
    check_rc("lp_patch_disable(b)", lp_patch_disable(b), 0);
    check_rc("lp_transition_wait", lp_transition_wait(10000000000ull), 0);
    check_rc("lp_patch_disable(a)", lp_patch_disable(a), 0);
    check_rc("lp_transition_wait", lp_transition_wait(10000000000ull), 0);
    check_rc("lp_patch_disable(a) again: -EINVAL", lp_patch_disable(a), -EINVAL);
    check_rc("lp_transition_reverse after completion: -EINVAL", lp_transition_reverse(), -EINVAL);
    check_rc("lp_transition_force after completion: -EINVAL", lp_transition_force(), -EINVAL);
    check(lp_patch_destroy(a) == 0 && lp_patch_destroy(b) == 0 && lp_patch_destroy(c) == 0,
          "lp_patch_destroy a, b, c once disabled");
}

static void check_patch_capacity(void)
{
    static lp_patch_t *patches[LP_MAX_PATCHES + 1];
    int made = 0;
    char name[32];
    errno = 0;
    for (; made <= LP_MAX_PATCHES; made++) {
        snprintf(name, sizeof name, "cap-%d", made);
        if (!(patches[made] = lp_patch_create(name, LP_MODEL_KGRAFT, 0)))
            break;
    }
    int err = errno;
    char what[128];
    snprintf(what, sizeof what, "lp_patch_create past LP_MAX_PATCHES: ENOMEM (made %d, errno %d)", made, err);
    check(made == LP_MAX_PATCHES && err == ENOMEM, what);
    int destroyed = 0;
    for (int i = 0; i < made; i++)
        destroyed += lp_patch_destroy(patches[i]) == 0;
    check(destroyed == made, "lp_patch_destroy every capacity patch");
}

/* Last: it uses up the function table for the rest of the process. */
static void check_function_capacity(void)
{
    lp_transition_status_t s;
    (void)lp_transition_status(&s);
    uint64_t total = s.registered_functions;
    char name[32];
    errno = 0;
    for (;;) {
        snprintf(name, sizeof name, "cap-%llu", (unsigned long long)total);
        if (!lp_func_register(name, (const void *)old_impl))
            break;
        total++;
    }
    int err = errno;
    char what[128];
    snprintf(what, sizeof what, "lp_func_register until NULL: ENOMEM after %llu functions (errno %d, want >= %d)",
             (unsigned long long)total, err, LP_MAX_FUNCS);
    check(err == ENOMEM && total >= LP_MAX_FUNCS, what);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_library_and_models();
    check_strerror();

    lp_func_t *f = lp_func_register("f", (const void *)old_impl);
    lp_func_t *g = lp_func_register("g", (const void *)old_impl);
    check(f != NULL && g != NULL, "lp_func_register f and g");

    check_threads(f);
    check_functions(f);
    check_unbalanced(f);
    check_settings();
    check_no_transition();
    check_patch_creation(f, g);
    check_transitions(f, g);
    check_patch_capacity();
    check_function_capacity();

    return check_summary();
}
