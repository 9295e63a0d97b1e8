/*
 * stack_models.h — the models the stack-checking harnesses compare: each
 * counting preset beside its stack-checking twin.
 */
#ifndef LP_STACK_MODELS_H
#define LP_STACK_MODELS_H

#include <livepatch.h>

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

#endif
