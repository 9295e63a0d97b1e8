/*
 * kpatch.pml: LP_MODEL_KPATCH = PATCHED_SET x SWITCH_KERNEL.
 *
 * Outermost calls of the set function f are the activations; they take
 * lps_global.kuniv at their start, unless lps_global.hold is set, in which
 * case they clear act, fence (notifyPatcher's locked add) and wait
 * (waitWhileHeld). The patcher (holdAndSwitchKernel / holding) sets hold,
 * runs a membarrier, scans until no thread blocks (an activation in the
 * other universe, a half-begun one, or one older than the transition), then
 * flips kuniv and releases the hold; a hold may time out and be retried.
 * Both threads call f { f } forever.
 *
 * Mirrors (see lp_engine.pml): Hooks/ lp_func_enter,
 * enterInTransition, lp_func_exit/exitSlow; Hooks/Activation.swift
 * beginActivation (the hold branch), staleActivation, activationUniverse,
 * endActivation, notifyPatcher, waitWhileHeld; Transition/ startTransition, tryCompleteLocked
 * (kuniv == target || holdAndSwitchKernel), holding, releaseHold, complete,
 * lp_transition_reverse, lp_transition_force; Transition/Scan.swift blockReason.
 *
 * Properties: I0, I2 (old and new executions of f never overlap; no way
 * back; one version per activation) as assertions; liveness with -DLIVE.
 * -DLEAN: single calls.
 */
#define LEAVE LEAVE_PATCHED_SET
#define SW SWITCH_KERNEL
#define FLAGS 0
#include "lp_engine.pml"

proctype thread(byte id) {
    THREAD_LOCALS;
    me = id;
    do
    :: done -> break
#ifndef LEAN
    :: call_f_nested()
#else
    :: call_f()
#endif
    od
}

init { PATCHER_LOCALS; start_all() }   /* init is the patcher */
