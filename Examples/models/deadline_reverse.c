/*
 * deadline_reverse — a consistency model in about a page (see the header).
 *
 * What is counted and what switches are declarations: the engine's own
 * PATCHED_SET x THREAD machinery (per-thread universes fixed at each
 * outermost patched-set entry) does the counting, so I1 holds as for any
 * cell. The model's own code is the pending() policy: the patcher calls it
 * at each completion check that finds the transition pending.
 */
#include "deadline_reverse.h"

#include <errno.h>
#include <pthread.h>

/* Relaxed: a later deadline_reverse_model() call changes it for later checks. */
static uint64_t deadline;

static int deadline_pending(const lp_transition_progress_t *p, uint64_t *recheck_in_ns, void *ctx)
{
    (void)ctx;
    /* Only a patching transition that was never turned around gives up: a
     * reversed one heads back to a state every thread already ran in, and
     * turning it around again would only restart the wait. */
    if (!p->enabling || p->reversals != 0)
        return LP_PENDING_WAIT;
    uint64_t limit = __atomic_load_n(&deadline, __ATOMIC_RELAXED);
    if (p->elapsed_ns >= limit)
        return LP_PENDING_REVERSE;
    /* Ask to be checked at the deadline even if no thread reports progress
     * before it (a thread asleep inside the patched set reports none). */
    *recheck_in_ns = limit - p->elapsed_ns;
    return LP_PENDING_WAIT;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static lp_model_t registered = LP_MODEL_INVALID;
static int register_errno;

static void register_model(void)
{
    const lp_model_ops_t ops = {
        .name = "DEADLINE_REVERSE",
        .counts = LP_LEAVE_PATCHED_SET,
        .switches = LP_SWITCH_THREAD,
        .switch_points = 0,
        .pending = deadline_pending,
        .ctx = NULL,
    };
    registered = lp_model_register(&ops);
    register_errno = errno;
}

lp_model_t deadline_reverse_model(uint64_t deadline_ns)
{
    __atomic_store_n(&deadline, deadline_ns, __ATOMIC_RELAXED);
    pthread_once(&once, register_model);
    if (registered == LP_MODEL_INVALID)
        errno = register_errno;
    return registered;
}
