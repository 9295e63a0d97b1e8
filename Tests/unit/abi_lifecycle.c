/*
 * abi_lifecycle.c — patches going on and off while threads run, through the
 * public C ABI only.
 *
 * Round trips (enable, wait, disable, wait) for every preset and every cell
 * of the leave x switch matrix while worker threads call the patched
 * function inside kernel sections; stacking; extending the patched set;
 * exact counts at quiescence. The threads a transition must cope with are
 * abi_stalls.c's.
 *
 * Deterministic: threads are stepped with condition variables, never with
 * sleeps, and every timeout is a "did not hang" bound, not a timing claim.
 * Prints one line per check and ends with "N passed, N failed"; exits
 * non-zero if any check failed.
 */
#include "lifecycle.h"

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

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    f = lp_func_register("f", (const void *)impl_old);
    check(f != NULL, "lp_func_register(\"f\")");
    check_rc("lp_thread_register(\"main\")", lp_thread_register("main"), 0);

    under_load();
    extend_set();
    check_counts("at the end, every thread joined");

    return check_summary();
}
