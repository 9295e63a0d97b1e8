/*
 * The pad workload's setup (calls.c and workload.c, thread kind "pad"): the torture's
 * original implementations are compiled with a patchable entry, and pad
 * threads call them by symbol, as an unmodified program does, so that their
 * calls are counted and redirected by user-space ftrace's trampoline
 * (docs/FTRACE.md) while the other threads call the same functions through
 * lp_func_enter.
 */
#include "torture.h"

#include <stdio.h>

int pad_workload_setup(lp_func_t *const *f, int nf)
{
    if (lp_ftrace_discover(0) < 0)
        return -1;
    /* Never enabled: it names every function, so every pad is armed for
     * the whole run and the pad threads' calls are counted from the first
     * (a pad counts only while some patch names its function). */
    lp_patch_t *arming = lp_patch_create("torture.pads", LP_MODEL_IMMEDIATE, 0);
    for (int i = 0; i < nf; i++) {
        if (lp_ftrace_patchable(f[i]) != 1 || lp_patch_extend_set(arming, f[i]) != 0) {
            fprintf(stderr, "torture: function %d has no patchable entry\n", i);
            return -1;
        }
    }
    return 0;
}
