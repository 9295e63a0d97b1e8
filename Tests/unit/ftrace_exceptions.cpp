// C++ exceptions through pad-patched functions (user-space ftrace): while
// a hooked call runs, its return address on the stack is the trampoline's
// return site, and the unwinder finds the real one through the trampoline's
// CFI (lps_ftrace_trampoline.S, "Unwinding"). An exception thrown through
// hooked calls reaches its handler beyond them, the thread ends up inside
// nothing with exact counts (the frames it left are exited as abandoned),
// and repeated exceptions do not use up the shadow stack (an entry whose
// call left without returning makes room when it is full).
//
// The whole file is built with the pad (scripts/test, g++).
#include <livepatch.h>
#include "check.h"
#include "exception_fixtures.h"
#include "frames_view.h"

extern "C" NOINLINE void thrower_new(int n)
{
    if (n == 0) throw std::logic_error("new boom");
    sink++;
    thrower_new(n - 1);
    sink++;
}

// Which exception reached the handler: 1 the old body's, 2 the new one's.
NOINLINE static int catcher(void)
{
    try {
        middle();
    } catch (const std::runtime_error &) {
        return 1;
    } catch (const std::logic_error &) {
        return 2;
    }
    return 0;
}

static bool counted(lp_func_t *f, uint64_t want)
{
    uint64_t e = 0, x = 0;
    return lp_func_counts(f, &e, &x) == 0 && e == want && x == want;
}

int main(void)
{
    lp_thread_register("main");
    check(lp_ftrace_discover(0) > 0, "discovery finds this file's functions");
    lp_func_t *thrower_f = lp_func_lookup("thrower"), *middle_f = lp_func_lookup("middle"),
              *after_f = lp_func_lookup("after");
    check(thrower_f && middle_f && after_f && lp_ftrace_patchable(thrower_f) == 1, "they are pad-patchable");

    // Armed, same implementation: four hooked calls of thrower, one of
    // middle; after's is the next hooked call.
    lp_patch_t *p = lp_patch_create("armed", LP_MODEL_UPSTREAM, 0);
    check_rc("extend the set with thrower, middle and after",
             lp_patch_extend_set(p, thrower_f) || lp_patch_extend_set(p, middle_f) || lp_patch_extend_set(p, after_f), 0);
    int rc = lp_patch_enable(p);
    check_rc("enable", rc < 0 ? rc : lp_transition_wait(10000000000ull), 0);
    check(catcher() == 1, "an exception thrown through five hooked calls reaches its handler beyond them");
    after();
    check(main_depth() == 0, "after it, and a hooked call, the thread is inside nothing");
    check(counted(thrower_f, 4) && counted(middle_f, 1) && counted(after_f, 1),
          "every hooked call the exception left counts its entry and exit once");

    // Many in a row, each leaving five shadow entries, with no hooked
    // return below them: they fill the shadow stack (32), which makes room.
    int caught = 0;
    for (int i = 0; i < 100; i++) caught += catcher() == 1;
    after();
    check(caught == 100 && main_depth() == 0, "100 more exceptions, all caught");
    check(counted(thrower_f, 404) && counted(middle_f, 101) && counted(after_f, 2),
          "and every call was hooked and counted (none ran unhooked for want of shadow entries)");

    // Redirected: the new body's exception, through the trampoline.
    lp_patch_t *q = lp_patch_create("redirect", LP_MODEL_UPSTREAM, 0);
    check_rc("replace thrower", lp_patch_add_func(q, thrower_f, FN(thrower_new)), 0);
    rc = lp_patch_enable(q);
    check_rc("enable the replacement", rc < 0 ? rc : lp_transition_wait(10000000000ull), 0);
    check(catcher() == 2, "the replacement's exception reaches the handler");
    rc = lp_patch_disable(q);
    check_rc("disable", rc < 0 ? rc : lp_transition_wait(10000000000ull), 0);
    check_rc("destroy", lp_patch_destroy(q), 0);
    rc = lp_patch_disable(p);
    check_rc("disable the first", rc < 0 ? rc : lp_transition_wait(10000000000ull), 0);
    check_rc("destroy the first", lp_patch_destroy(p), 0);
    check(catcher() == 1 && main_depth() == 0, "disarmed: as compiled");
    return check_summary();
}
