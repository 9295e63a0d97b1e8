/*
 * hold_stall.c — a hold whose count does not fall backs off.
 *
 * A thread parked inside the patched function keeps a SWITCH_KERNEL
 * (KPATCH, HIRAMATSU) or SWITCH_FUNCTION transition pending, as a thread
 * waiting inside a set function for a lock whose owner the hold keeps out
 * would. A probe thread calls the function in a loop for the 2 s of
 * lp_transition_wait and adds up the time its entries were held. Holds that
 * stall end after hold_ns and are spaced to at most 1/40 of the time, so the
 * probe is held for well under 25% of it (a doubling hold held it for
 * nearly all of it). Each entry's time is counted less the time the probe
 * was runnable but not run (/proc/thread-self/schedstat), so load on the
 * machine cannot fail the check.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "pending.h"

#include <unistd.h>

static lp_func_t *f;
static int probe_stop;
static uint64_t probe_held_ns, probe_calls;

static void *probe_main(void *arg)
{
    (void)arg;
    lp_thread_register("probe");
    while (!__atomic_load_n(&probe_stop, __ATOMIC_ACQUIRE)) { /* pairs with the release store in run_model */
        uint64_t q0 = runqueue_ns(), t0 = now_ns();
        LP_CALL(f, void (*)(void));
        uint64_t took = now_ns() - t0, queued = runqueue_ns() - q0;
        probe_held_ns += took > queued ? took - queued : 0;
        probe_calls++;
        usleep(200);
    }
    lp_thread_unregister();
    return NULL;
}

static void run_model(const char *name, lp_model_t model)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    check(p != NULL, "lp_patch_create");
    check_rc("lp_patch_add_func", lp_patch_add_func(p, f, FN(impl_new)), 0);
    pthread_t parked = start_parked(f), probe;
    probe_stop = 0;
    probe_held_ns = probe_calls = 0;
    pthread_create(&probe, NULL, probe_main, NULL);

    check_rc("lp_patch_enable", lp_patch_enable(p), 0);
    lp_transition_status_t s0, s1;
    lp_transition_status(&s0);
    uint64_t t0 = now_ns();
    int rc = lp_transition_wait(2000 * MS);
    uint64_t took = now_ns() - t0;
    lp_transition_status(&s1);
    __atomic_store_n(&probe_stop, 1, __ATOMIC_RELEASE);
    pthread_join(probe, NULL);
    char what[240];
    snprintf(what, sizeof what, "%s pending: wait(2 s) gives -ETIMEDOUT", name);
    check_rc(what, rc, -ETIMEDOUT);
    double share = (double)probe_held_ns / (double)took;
    snprintf(what, sizeof what, "%s: probe held %.1f ms of %.1f ms (%.1f%%, %llu calls, %llu holds), under 25%%", name,
             (double)probe_held_ns / 1e6, (double)took / 1e6, 100 * share, (unsigned long long)probe_calls,
             (unsigned long long)(s1.hold_attempts - s0.hold_attempts));
    check(share < 0.25, what);

    release_parked(parked);
    check_rc("the transition completes once the parked thread leaves", lp_transition_wait(10000 * MS), 0);
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("wait for the disable", lp_transition_wait(10000 * MS), 0);
    check_rc("lp_patch_destroy", lp_patch_destroy(p), 0);
}

int main(void)
{
    f = lp_func_register("hs_f", FN(impl_old));
    check(f != NULL, "lp_func_register");
    run_model("hs-kpatch", LP_MODEL_KPATCH);
    run_model("hs-hiramatsu", LP_MODEL_HIRAMATSU);
    run_model("hs-function", LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION));
    return check_summary();
}
