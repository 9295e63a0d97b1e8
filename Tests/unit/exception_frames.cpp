// A C++ exception thrown through instrumented frames (g++
// -finstrument-functions, see scripts/test) never wedges the thread: g++
// runs the exit hooks of the frames it unwinds, and a frame whose exit hook
// is skipped is exited as abandoned by the next hook above it. Either way
// the thread ends up inside nothing, with exact counts, and a transition of
// a function the exception went through completes.
#include <livepatch.h>
#include "check.h"
#include "exception_fixtures.h"
#include "frames_view.h"

extern "C" NOINLINE void catcher(void)
{
    try {
        middle();
    } catch (const std::exception &) {
        sink++;
    }
}

static lp_func_t *thrower_f, *middle_f, *catcher_f, *after_f;

// Uninstrumented: the checks themselves must not count.
__attribute__((no_instrument_function)) static bool balanced(lp_func_t *f, uint64_t want)
{
    uint64_t e = 0, x = 0;
    return lp_func_counts(f, &e, &x) == 0 && e == want && x == want;
}

__attribute__((no_instrument_function)) int main(void)
{
    lp_thread_register("main");
    thrower_f = lp_func_register_auto("thrower", FN(thrower));
    middle_f = lp_func_register_auto("middle", FN(middle));
    catcher_f = lp_func_register_auto("catcher", FN(catcher));
    after_f = lp_func_register_auto("after", FN(after));

    catcher();
    check(main_depth() == 0, "after the exception the thread is inside nothing");
    after();
    check(balanced(thrower_f, 4) && balanced(middle_f, 1) && balanced(catcher_f, 1) && balanced(after_f, 1),
          "every frame the exception went through counts its exit once");

    lp_patch_t *p = lp_patch_create("p", LP_MODEL_KPATCH, 0);
    check_rc("extend the set with the function the exception went through", lp_patch_extend_set(p, thrower_f), 0);
    int rc = lp_patch_enable(p);
    check_rc("enable", rc < 0 ? rc : 0, 0);
    check_rc("the transition completes", lp_transition_wait(10000000000ull), 0);
    catcher();
    check(main_depth() == 0, "again, under the patch");
    rc = lp_patch_disable(p);
    check_rc("disable", rc < 0 ? rc : lp_transition_wait(10000000000ull), 0);
    check_rc("destroy", lp_patch_destroy(p), 0);
    return check_summary();
}
