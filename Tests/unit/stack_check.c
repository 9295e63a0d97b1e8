// harness-cflags: -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
/*
 * stack_check.c — the stack-checking detector (LP_MODEL_F_STACK_CHECK) beside
 * counting, on the same threads:
 *  - the presets and lp_model_describe tell the detectors apart; a user
 *    model may choose either; stack checking is refused where it cannot work;
 *  - busy threads calling the set through the hooks: every model completes,
 *    and the new implementation runs after;
 *  - a thread asleep inside a hooked set function: every model stalls, the
 *    stall names it (in-set), and it completes once the thread leaves;
 *  - a thread asleep inside an implementation it called through a pointer
 *    (no hooks): counting cannot see it and completes; stack checking finds
 *    the frame and stalls;
 *  - a thread whose frame pointer is garbage: stack checking blocks it as
 *    unreliable;
 *  - LP_BUG_STACK_SKIP_FRAME: the walker misses the set frame just above the
 *    interrupted one, and the transition completes with the thread inside
 *    the old implementation, which this harness sees;
 *  - KPATCH_STACK, a thread that answers a stop_machine round only after the
 *    round gave up, clean, and then enters the old implementation: its
 *    answer proves nothing once it runs again. A completion check between
 *    rounds once took every last answer being clean for a switch and
 *    completed the transition with the thread inside.
 * Timeouts are "did not hang" bounds or "still pending" probes of a thread
 * that is parked inside the set: no check depends on timing.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include <livepatch/debug.h>
#include "stack_models.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


static atomic_int hold, inside, stop, calls;
static lp_func_t *g_f;

/* Sleeps while hold is set. */
__attribute__((noinline)) static void nap(void)
{
    while (atomic_load(&hold)) usleep(200);
}

__attribute__((noinline)) static int g_old(void)
{
    atomic_store(&inside, 1);
    nap();
    atomic_store(&inside, 0);
    return 1;
}
__attribute__((noinline)) static int g_new(void) { return 2; }

static int call_g(void)
{
    int (*impl)(void) = (int (*)(void))lp_func_enter(g_f);
    int v = impl();
    lp_func_exit(g_f);
    return v;
}

/* A function pointer the program kept: calls through it skip the hooks. */
static int (*volatile kept)(void) = g_old;

__attribute__((used)) static volatile int spin_flag;
/* Spins with a frame pointer that points nowhere on the stack. */
void garbage_fp_spin(void);
__asm__(".text\n"
        ".type garbage_fp_spin, @function\n"
        "garbage_fp_spin:\n"
        "  push %rbp\n"
        "  mov $0x10, %rbp\n"
        "1: pause\n"
        "  mov spin_flag(%rip), %eax\n"
        "  test %eax, %eax\n"
        "  jnz 1b\n"
        "  pop %rbp\n"
        "  ret\n"
        ".size garbage_fp_spin, .-garbage_fp_spin\n");

enum how { BUSY, HOOKED_SLEEPER, KEPT_SLEEPER, GARBAGE_FP };

static void *worker(void *arg)
{
    enum how how = (enum how)(long)arg;
    lp_thread_register("worker");
    switch (how) {
    case BUSY:
        while (!atomic_load(&stop)) {
            if (call_g() == 2) atomic_fetch_add(&calls, 1);
            usleep(50);
        }
        break;
    case HOOKED_SLEEPER:
        call_g();
        break;
    case KEPT_SLEEPER:
        kept();
        break;
    case GARBAGE_FP:
        atomic_store(&inside, 1);
        garbage_fp_spin();
        atomic_store(&inside, 0);
        break;
    }
    lp_thread_unregister();
    return NULL;
}

struct named {
    int reason, found;
};
static int find_worker(const lp_thread_info_t *info, void *ctx)
{
    struct named *n = ctx;
    if (strcmp(info->name, "worker") == 0) {
        n->reason = info->reason;
        n->found = 1;
    }
    return 0;
}

static lp_patch_t *patch_g(const char *name, lp_model_t model)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    lp_patch_add_func(p, g_f, (const void *)g_new);
    return p;
}

/* Disables and destroys p: the next scenario starts from g_old. */
static void unpatch(lp_patch_t *p)
{
    int rc = lp_patch_disable(p);
    if (rc >= 0) rc = lp_transition_wait(HANG_BOUND);
    if (rc == 0) rc = lp_patch_destroy(p);
    check_rc("the patch is disabled and destroyed", rc, 0);
}

static void busy(const char *name, lp_model_t model)
{
    char what[200];
    atomic_store(&stop, 0);
    pthread_t th[3];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, worker, (void *)(long)BUSY);
    lp_patch_t *p = patch_g(name, model);
    lp_patch_enable(p);
    snprintf(what, sizeof what, "%s: busy threads calling the set through the hooks: the transition completes", name);
    check_rc(what, lp_transition_wait(HANG_BOUND), 0);
    atomic_store(&calls, 0);
    while (atomic_load(&calls) < 3) usleep(100);
    snprintf(what, sizeof what, "%s: and the new implementation runs after it", name);
    check(call_g() == 2, what);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    unpatch(p);
}

/* A worker parked inside (how); whether the model sees it (it stalls and
 * names the worker for `reason`) or not (it completes at once). */
static void parked(const char *name, lp_model_t model, enum how how, int sees, int reason)
{
    char what[200];
    const char *where = how == HOOKED_SLEEPER ? "asleep inside a hooked set function"
                        : how == KEPT_SLEEPER ? "asleep inside an implementation called through a kept pointer"
                                              : "spinning with a garbage frame pointer";
    atomic_store(&hold, 1);
    spin_flag = 1;
    atomic_store(&inside, 0);
    pthread_t th;
    pthread_create(&th, NULL, worker, (void *)(long)how);
    while (!atomic_load(&inside)) usleep(100);
    lp_patch_t *p = patch_g(name, model);
    lp_patch_enable(p);
    snprintf(what, sizeof what, sees ? "%s: a thread %s: the transition stalls"
                                     : "%s: a thread %s: unseen, the transition completes with it inside", name, where);
    check_parked_thread(what, sees, &inside);
    if (sees) {
        struct named n = {0, 0};
        lp_transition_for_each_stalled(find_worker, &n);
        snprintf(what, sizeof what, "%s: the stall names it, reason %d (got %d)", name, reason, n.reason);
        check(n.found && n.reason == reason, what);
    }
    atomic_store(&hold, 0);
    spin_flag = 0;
    pthread_join(th, NULL);
    snprintf(what, sizeof what, "%s: once it left, the transition is complete", name);
    check_rc(what, lp_transition_wait(HANG_BOUND), 0);
    unpatch(p);
}

static atomic_int late_phase;

/* Registered, the library's stack signal blocked until late_phase is 2:
 * the request of the round in flight is answered then (clean), after the
 * round gave up; then it calls g (the old implementation) and stays there. */
static void *late_worker(void *arg)
{
    (void)arg;
    lp_thread_register("worker");
    sigset_t stack_signal;
    sigemptyset(&stack_signal);
    sigaddset(&stack_signal, SIGRTMIN + 6);
    pthread_sigmask(SIG_BLOCK, &stack_signal, NULL);
    atomic_store(&late_phase, 1);
    while (atomic_load(&late_phase) == 1) usleep(200);
    pthread_sigmask(SIG_UNBLOCK, &stack_signal, NULL);
    call_g();
    lp_thread_unregister();
    return NULL;
}

/* Rounds 1 s apart: the second wait falls between rounds unless the machine
 * stalls this thread for a second, and then the next round sees the thread
 * inside the set: the check holds either way. */
static void late_answer(void)
{
    lp_set_switch_policy(2 * MS, 1000 * MS);
    atomic_store(&hold, 1);
    atomic_store(&inside, 0);
    atomic_store(&late_phase, 0);
    pthread_t th;
    pthread_create(&th, NULL, late_worker, NULL);
    while (atomic_load(&late_phase) != 1) usleep(100);
    lp_patch_t *p = patch_g("late", LP_MODEL_KPATCH_STACK);
    lp_patch_enable(p);
    check_rc("KPATCH_STACK: a thread that cannot answer: the round gives up, pending", lp_transition_wait(50 * MS), -ETIMEDOUT);
    atomic_store(&late_phase, 2);
    while (!atomic_load(&inside)) usleep(100);
    check_rc("KPATCH_STACK: it answers clean after the round, then runs the old implementation: still pending",
             lp_transition_wait(100 * MS), -ETIMEDOUT);
    atomic_store(&hold, 0);
    pthread_join(th, NULL);
    check_rc("KPATCH_STACK: once it left, the transition is complete", lp_transition_wait(HANG_BOUND), 0);
    lp_set_switch_policy(2 * MS, 5 * MS); /* the defaults */
    unpatch(p);
}

static void skip_frame_bug(void)
{
    lp_debug_inject_bug(LP_BUG_STACK_SKIP_FRAME);
    parked("UPSTREAM_STACK with LP_BUG_STACK_SKIP_FRAME", LP_MODEL_UPSTREAM_STACK, KEPT_SLEEPER, 0, 0);
    lp_debug_inject_bug(LP_BUG_NONE);
}

static int never(const lp_transition_progress_t *p, uint64_t *r, void *c)
{
    (void)p, (void)r, (void)c;
    return LP_PENDING_WAIT;
}

static void models(void)
{
    lp_model_info_t info;
    check_rc("describe UPSTREAM_STACK", lp_model_describe(LP_MODEL_UPSTREAM_STACK, &info), 0);
    check(strcmp(info.name, "UPSTREAM_STACK") == 0 && (info.switch_points & LP_MODEL_F_STACK_CHECK)
              && (info.switch_points & LP_MODEL_F_KERNEL_EXIT_SWITCHES) && info.switches == LP_SWITCH_THREAD,
          "UPSTREAM_STACK: stack check, per thread, kernel exit a switch point");
    lp_model_describe(LP_MODEL_UPSTREAM, &info);
    check(!(info.switch_points & LP_MODEL_F_STACK_CHECK), "UPSTREAM counts");
    lp_model_describe(LP_MODEL_KPATCH_STACK, &info);
    check(strcmp(info.name, "KPATCH_STACK") == 0 && (info.switch_points & LP_MODEL_F_STACK_CHECK)
              && info.switches == LP_SWITCH_KERNEL,
          "KPATCH_STACK: stack check, one switch");
    lp_model_describe(LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD) | LP_MODEL_F_STACK_CHECK, &info);
    check(strcmp(info.name, "PATCHED_SET x THREAD+stack") == 0, "a stack-checking cell is named +stack");
    check_rc("stack check with KERNEL sections refused",
             lp_model_describe(LP_MODEL_CELL(LP_LEAVE_KERNEL, LP_SWITCH_THREAD) | LP_MODEL_F_STACK_CHECK, &info), -EINVAL);
    check_rc("stack check with SWITCH_FUNCTION refused",
             lp_model_describe(LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION) | LP_MODEL_F_STACK_CHECK, &info),
             -EINVAL);
    lp_model_ops_t ops = {"my-stack", LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD, LP_MODEL_F_STACK_CHECK, never, NULL};
    lp_model_t m = lp_model_register(&ops);
    check(m != LP_MODEL_INVALID && lp_model_describe(m, &info) == 0 && (info.switch_points & LP_MODEL_F_STACK_CHECK)
              && info.user,
          "a user model chooses stack checking");
    ops.name = "bad-stack";
    ops.counts = LP_LEAVE_KERNEL;
    errno = 0;
    check(lp_model_register(&ops) == LP_MODEL_INVALID && errno == EINVAL, "a user model with stack check over kernel sections is refused");
    ops.name = "my-stack";
    busy("user model my-stack", m);
}

int main(void)
{
    g_f = lp_func_register("g", (const void *)g_old);
    models();
    for (unsigned i = 0; i < N_STACK_MODELS; i++) {
        busy(stack_models[i].name, stack_models[i].model);
        /* Counting: the activation predates the transition, so it is an old
         * one that has reached no switch point. */
        parked(stack_models[i].name, stack_models[i].model, HOOKED_SLEEPER, 1, stack_models[i].stack ? LP_STALL_IN_SET : LP_STALL_NO_SWITCH_POINT);
        parked(stack_models[i].name, stack_models[i].model, KEPT_SLEEPER, stack_models[i].stack, LP_STALL_IN_SET);
        if (stack_models[i].stack) parked(stack_models[i].name, stack_models[i].model, GARBAGE_FP, 1, LP_STALL_UNRELIABLE_STACK);
    }
    skip_frame_bug();
    late_answer();
    check_summary();
    return failed != 0;
}
