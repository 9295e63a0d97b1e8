/*
 * reverse_part_switched.c — a PATCHED_SET x FUNCTION enable turned around
 * after some of its functions switched.
 *
 * Its functions switch one at a time, each inside a hold of the patcher's.
 * A thread parked inside g, entered once the transition began, keeps g
 * pending, so f switches alone: f's callers get the new implementation
 * while the enable is still pending. Reversed, f switches back (nobody is
 * inside it) and the transition completes with both functions old, the
 * patch disabled. The torture judges the same case under load (I3 per leg);
 * this is the case by itself, step by step.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "pending.h"

static void f_old(void) {}
static void f_new(void) {}

static const void *call_impl(lp_func_t *fn)
{
    const void *impl = lp_func_enter(fn);
    lp_func_exit(fn);
    return impl;
}

int main(void)
{
    lp_func_t *f = lp_func_register("rp_f", FN(f_old));
    lp_func_t *g = lp_func_register("rp_g", FN(impl_old));
    check(f != NULL && g != NULL, "lp_func_register");
    lp_patch_t *p = lp_patch_create("rp", LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION), 0);
    check(p != NULL, "lp_patch_create");
    check_rc("lp_patch_add_func(f)", lp_patch_add_func(p, f, FN(f_new)), 0);
    check_rc("lp_patch_add_func(g)", lp_patch_add_func(p, g, FN(impl_new)), 0);
    check_rc("lp_thread_register", lp_thread_register("main"), 0);

    check_rc("lp_patch_enable", lp_patch_enable(p), 0);
    pthread_t parked = start_parked(g);
    check_rc("g pending: wait(300 ms) gives -ETIMEDOUT", lp_transition_wait(300 * MS), -ETIMEDOUT);
    check(snapshot_blocked_inside("parked", g), "the status snapshot names the parked thread, blocking inside g");
    check(call_impl(f) == FN(f_new), "f switched alone: a call gets f's new implementation");
    check(call_impl(g) == FN(impl_old), "g, held by the parked thread, still gets its old one");

    check_rc("lp_transition_reverse", lp_transition_reverse(), 0);
    check_rc("the reversed transition completes (nobody is inside f)", lp_transition_wait(10000 * MS), 0);
    check(call_impl(f) == FN(f_old), "f switched back: a call gets f's old implementation");
    check(call_impl(g) == FN(impl_old), "g stays old");
    uint64_t entries = 0, exits = 0;
    check_rc("lp_func_counts(f)", lp_func_counts(f, &entries, &exits), 0);
    check(entries == 2 && exits == 2, "f's counts: 2 entries, 2 exits");

    release_parked(parked);
    check_rc("lp_patch_destroy: the reversed enable left it disabled", lp_patch_destroy(p), 0);
    lp_thread_unregister();
    return check_summary();
}
