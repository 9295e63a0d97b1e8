/*
 * abi_stalls.c — the threads a transition must cope with, through the public
 * C ABI only: a sleeper inside the kernel (stalled-thread report, timeout,
 * nudges), an offline thread, a thread that exits inside a kernel section, a
 * signal handler that calls a patched function, and a fork() child.
 *
 * Deterministic: threads are stepped with condition variables, never with
 * sleeps, and every timeout is a "did not hang" bound, not a timing claim.
 * Prints one line per check and ends with "N passed, N failed"; exits
 * non-zero if any check failed.
 */
#include "lifecycle.h"

/* ---- a sleeper in the kernel: stalled-thread report, timeout -------------- */

static baton_t sleeper_baton = BATON_INIT;
static int sleeper_tid;

static void *sleeper_main(void *arg)
{
    (void)arg;
    sleeper_tid = (int)syscall(SYS_gettid);
    sleep_in_kernel("sleeper", &sleeper_baton);
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
    sleep_in_kernel("fork-sleeper", &fork_baton);
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

    stalled_sleeper();
    offline();
    exits_inside();
    nudges();
    signals();
    forking();
    check_counts("at the end, every thread joined");

    return check_summary();
}
