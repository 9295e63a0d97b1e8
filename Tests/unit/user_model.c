/*
 * user_model.c — user-defined consistency models through the C ABI:
 * lp_model_register's errors, lp_model_describe for presets, cells and
 * registered models, and the worked example (Examples/models/
 * deadline_reverse.c) deciding a pending transition: a thread asleep inside
 * the patched function past the deadline makes the enable reverse itself;
 * without one the patch goes on. A model that forces is checked the same way.
 *
 * Deterministic: the sleeper is released by the test, never by a timer; the
 * waits' timeouts are "did not hang" bounds. Ends with "N passed, N failed".
 */
#include <livepatch.h>
#include "check.h"
#include "deadline_reverse.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)

enum { V_OLD = 1, V_NEW = 2 };
typedef void (*impl_t)(int *);
static void impl_old(int *v) { *v = V_OLD; }
static void impl_new(int *v) { *v = V_NEW; }
#define IMPL(fn) ((const void *)(fn))

static lp_func_t *f;
static sem_t inside, release;

static int call_f(void)
{
    int v = 0;
    LP_CALL(f, impl_t, &v);
    return v;
}

/* Enters f and stays inside (in the universe of the moment) until released. */
static void *sleeper(void *arg)
{
    (void)arg;
    lp_thread_register("sleeper");
    impl_t impl = (impl_t)lp_func_enter(f);
    int v;
    impl(&v);
    sem_post(&inside);
    sem_wait(&release);
    lp_func_exit(f);
    return NULL;
}

static int force_pending(const lp_transition_progress_t *p, uint64_t *recheck, void *ctx)
{
    ++*(int *)ctx;
    *recheck = MS; /* the second check comes without any thread's progress */
    return p->checks >= 2 ? LP_PENDING_FORCE : LP_PENDING_WAIT;
}

static void registration(void)
{
    lp_model_ops_t ops = {.name = "m", .counts = LP_LEAVE_PATCHED_SET, .switches = LP_SWITCH_THREAD};
    errno = 0;
    check(lp_model_register(NULL) == LP_MODEL_INVALID && errno == EINVAL, "lp_model_register(NULL): EINVAL");
    ops.name = NULL;
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EINVAL, "NULL name: EINVAL");
    ops.name = "";
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EINVAL, "empty name: EINVAL");
    ops.name = "a-name-of-thirty-two-bytes-xxxxx";
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EINVAL, "name of LP_MODEL_NAME_MAX bytes: EINVAL");
    ops.name = "m";
    ops.counts = (lp_leave_t)3;
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EINVAL, "counts out of range: EINVAL");
    ops.counts = LP_LEAVE_PATCHED_SET;
    ops.switch_points = 0x800;
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EINVAL, "unknown switch point: EINVAL");
    ops.switch_points = 0;
    ops.name = "KGRAFT";
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EEXIST, "a preset's name: EEXIST");

    lp_model_t dr = deadline_reverse_model(30 * MS);
    check(dr != LP_MODEL_INVALID && dr >= LP_MODEL_USER_BASE, "the example model registers");
    check(deadline_reverse_model(30 * MS) == dr, "... once");
    lp_model_info_t info;
    check_rc("lp_model_describe(example)", lp_model_describe(dr, &info), 0);
    check(strcmp(info.name, "DEADLINE_REVERSE") == 0 && info.user == 1 && info.counts == LP_LEAVE_PATCHED_SET
              && info.switches == LP_SWITCH_THREAD && info.switch_points == 0,
          "... name, counts, switches, switch points, user");
    ops.name = "DEADLINE_REVERSE";
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EEXIST, "a registered model's name: EEXIST");

    check_rc("lp_model_describe(KPATCH)", lp_model_describe(LP_MODEL_KPATCH, &info), 0);
    check(strcmp(info.name, "KPATCH") == 0 && info.user == 0 && info.counts == LP_LEAVE_PATCHED_SET
              && info.switches == LP_SWITCH_KERNEL, "... preset name and cell");
    check_rc("lp_model_describe(UPSTREAM)", lp_model_describe(LP_MODEL_UPSTREAM, &info), 0);
    check(info.switch_points == LP_MODEL_F_KERNEL_EXIT_SWITCHES, "... switch point");
    check_rc("lp_model_describe(KERNEL x FUNCTION)",
             lp_model_describe(lp_model(LP_LEAVE_KERNEL, LP_SWITCH_FUNCTION), &info), 0);
    check(strcmp(info.name, "KERNEL x FUNCTION") == 0, "... a cell's name");
    check_rc("lp_model_describe(unknown user id)", lp_model_describe(dr + 1, &info), -EINVAL);
    check_rc("lp_model_describe(LP_MODEL_INVALID)", lp_model_describe(LP_MODEL_INVALID, &info), -EINVAL);
    check_rc("lp_model_describe(NULL out)", lp_model_describe(LP_MODEL_KGRAFT, NULL), -EINVAL);
    errno = 0;
    check(lp_patch_create("unknown-model", dr + 1, 0) == NULL && errno == EINVAL,
          "lp_patch_create with an unregistered id: EINVAL");

    /* Fill the table: ids are handed out in order from LP_MODEL_USER_BASE. */
    lp_model_t last = dr;
    char name[16];
    for (int i = 0; last != LP_MODEL_INVALID && last < LP_MODEL_USER_BASE + LP_MAX_USER_MODELS - 1; i++) {
        snprintf(name, sizeof name, "fill-%d", i);
        ops.name = name;
        last = lp_model_register(&ops);
    }
    check(last == LP_MODEL_USER_BASE + LP_MAX_USER_MODELS - 1, "LP_MAX_USER_MODELS models register");
    ops.name = "one-too-many";
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == ENOMEM, "one more: ENOMEM");
}

/* Enables p while a sleeper is inside f; returns lp_transition_wait's result. */
static int enable_with_sleeper(lp_patch_t *p, pthread_t *t)
{
    pthread_create(t, NULL, sleeper, NULL);
    sem_wait(&inside);
    int rc = lp_patch_enable(p);
    if (rc)
        return rc;
    return lp_transition_wait(HANG_BOUND);
}

static void deadline_reverses(void)
{
    lp_transition_status_t before, after;
    lp_patch_t *p = lp_patch_create("deadline", deadline_reverse_model(30 * MS), 0);
    check(p != NULL, "a patch with the example model");
    check_rc("lp_patch_add_func", lp_patch_add_func(p, f, IMPL(impl_new)), 0);

    lp_transition_status(&before);
    pthread_t t;
    check_rc("a sleeper inside f past the deadline: the transition ends", enable_with_sleeper(p, &t), 0);
    lp_transition_status(&after);
    check(after.reversed == before.reversed + 1 && after.forced == before.forced,
          "... reversed by the model, once, not forced");
    check(call_f() == V_OLD, "... f runs its old implementation");
    check_rc("... the patch is not enabled (disable: EINVAL)", lp_patch_disable(p), -EINVAL);
    sem_post(&release);
    pthread_join(t, NULL);

    check_rc("no sleeper: enable", lp_patch_enable(p), 0);
    check_rc("... completes", lp_transition_wait(HANG_BOUND), 0);
    check(call_f() == V_NEW, "... f runs its new implementation");
    check_rc("disable", lp_patch_disable(p), 0);
    check_rc("... completes", lp_transition_wait(HANG_BOUND), 0);
    check_rc("destroy", lp_patch_destroy(p), 0);
}

int main(void)
{
    sem_init(&inside, 0, 0);
    sem_init(&release, 0, 0);
    lp_thread_register("main");
    f = lp_func_register("f", IMPL(impl_old));
    check(f != NULL, "lp_func_register(f)");

    /* Registered before registration() fills the table. */
    int calls = 0;
    lp_model_ops_t forcing = {.name = "FORCE_AT_SECOND_CHECK", .counts = LP_LEAVE_PATCHED_SET,
                              .switches = LP_SWITCH_THREAD, .pending = force_pending, .ctx = &calls};
    lp_model_t fm = lp_model_register(&forcing);
    check(fm != LP_MODEL_INVALID, "a model that forces registers");

    registration();
    deadline_reverses();

    lp_transition_status_t before, after;
    lp_patch_t *p = lp_patch_create("forced", fm, 0);
    lp_patch_add_func(p, f, IMPL(impl_new));
    lp_transition_status(&before);
    pthread_t t;
    check_rc("a sleeper inside f: the forcing model's transition ends", enable_with_sleeper(p, &t), 0);
    lp_transition_status(&after);
    check(after.forced == before.forced + 1 && after.reversed == before.reversed, "... forced by the model, once");
    check(calls == 2, "... pending() was asked twice, with ctx");
    check(call_f() == V_NEW, "... f runs its new implementation");
    sem_post(&release);
    pthread_join(t, NULL);
    return check_summary();
}
