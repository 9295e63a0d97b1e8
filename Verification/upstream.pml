/*
 * upstream.pml: LP_MODEL_UPSTREAM = PATCHED_SET x SWITCH_THREAD, with
 * LP_MODEL_F_KERNEL_EXIT_SWITCHES.
 *
 * Outermost calls of the set function f are the activations: one that
 * starts in the transition (fepoch == tx_epoch) takes lps_global.target at
 * its start (beginActivation, marker = the depth), and nested calls reuse
 * it; one that started before the transition (fepoch older: the "depth
 * marker" says the thread is inside f) runs old to its end, and the patcher
 * waits for the thread's depth to reach 0 (blockReason: fdepth != 0 &&
 * fepoch != epoch). An outermost lp_kernel_exit() and lp_safe_point() re-arm
 * fepoch (the return to user space: no set function on the stack). Thread
 * 0 calls f { f } inside and outside kernel sections; thread 1 calls f { f },
 * goes offline and online, and passes safe points.
 *
 * Mirrors (see lp_engine.pml): Hooks/ lp_func_enter, enterInTransition,
 * lp_func_exit/exitSlow, lp_kernel_enter, lp_kernel_exit (the re-arm),
 * lp_safe_point/rearm, lp_thread_offline, lp_thread_online;
 * Hooks/Activation.swift beginActivation, staleActivation, activationUniverse,
 * endActivation;
 * Transition/ startTransition, tryCompleteLocked (scan),
 * lp_transition_reverse, lp_transition_force, complete; Transition/Scan.swift
 * blockReason (offline; act; fdepth && fepoch != epoch).
 *
 * Properties: I0, I1 (monotonic per thread; one version per outermost
 * activation) as assertions; liveness with -DLIVE. -DLEAN: single calls,
 * thread 1 alternating f and safe points.
 */
#define LEAVE LEAVE_PATCHED_SET
#define SW SWITCH_THREAD
#define FLAGS F_KERNEL_EXIT_SWITCHES
#define OFFLINE_USED
#include "lp_engine.pml"

proctype thread(byte id) {
    THREAD_LOCALS;
    me = id;
    if
    :: me == 0 ->
       do
       :: done -> break
#ifndef LEAN
       :: kernel_enter(); call_f_nested(); kernel_exit()
       :: call_f_nested()
#else
       :: kernel_enter(); call_f(); kernel_exit()
#endif
       od
    :: else ->
       do
       :: done -> break
#ifndef LEAN
       :: call_f_nested()
       :: thread_offline(); thread_online()
       :: safe_point()
#else
       :: call_f(); safe_point()
#endif
       od
    fi
}

init { PATCHER_LOCALS; start_all() }   /* init is the patcher */
