/*
 * kgraft.pml: LP_MODEL_KGRAFT = LEAVE_KERNEL x SWITCH_THREAD.
 *
 * Kernel sections are the activations: an outermost lp_kernel_enter()
 * begins one (beginActivation, kernel kind) that takes lps_global.target at
 * its start; calls of the set function f inside it take that universe; a
 * call of f outside any kernel section is an activation of its own. A
 * kernel section that began before the transition runs old to its end, and
 * the patcher (blockReason after startTransition's membarrier) waits for
 * it. Thread 0 alternates kernel sections { f; f } and calls f { f } outside
 * the kernel; thread 1 is a kthread that lives inside one kernel section
 * and calls lp_safe_point() between calls of f.
 *
 * Mirrors (see lp_engine.pml for the line-by-line mapping):
 *   Hooks/            lp_kernel_enter, lp_kernel_exit, lp_safe_point/rearm,
 *                     lp_func_enter, enterInTransition, lp_func_exit/exitSlow
 *   Hooks/Activation.swift  beginActivation, staleActivation, activationUniverse,
 *                     endActivation
 *   Transition/       startTransition, tryCompleteLocked (SWITCH_THREAD:
 *                     scan), lp_transition_reverse, lp_transition_force,
 *                     complete
 *   Transition/Scan.swift  blockReason (LEAVE_KERNEL: kdepth && !kernelFresh)
 *
 * Properties: I0 and I1 (monotonic per thread; one version per kernel
 * section / per activation) as assertions in exec_begin; liveness with
 * -DLIVE. -DLEAN: one call per kernel section, no calls outside the kernel.
 * -DNO_SAFE_POINT: the kthread never passes a safe point (a negative
 * control: the liveness property must fail).
 */
#define LEAVE LEAVE_KERNEL
#define SW SWITCH_THREAD
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
       :: call_f_nested()               /* f outside the kernel: its own activation */
#else
       :: kernel_enter(); call_f(); kernel_exit()
#endif
       od
    :: else ->
       kernel_enter();                 /* a kthread: lives in the kernel */
       do
       :: done -> break
#ifndef NO_SAFE_POINT
       :: call_f(); safe_point()
#else
       :: call_f()                      /* a kthread that never reaches a switch point */
#endif
       od
    fi
}

init { PATCHER_LOCALS; start_all() }   /* init is the patcher */
