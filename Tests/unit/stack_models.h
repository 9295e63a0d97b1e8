/*
 * stack_models.h — the models the stack-checking harnesses compare: each
 * counting preset beside its stack-checking twin.
 */
#ifndef LP_STACK_MODELS_H
#define LP_STACK_MODELS_H

#include <livepatch.h>
#include "check.h"

#include <stdatomic.h>

#define MS 1000000ull
#define HANG_BOUND (20000 * MS) /* a transition that must complete: "did not hang" */
#define PROBE (200 * MS)        /* how long one that must stall is watched */

static const struct {
    const char *name;
    lp_model_t model;
    int stack; /* LP_MODEL_F_STACK_CHECK */
} stack_models[] = {
    {"UPSTREAM", LP_MODEL_UPSTREAM, 0},
    {"UPSTREAM_STACK", LP_MODEL_UPSTREAM_STACK, 1},
    {"KPATCH", LP_MODEL_KPATCH, 0},
    {"KPATCH_STACK", LP_MODEL_KPATCH_STACK, 1},
};
#define N_STACK_MODELS (sizeof stack_models / sizeof *stack_models)

/* The probe of a thread parked while *inside is set, after a transition
 * started: `seen`, the transition must stall on it; else it must complete
 * with the thread still there. No check depends on timing: a stall is only
 * asked of a thread that stays parked. */
static inline void check_parked_thread(const char *what, int seen, atomic_int *inside)
{
    if (seen)
        check_rc(what, lp_transition_wait(PROBE), -ETIMEDOUT);
    else
        check(lp_transition_wait(HANG_BOUND) == 0 && atomic_load(inside), what);
}

#endif
