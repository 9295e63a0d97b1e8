/*
 * abi_lifecycle.c — patches going on and off while threads run, through the
 * public C ABI only.
 *
 * Round trips (enable, wait, disable, wait) for every preset and every cell
 * of the leave x switch matrix while worker threads call the patched
 * function inside kernel sections; stacking; extending the patched set;
 * exact counts at quiescence; and the threads a transition must cope with:
 * a sleeper inside the kernel (stalled-thread report, timeout, nudges), an
 * offline thread, a thread that exits inside a kernel section, a signal
 * handler that calls a patched function, and a fork() child.
 *
 * Deterministic: threads are stepped with condition variables, never with
 * sleeps, and every timeout is a "did not hang" bound, not a timing claim.
 * Prints one line per check and ends with "N passed, N failed"; exits
 * non-zero if any check failed.
 */
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
static void impl_old(int *v) { *v = V_OLD; }
static void impl_a(int *v) { *v = V_A; }
static void impl_b(int *v) { *v = V_B; }

static lp_func_t *f;
/* Every entry of f this process makes, counted by the harness itself so that
 * lp_func_counts() can be compared with it at quiescence. */
static atomic_ulong f_calls;

/* Through the ABI's macro. Async-signal-safe, as the hooks are. */
static int call_f(void)
{
    int v = 0;
    LP_CALL(f, impl_t, &v);
    atomic_fetch_add(&f_calls, 1);
    return v;
}

/* By hand, as LP_CALL's comment suggests when the value matters. */
static int call_f_by_hand(void)
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

static void baton_set(baton_t *b, int step)
{
    pthread_mutex_lock(&b->lock);
    b->step = step;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void baton_wait(baton_t *b, int step)
{
    pthread_mutex_lock(&b->lock);
    while (b->step < step)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

/* A patch that replaces f with impl_a, enabled (its transition started). */
static lp_patch_t *patch_on(const char *name, lp_model_t model)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    char what[128];
    snprintf(what, sizeof what, "%s: create, add f, enable", name);
    check(p != NULL && lp_patch_add_func(p, f, (const void *)impl_a) == 0 && lp_patch_enable(p) == 0, what);
    return p;
}

/* Undo patch_on() once its transition completed. */
static void patch_off(const char *name, lp_patch_t *p)
{
    char what[128];
    snprintf(what, sizeof what, "%s: disable, wait, destroy; f is old again", name);
    int ok = lp_patch_disable(p) == 0 && lp_transition_wait(HANG_BOUND) == 0 && lp_patch_destroy(p) == 0;
    check(ok && call_f() == V_OLD, what);
}

/* ---- round trips under load ----------------------------------------------- */

static atomic_int stop_workers;
static atomic_ulong sections, bad_values, checked_sections, split_sections;
/* Odd while the transitions that may run count kernel sections (leave =
 * KERNEL): then both calls of one worker section must get the same
 * implementation (invariant I1/I2 of docs/DESIGN.md). A worker checks only a
 * section during which the phase did not change. */
static atomic_uint kernel_phase;

static void *worker_main(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "worker-%ld", (long)arg);
    (void)lp_thread_register(name);
    while (!atomic_load(&stop_workers)) {
        unsigned phase = atomic_load(&kernel_phase);
        lp_kernel_enter();
        int first = call_f();
        int second = call_f_by_hand();
        lp_kernel_exit();
        atomic_fetch_add(&sections, 1);
        if (first < V_OLD || first > V_B || second < V_OLD || second > V_B)
            atomic_fetch_add(&bad_values, 1);
        if ((phase & 1) && phase == atomic_load(&kernel_phase)) {
            atomic_fetch_add(&checked_sections, 1);
            if (first != second)
                atomic_fetch_add(&split_sections, 1);
        }
    }
    return NULL;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 * MS + (uint64_t)ts.tv_nsec;
}

/* Returns once the workers ran 2 * WORKERS more sections, so that they ran
 * while the transition just started was in flight however the threads are
 * scheduled; 0 if they made no progress within the hang bound. */
static int workers_progress(void)
{
    unsigned long target = atomic_load(&sections) + 2 * WORKERS;
    uint64_t deadline = now_ns() + HANG_BOUND;
    while (atomic_load(&sections) < target) {
        if (now_ns() > deadline)
            return 0;
        sched_yield();
    }
    return 1;
}

static void round_trip(const char *label, lp_model_t model)
{
    int counts_kernel = (model & 0xf) == LP_LEAVE_KERNEL;
    lp_patch_t *p = lp_patch_create(label, model, 0);
    if (counts_kernel)
        atomic_fetch_add(&kernel_phase, 1);
    int added = p ? lp_patch_add_func(p, f, (const void *)impl_a) : -1;
    int enabled = lp_patch_enable(p);
    int ran = workers_progress();
    int waited_on = lp_transition_wait(HANG_BOUND);
    int v_on = call_f();
    int disabled = lp_patch_disable(p);
    ran = workers_progress() && ran;
    int waited_off = lp_transition_wait(HANG_BOUND);
    int v_off = call_f_by_hand();
    if (counts_kernel)
        atomic_fetch_add(&kernel_phase, 1);
    int destroyed = lp_patch_destroy(p);

    char what[256];
    snprintf(what, sizeof what,
             "%s (model 0x%x): add %d, enable %d, wait %d, f=%d (want %d); disable %d, wait %d, f=%d (want %d); "
             "destroy %d; workers ran in both transitions: %s",
             label, model, added, enabled, waited_on, v_on, V_A, disabled, waited_off, v_off, V_OLD, destroyed,
             ran ? "yes" : "NO");
    check(added == 0 && enabled == 0 && waited_on == 0 && v_on == V_A && disabled == 0 && waited_off == 0 &&
              v_off == V_OLD && destroyed == 0 && ran,
          what);
}

/* Two patches on f: the newest wins, disabling it exposes the one below. */
static void stacking(void)
{
    atomic_fetch_add(&kernel_phase, 1); /* both models count kernel sections */
    lp_patch_t *a = lp_patch_create("stack-a", LP_MODEL_KGRAFT, 0);
    lp_patch_t *b = lp_patch_create("stack-b", LP_MODEL_RENEW, 0);
    check(a && b && lp_patch_add_func(a, f, (const void *)impl_a) == 0 &&
              lp_patch_add_func(b, f, (const void *)impl_b) == 0,
          "stacking: create stack-a (f -> A) and stack-b (f -> B)");
    check(lp_patch_enable(a) == 0 && lp_transition_wait(HANG_BOUND) == 0 && call_f() == V_A,
          "stacking: enable stack-a, f runs A");
    check(lp_patch_enable(b) == 0 && lp_transition_wait(HANG_BOUND) == 0 && call_f() == V_B,
          "stacking: enable stack-b on top, the newest wins: f runs B");
    check_rc("stacking: disable stack-a below stack-b: -EBUSY", lp_patch_disable(a), -EBUSY);
    check(lp_patch_disable(b) == 0 && lp_transition_wait(HANG_BOUND) == 0 && call_f() == V_A,
          "stacking: disable stack-b, the one below shows: f runs A");
    check(lp_patch_disable(a) == 0 && lp_transition_wait(HANG_BOUND) == 0 && call_f() == V_OLD,
          "stacking: disable stack-a, f runs the original");
    check(lp_patch_destroy(a) == 0 && lp_patch_destroy(b) == 0, "stacking: destroy both");
    atomic_fetch_add(&kernel_phase, 1);
}

static void check_counts(const char *when)
{
    uint64_t entries = 0, exits = 0;
    int rc = lp_func_counts(f, &entries, &exits);
    unsigned long mine = atomic_load(&f_calls);
    char what[256];
    snprintf(what, sizeof what, "lp_func_counts(f) %s: entries %llu, exits %llu, harness count %lu", when,
             (unsigned long long)entries, (unsigned long long)exits, mine);
    check(rc == 0 && entries == mine && exits == mine, what);
}

static void under_load(void)
{
    /* The presets, the example of a user-defined model (its deadline far
     * beyond any round trip here), then every cell; named by the library. */
    lp_model_t models[16] = {LP_MODEL_IMMEDIATE, LP_MODEL_KGRAFT, LP_MODEL_KPATCH, LP_MODEL_UPSTREAM,
                             LP_MODEL_HIRAMATSU, LP_MODEL_RENEW, deadline_reverse_model(HANG_BOUND)};
    size_t n = 7;
    for (int leave = LP_LEAVE_FUNCTION; leave <= LP_LEAVE_KERNEL; leave++)
        for (int sw = LP_SWITCH_FUNCTION; sw <= LP_SWITCH_KERNEL; sw++)
            models[n++] = lp_model((lp_leave_t)leave, (lp_switch_t)sw);

    pthread_t workers[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&workers[i], NULL, worker_main, (void *)i);

    for (size_t i = 0; i < n; i++) {
        lp_model_info_t info;
        check_rc("lp_model_describe", lp_model_describe(models[i], &info), 0);
        round_trip(info.name, models[i]);
    }
    stacking();

    atomic_store(&stop_workers, 1);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(workers[i], NULL);
    check(atomic_load(&bad_values) == 0, "workers only ever ran the original, A or B");
    char what[128];
    snprintf(what, sizeof what, "workers: both calls of a kernel section agree under leave=KERNEL (%lu of %lu split)",
             atomic_load(&split_sections), atomic_load(&checked_sections));
    check(atomic_load(&split_sections) == 0, what);
    check_counts("after joining the workers");
}

/* ---- extending the patched set ---------------------------------------------- */

static lp_func_t *g;
static baton_t extend_baton = BATON_INIT;

static void *inside_g_main(void *arg)
{
    int *v = arg;
    (void)lp_thread_register("inside-g");
    baton_wait(&extend_baton, 1);
    impl_t impl = (impl_t)lp_func_enter(g);
    impl(v);
    baton_set(&extend_baton, 2);
    baton_wait(&extend_baton, 3);
    lp_func_exit(g);
    return NULL;
}

static int stall_reason_of(const lp_thread_info_t *info, void *ctx)
{
    if (strcmp(info->name, "inside-g") == 0)
        *(int *)ctx = info->reason;
    return 0;
}

/* Under kpatch's model a thread inside a set function running the old
 * universe holds the switch back. g is not replaced, only added to the set
 * with lp_patch_extend_set, so a thread inside g must hold it back too. */
static void extend_set(void)
{
    g = lp_func_register("g", (const void *)impl_old);
    lp_patch_t *p = lp_patch_create("extend", LP_MODEL_KPATCH, 0);
    check(g && p && lp_patch_add_func(p, f, (const void *)impl_a) == 0, "extend: register g, create extend (KPATCH, f -> A)");
    check_rc("extend: lp_patch_extend_set(extend, g)", lp_patch_extend_set(p, g), 0);

    int v = 0, reason = 0;
    pthread_t t;
    pthread_create(&t, NULL, inside_g_main, &v);
    check_rc("extend: enable", lp_patch_enable(p), 0);
    baton_set(&extend_baton, 1);
    baton_wait(&extend_baton, 2); /* the thread entered g after the transition began */
    check(v == V_OLD, "extend: g runs its original implementation");
    check_rc("extend: lp_transition_wait(50 ms) while a thread is inside g: -ETIMEDOUT",
             lp_transition_wait(SHORT_WAIT), -ETIMEDOUT);
    check_rc("extend: lp_transition_for_each_stalled", lp_transition_for_each_stalled(stall_reason_of, &reason), 0);
    check_rc("extend: the thread inside g is stalled with LP_STALL_IN_SET", reason, LP_STALL_IN_SET);
    baton_set(&extend_baton, 3);
    pthread_join(t, NULL);
    check_rc("extend: lp_transition_wait once it left g", lp_transition_wait(HANG_BOUND), 0);
    check(call_f() == V_A, "extend: f runs A");
    impl_t impl = (impl_t)lp_func_enter(g);
    impl(&v);
    lp_func_exit(g);
    check(v == V_OLD, "extend: g still runs its original implementation");
    patch_off("extend", p);
}

/* ---- a sleeper in the kernel: stalled-thread report, timeout -------------- */

static baton_t sleeper_baton = BATON_INIT;
static int sleeper_tid;

static void *sleeper_main(void *arg)
{
    (void)arg;
    (void)lp_thread_register("sleeper");
    sleeper_tid = (int)syscall(SYS_gettid);
    lp_kernel_enter();
    baton_set(&sleeper_baton, 1);
    baton_wait(&sleeper_baton, 2);
    lp_kernel_exit();
    return NULL;
}

struct stalled_seen {
    lp_thread_info_t sleeper; /* the "sleeper" entry, if any */
    int found;
};

static int collect_stalled(const lp_thread_info_t *info, void *ctx)
{
    struct stalled_seen *seen = ctx;
    if (strcmp(info->name, "sleeper") == 0) {
        seen->sleeper = *info;
        seen->found = 1;
    }
    return 0;
}

static int stop_at_first(const lp_thread_info_t *info, void *ctx)
{
    (void)info;
    ++*(int *)ctx;
    return 7;
}

static void stalled_sleeper(void)
{
    pthread_t t;
    pthread_create(&t, NULL, sleeper_main, NULL);
    baton_wait(&sleeper_baton, 1);
    lp_patch_t *p = patch_on("stalled", LP_MODEL_KGRAFT);

    struct stalled_seen seen = {0};
    check_rc("stalled: lp_transition_for_each_stalled", lp_transition_for_each_stalled(collect_stalled, &seen), 0);
    char what[256];
    snprintf(what, sizeof what, "stalled: names \"sleeper\" (tid %d, want %d), reason %d (want LP_STALL_IN_KERNEL), "
             "kernel_depth %u", seen.sleeper.tid, sleeper_tid, seen.sleeper.reason, seen.sleeper.kernel_depth);
    check(seen.found && seen.sleeper.tid == sleeper_tid && seen.sleeper.reason == LP_STALL_IN_KERNEL &&
              seen.sleeper.kernel_depth == 1,
          what);
    int calls = 0;
    check(lp_transition_for_each_stalled(stop_at_first, &calls) == 7 && calls == 1,
          "stalled: the walk stops at the first nonzero return and returns it");
    lp_transition_status_t s;
    check(lp_transition_status(&s) == 0 && s.state == LP_TRANSITION_PATCHING && s.pending_threads >= 1,
          "stalled: status is PATCHING with at least one pending thread");
    check_rc("stalled: lp_transition_wait(50 ms): -ETIMEDOUT", lp_transition_wait(SHORT_WAIT), -ETIMEDOUT);
    baton_set(&sleeper_baton, 2);
    check_rc("stalled: lp_transition_wait once the sleeper may leave", lp_transition_wait(HANG_BOUND), 0);
    pthread_join(t, NULL);
    check(call_f() == V_A, "stalled: f runs A");
    patch_off("stalled", p);
}

/* ---- offline ---------------------------------------------------------------- */

static baton_t offline_baton = BATON_INIT;

/* Parks inside h, a hooked function that no patch touches (an event loop's
 * dispatcher, say), after declaring itself offline: the patcher cannot tell
 * what such a thread holds on its stack unless it says so. */
static void *offline_main(void *arg)
{
    lp_func_t *h = arg;
    (void)lp_thread_register("offline");
    (void)lp_func_enter(h);
    lp_thread_offline();
    baton_set(&offline_baton, 1);
    baton_wait(&offline_baton, 2);
    lp_thread_online();
    lp_func_exit(h);
    return NULL;
}

static void offline(void)
{
    lp_func_t *h = lp_func_register("h", (const void *)impl_old);
    pthread_t t;
    pthread_create(&t, NULL, offline_main, h);
    baton_wait(&offline_baton, 1);
    lp_patch_t *p = patch_on("offline", LP_MODEL_KGRAFT);
    check_rc("offline: lp_transition_wait with an offline thread", lp_transition_wait(HANG_BOUND), 0);
    baton_set(&offline_baton, 2);
    pthread_join(t, NULL);
    patch_off("offline", p);
}

/* ---- a thread that exits inside a kernel section ----------------------------- */

static baton_t exiting_baton = BATON_INIT;

static void *exits_inside_main(void *arg)
{
    (void)arg;
    (void)lp_thread_register("exits-inside");
    lp_kernel_enter();
    baton_set(&exiting_baton, 1);
    baton_wait(&exiting_baton, 2);
    return NULL; /* misuse: no lp_kernel_exit() */
}

static void exits_inside(void)
{
    pthread_t t;
    lp_transition_status_t before, after;
    pthread_create(&t, NULL, exits_inside_main, NULL);
    baton_wait(&exiting_baton, 1);
    lp_patch_t *p = patch_on("exits-inside", LP_MODEL_KGRAFT);
    check_rc("exits-inside: lp_transition_wait(50 ms) while it is inside: -ETIMEDOUT",
             lp_transition_wait(SHORT_WAIT), -ETIMEDOUT);
    (void)lp_transition_status(&before);
    baton_set(&exiting_baton, 2);
    pthread_join(t, NULL);
    check_rc("exits-inside: lp_transition_wait after it exited", lp_transition_wait(HANG_BOUND), 0);
    (void)lp_transition_status(&after);
    check(after.exited_inside == before.exited_inside + 1, "exits-inside: counted in status.exited_inside");
    patch_off("exits-inside", p);
}

/* ---- nudges ---------------------------------------------------------------- */

static baton_t nudge_baton = BATON_INIT;
static volatile sig_atomic_t nudged;

static void on_nudge(int signo)
{
    (void)signo;
    nudged = 1;
}

/* Sleeps inside a kernel section until a signal says to leave it, as a
 * kGraft sleeper woken by a fake signal would. SIGUSR1 is blocked except
 * inside sigsuspend, so it cannot slip in between the test and the sleep. */
static void *nudged_sleeper_main(void *arg)
{
    (void)arg;
    sigset_t usr1, waiting;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &waiting);
    sigdelset(&waiting, SIGUSR1);
    (void)lp_thread_register("nudged");
    lp_kernel_enter();
    baton_set(&nudge_baton, 1);
    while (!nudged)
        sigsuspend(&waiting);
    lp_kernel_exit();
    return NULL;
}

static void nudges(void)
{
    struct sigaction sa = {.sa_handler = on_nudge};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, nudged_sleeper_main, NULL);
    baton_wait(&nudge_baton, 1);

    lp_transition_status_t before, after;
    (void)lp_transition_status(&before);
    lp_patch_t *p = patch_on("nudges", LP_MODEL_KGRAFT);
    check_rc("nudges: lp_set_nudge_signal(SIGUSR1)", lp_set_nudge_signal(SIGUSR1), 0);
    check_rc("nudges: lp_transition_wait completes once the nudge wakes the sleeper",
             lp_transition_wait(HANG_BOUND), 0);
    check_rc("nudges: lp_set_nudge_signal(0)", lp_set_nudge_signal(0), 0);
    pthread_join(t, NULL);
    (void)lp_transition_status(&after);
    check(nudged && after.nudges_sent > before.nudges_sent, "nudges: the sleeper was nudged, status.nudges_sent grew");
    patch_off("nudges", p);
}

/* ---- a signal handler calls the patched function --------------------------- */

static baton_t signal_baton = BATON_INIT;
static volatile sig_atomic_t handler_value;

static void on_usr2(int signo)
{
    (void)signo;
    handler_value = call_f();
}

/* Inside the caller's kernel section: call f, then take SIGUSR2 (blocked
 * except inside sigsuspend) and let its handler call f too. */
static void call_and_take_signal(int *own, int *in_handler, int ready_step)
{
    sigset_t waiting;
    pthread_sigmask(SIG_SETMASK, NULL, &waiting);
    sigdelset(&waiting, SIGUSR2);
    *own = call_f_by_hand();
    handler_value = 0;
    baton_set(&signal_baton, ready_step);
    while (!handler_value)
        sigsuspend(&waiting);
    *in_handler = handler_value;
}

/* The section's own call and its handler's call, for a section that predates
 * the transition and for one that began inside it. */
static int values[4];

static void *interrupted_main(void *arg)
{
    (void)arg;
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    (void)lp_thread_register("interrupted"); /* before a hook first runs in a handler */
    lp_kernel_enter();
    baton_set(&signal_baton, 1);
    baton_wait(&signal_baton, 2); /* the transition has started */
    call_and_take_signal(&values[0], &values[1], 3);
    lp_kernel_exit();
    lp_kernel_enter();
    call_and_take_signal(&values[2], &values[3], 4);
    lp_kernel_exit();
    return NULL;
}

/* Nobody drives the transition while the thread runs its two sections, so
 * both run inside it: the first in the old universe, the second in the new. */
static void signals(void)
{
    struct sigaction sa = {.sa_handler = on_usr2};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, interrupted_main, NULL);
    baton_wait(&signal_baton, 1);
    lp_patch_t *p = patch_on("signals", LP_MODEL_KGRAFT);
    baton_set(&signal_baton, 2);
    baton_wait(&signal_baton, 3);
    pthread_kill(t, SIGUSR2);
    baton_wait(&signal_baton, 4);
    pthread_kill(t, SIGUSR2);
    pthread_join(t, NULL);

    char what[200];
    snprintf(what, sizeof what, "signals: section from before the transition runs %d, its handler %d (want %d, %d)",
             values[0], values[1], V_OLD, V_OLD);
    check(values[0] == V_OLD && values[1] == V_OLD, what);
    snprintf(what, sizeof what, "signals: section begun in the transition runs %d, its handler %d (want %d, %d)",
             values[2], values[3], V_A, V_A);
    check(values[2] == V_A && values[3] == V_A, what);
    check_rc("signals: lp_transition_wait", lp_transition_wait(HANG_BOUND), 0);
    patch_off("signals", p);
}

/* ---- fork ------------------------------------------------------------------ */

static baton_t fork_baton = BATON_INIT;

static void *fork_sleeper_main(void *arg)
{
    (void)arg;
    (void)lp_thread_register("fork-sleeper");
    lp_kernel_enter();
    baton_set(&fork_baton, 1);
    baton_wait(&fork_baton, 2);
    lp_kernel_exit();
    return NULL;
}

/* The child has only the forking thread, so the sleeper that holds the
 * parent's transition does not exist there. Reports through its exit status:
 * a bit per failed check; killed by SIGALRM if it hangs. */
static int forked_child(void)
{
    alarm(10);
    int bad = 0;
    if (lp_transition_wait(5000 * MS) != 0)
        bad |= 1;
    lp_kernel_enter();
    if (call_f() != V_A || call_f_by_hand() != V_A)
        bad |= 2;
    lp_kernel_exit();
    lp_transition_status_t s;
    if (lp_transition_status(&s) != 0 || s.state != LP_TRANSITION_IDLE)
        bad |= 4;
    return bad;
}

static void forking(void)
{
    pthread_t t;
    pthread_create(&t, NULL, fork_sleeper_main, NULL);
    baton_wait(&fork_baton, 1);
    lp_patch_t *p = patch_on("fork", LP_MODEL_KGRAFT);
    check_rc("fork: the parent's transition is held by its sleeper: -ETIMEDOUT", lp_transition_wait(SHORT_WAIT),
             -ETIMEDOUT);

    fflush(stdout); /* or the child would print the parent's buffer again */
    pid_t pid = fork();
    if (pid == 0)
        _exit(forked_child());
    int status = 0;
    check(pid > 0 && waitpid(pid, &status, 0) == pid, "fork: fork and waitpid");
    char what[128];
    if (WIFSIGNALED(status))
        snprintf(what, sizeof what, "fork: child killed by signal %d (hung?)", WTERMSIG(status));
    else
        snprintf(what, sizeof what, "fork: the child exited normally");
    check(WIFEXITED(status), what);
    int bad = WIFEXITED(status) ? WEXITSTATUS(status) : 7;
    check(!(bad & 1), "fork: in the child, lp_transition_wait returns 0 (the sleeper is not there)");
    check(!(bad & 2), "fork: in the child, hooks work and f runs A");
    check(!(bad & 4), "fork: in the child, status is IDLE afterwards");

    lp_transition_status_t s;
    check(lp_transition_status(&s) == 0 && s.state == LP_TRANSITION_PATCHING,
          "fork: the parent's transition is still in flight");
    baton_set(&fork_baton, 2);
    check_rc("fork: the parent completes once its sleeper leaves", lp_transition_wait(HANG_BOUND), 0);
    pthread_join(t, NULL);
    check(call_f() == V_A, "fork: in the parent, f runs A");
    patch_off("fork", p);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    f = lp_func_register("f", (const void *)impl_old);
    check(f != NULL, "lp_func_register(\"f\")");
    check_rc("lp_thread_register(\"main\")", lp_thread_register("main"), 0);

    under_load();
    extend_set();
    stalled_sleeper();
    offline();
    exits_inside();
    nudges();
    signals();
    forking();
    check_counts("at the end, every thread joined");

    return check_summary();
}
