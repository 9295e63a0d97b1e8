/*
 * lp_engine.pml: the swift-livepatch engine as one Promela model, shared by
 * the per-protocol models (kgraft.pml, upstream.pml, kpatch.pml,
 * hiramatsu.pml, renew.pml). A model file defines its cell, includes this
 * file, and gives the threads' workloads:
 *
 *   LEAVE  LEAVE_PATCHED_SET | LEAVE_KERNEL                (lps_global.leave)
 *   SW     SWITCH_THREAD | SWITCH_KERNEL     (lps_global.sw, effectiveSwitch)
 *   FLAGS  F_KERNEL_EXIT_SWITCHES | F_ARM_AT_KERNEL_EXIT   (lps_global.flags)
 *
 * It mirrors, function by function, the loads and stores of (Swift names in
 * the comments below):
 *
 *   thread side   Hooks/          lp_func_enter, enterInTransition,
 *                                 lp_func_exit, rearm (FunctionHooks);
 *                                 lp_kernel_enter, lp_kernel_exit,
 *                                 lp_safe_point, lp_thread_offline,
 *                                 lp_thread_online (KernelSections);
 *                                 activationUniverse, beginActivation,
 *                                 endActivation, notifyPatcher (its lock
 *                                 xadd: a full fence), waitWhileHeld
 *                                 (Activation)
 *   patcher side  Transition/     startTransition, tryCompleteLocked,
 *                                 holdAndSwitchKernel, holding,
 *                                 releaseHold, complete, blockReason, scan;
 *                                 lp_transition_reverse,
 *                                 lp_transition_force (ABI/TransitionsAPI)
 *   records       lps_records.h   lps_thread_rec_t (fdepth, kdepth, fepoch,
 *                                 kepoch, act, offline); lps_global_t
 *                                 (epoch, target, kuniv, hold,
 *                                 kernel_area); struct lp_func (impl,
 *                                 tx_epoch, tx_old, tx_new)
 *
 * Memory model: x86-TSO. Every store of a hook goes into its thread's FIFO
 * store buffer (chan sb[t]); the thread's drainer process commits the
 * oldest entry to memory (the m_* arrays: all the patcher can read) at
 * times of its own choosing. A thread's loads of its own record are
 * forwarded from its buffer; only the owner writes its record, so that is
 * "the value it stored last", kept in the thread's locals (fdepth, kdepth,
 * fepoch, kepoch, act, offline). lps_thread_side_fence() is a compiler barrier and
 * drains nothing; acquire loads, release stores and lps_acquire_fence() are
 * plain moves on x86 and need nothing beyond TSO. A locked instruction
 * (notifyPatcher's fetch_add) drains the own buffer. lps_patcher_side_fence() is
 * what it is: a full barrier run on every CPU of the process, i.e. each
 * thread's buffer drains (thread by thread, when the IPI lands there), and
 * the patcher waits for all of them. The patcher itself is sequentially
 * consistent: each of its store-then-load pairs that matters is separated
 * by a membarrier or a locked instruction (holding(): store hold,
 * fetch_add waiting, membarrier).
 *
 * Granularity: every load of shared memory and every store of a thread is
 * a step of its own; only the thread's local computation is grouped with
 * them. (A store may not share a step with the load before it: the
 * patcher's membarrier drains buffers by force, and in the engine a thread
 * can stall between the load and the store across a whole membarrier and
 * scan.) The patcher's loads of one thread's record in blockReason are one
 * step with drains allowed between them, or (-DFINE_SCAN) a step each.
 *
 * Abstractions (README.md): one transition (epoch 0 -> 1) of one patched
 * function f with versions 0 (original) and 1 (patched); NT = 2 threads;
 * store buffers of SBSZ entries (a store waits while its buffer is full);
 * the entry/exit count cache, registration, signal handlers (the local CAS
 * in beginActivation always succeeds), and the wake-up machinery (waiting,
 * wake_seq, futexes, nudges) are left out: the patcher polls, so a lost
 * wake-up costs latency, not safety or liveness. The transition is driven
 * with lp_transition_try_complete(), so lp_transition_wait()'s extra
 * membarrier is not there to help.
 *
 * Variants (the default is the engine's protocol, README.md):
 *   -DREAD_EPOCH_FIRST  outermost entries read lps_global.epoch before they
 *                       announce fdepth / kdepth, as before 4f3be54
 *                       (README.md, finding B1): must fail
 *   -DNO_MEMBARRIER     every lps_patcher_side_fence() of the patcher removed;
 *                       -DNO_MB_START, -DNO_MB_HOLD, -DNO_MB_REVERSE: one
 *   -DREVERSE           the patcher may reverse the transition (once)
 *   -DFORCE             the patcher may force it
 *   -DFINE_SCAN         every patcher load of a thread record its own step
 *   -DSBSZ=n            store-buffer entries per thread (default 2)
 *   -DLEAN              the models' lean workloads (one call per activation)
 *   -DLIVE              the liveness property (ltl live); implies LEAN
 *   -DNO_RETRY_GAP, -DNO_PREMISE, and the models' own (README.md): negative
 *                       controls of the liveness runs
 *   -DHANDLER           a signal handler on thread 0 that may run once, at
 *                       any step of an lp_func_enter, and makes a nested
 *                       call of f (handler() below)
 *   -DOLD_SNAPSHOT      with HANDLER: the snapshot before the handler fix,
 *                       a nested entry that reads "unknown" takes the
 *                       steady implementation: must fail
 */

#include "engine_state.pml"
#include "engine_tso.pml"
#include "engine_activation.pml"
#include "engine_checks.pml"
#include "engine_handler.pml"
#include "engine_hooks.pml"
#include "engine_scan.pml"
#include "engine_transition.pml"
