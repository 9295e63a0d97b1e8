/*
 * deadline_reverse — the worked example of a user-defined consistency model
 * (README, "Your own model"): LEAVE_PATCHED_SET x SWITCH_THREAD whose
 * transition, when it has not completed by a deadline, reverses itself
 * instead of being forced. No peer offers it: kGraft and upstream wait (or
 * are forced by hand), kpatch gives up the whole patch on its first failed
 * stop_machine check.
 */
#ifndef DEADLINE_REVERSE_H
#define DEADLINE_REVERSE_H

#include <livepatch.h>

/* Registers the model (once per process; later calls return the same id)
 * with the given deadline, measured from the start of each transition.
 * LP_MODEL_INVALID with errno on failure (see lp_model_register). */
lp_model_t deadline_reverse_model(uint64_t deadline_ns);

#endif
