/*
 * renew.pml: LP_MODEL_RENEW = LEAVE_KERNEL x SWITCH_KERNEL.
 *
 * Kernel sections are the activations (a call of f outside any kernel
 * section is one of its own); they take lps_global.kuniv at their start, or
 * are held back while lps_global.hold is set. The patcher holds, fences,
 * scans until no thread is inside a kernel section or activation in the
 * old universe (or one older than the transition), flips kuniv, releases.
 * Thread 0 runs kernel sections { f; f }; thread 1 calls f { f } outside
 * the kernel (an activation of its own).
 *
 * Mirrors (see lp_engine.pml): Hooks/ lp_kernel_enter, lp_kernel_exit,
 * lp_func_enter, enterInTransition, lp_func_exit/exitSlow; Hooks/Activation.swift
 * beginActivation (hold branch), staleActivation, activationUniverse,
 * endActivation, notifyPatcher, waitWhileHeld; Transition/ startTransition,
 * tryCompleteLocked, holdAndSwitchKernel, holding, releaseHold, complete,
 * lp_transition_reverse, lp_transition_force; Transition/Scan.swift blockReason.
 *
 * Properties: I0, I2 (no overlap of old and new executions; no way back;
 * one version per kernel section; no thread inside a kernel section at the
 * switch instant) as assertions; liveness with -DLIVE. -DLEAN: one call per
 * kernel section, single calls outside.
 */
#define LEAVE LEAVE_KERNEL
#define SW SWITCH_KERNEL
#define FLAGS 0
#include "lp_engine.pml"

proctype thread(byte id) {
    THREAD_LOCALS;
    me = id;
    if
    :: me == 0 ->
       do
       :: done -> break
#ifndef LEAN
       :: kernel_enter(); call_f(); call_f(); kernel_exit()
#else
       :: kernel_enter(); call_f(); kernel_exit()
#endif
       od
    :: else ->
       do
       :: done -> break
#ifndef LEAN
       :: call_f_nested()               /* f outside the kernel: its own activation */
#else
       :: call_f()
#endif
       od
    fi
}

init { PATCHER_LOCALS; start_all() }   /* init is the patcher */
