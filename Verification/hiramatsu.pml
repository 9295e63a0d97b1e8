/*
 * hiramatsu.pml: LP_MODEL_HIRAMATSU = PATCHED_SET x SWITCH_KERNEL, with
 * LP_MODEL_F_ARM_AT_KERNEL_EXIT: kpatch's hold / membarrier / scan / flip
 * kuniv / release, where counting is armed lazily: a thread inside a kernel
 * section it entered before the transition blocks it (blockReason: kdepth
 * && kepoch != epoch) until it leaves the kernel once. Thread 0 calls f
 * inside kernel sections; thread 1 calls f { f } outside the kernel.
 *
 * Mirrors (see lp_engine.pml): as kpatch.pml, plus Hooks/
 * lp_kernel_enter / lp_kernel_exit (kepoch, kdepth) and the arming rule of
 * Transition/Scan.swift blockReason.
 *
 * Properties: I0, I2 as in kpatch.pml; at the switch instant no thread is
 * inside a kernel section that it entered before the start (assertion);
 * liveness with -DLIVE (-DNO_RETRY_GAP: holds retried at once, a negative
 * control, README.md O2). -DLEAN: single calls.
 */
#define LEAVE LEAVE_PATCHED_SET
#define SW SWITCH_KERNEL
#define FLAGS F_ARM_AT_KERNEL_EXIT
#include "lp_engine.pml"

proctype thread(byte id) {
    THREAD_LOCALS;
    me = id;
    if
    :: me == 0 ->
       do
       :: done -> break
       :: kernel_enter(); call_f(); kernel_exit()
       od
    :: else ->
       do
       :: done -> break
#ifndef LEAN
       :: call_f_nested()
#else
       :: call_f()
#endif
       od
    fi
}

init { PATCHER_LOCALS; start_all() }   /* init is the patcher */
