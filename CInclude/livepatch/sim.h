/*
 * livepatch/sim.h: simulation mode, opt-in: <livepatch.h> does not include
 * it. A harness runs real threads one at a time under a seeded scheduler.
 */
#ifndef LIVEPATCH_SIM_H
#define LIVEPATCH_SIM_H

#include "types.h"
#include "../livepatch.h" /* LP_SIM_CALL wraps lp_func_enter/lp_func_exit */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- simulation mode: deterministic, replayable interleavings ------------------
 * Real pthreads, one running at a time: a thread runs until it offers the
 * baton (lp_sim_point) or blocks in the engine (a hold, lp_transition_wait,
 * lp_sim_wait), and a scheduler driven by cfg->seed picks the next one. The
 * same seed gives the same schedule, hash and result. The engine's waits,
 * clock (virtual: 1 us per step, jumping to the next timeout when every
 * thread is blocked) and nudges follow the simulation on simulated threads;
 * the hooks are untouched, so the harness calls lp_sim_point next to each
 * hook (LP_SIM_CALL below). Every thread that touches the engine during a run
 * must be a simulated one. One simulation at a time. */

/* Arms a run. -EINVAL cfg NULL or a field out of range, -EBUSY a run is
 * armed, -ENOMEM (first run only) no memory, or no thread-specific-data key
 * left for the exit hook of lp_sim_thread_leave. */
int lp_sim_start(const lp_sim_config_t *cfg);
/* The calling thread becomes simulated thread id and blocks until it is
 * scheduled; scheduling begins once all cfg->threads threads joined, so the
 * ids, not OS timing, fix the order. -ENOENT no run armed (or it began),
 * -EINVAL id out of range, -EEXIST id taken or the caller already joined. */
int lp_sim_thread_join(unsigned id);
/* Offers the baton (kind: LP_SIM_*). A no-op outside a run. */
void lp_sim_point(int kind);
/* Blocks while *word == expected, until lp_sim_wake(word), a nudge or
 * timeout_ns (0: none) of virtual time; outside a run, a futex wait.
 * 0 woken, -EAGAIN *word != expected, -ETIMEDOUT, -EINTR a signal;
 * -EINVAL word NULL. */
int lp_sim_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns);
/* Wakes every thread in lp_sim_wait(word). */
void lp_sim_wake(uint32_t *word);
/* The run's logical clock on a simulated thread (each read advances it by
 * 1 ns, so reads are strictly ordered); CLOCK_MONOTONIC elsewhere. */
uint64_t lp_sim_now(void);
/* The calling thread leaves the run (call it last, after
 * lp_thread_unregister); the baton passes on. -ENOENT not a simulated thread.
 * A simulated thread that exits without calling it leaves at its exit (a
 * thread-specific-data destructor calls it), so the run goes on without it. */
int lp_sim_thread_leave(void);
/* Ends the run after every simulated thread left and was joined, and
 * reports it (out may be NULL). -ENOENT no run armed, -EBUSY threads still
 * in it. */
int lp_sim_stop(lp_sim_result_t *out);

/* LP_CALL with the simulation's yield points around the hooks. */
#define LP_SIM_CALL(f, fn_type, ...)                               \
    do {                                                           \
        lp_func_t *lp_call_f_ = (f);                               \
        lp_sim_point(LP_SIM_ENTER);                                \
        ((fn_type)lp_func_enter(lp_call_f_))(__VA_ARGS__);         \
        lp_sim_point(LP_SIM_EXIT);                                 \
        lp_func_exit(lp_call_f_);                                  \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_SIM_H */
