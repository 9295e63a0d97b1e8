/*
 * The asymmetric fence, named by role as liburcu names smp_mb_slave and
 * smp_mb_master. Every hook runs the thread side, a compiler barrier that
 * costs nothing; the patcher runs its side, which makes every running thread
 * execute a full barrier (membarrier, or a signal barrier where the kernel
 * refuses it; lps_fence.c). Each call site names the access it orders.
 */
#ifndef LPS_FENCE_H
#define LPS_FENCE_H

/* The thread side: orders the hook's own accesses in program order against
 * the compiler only. Pairs with lps_patcher_side_fence(). */
static inline void lps_thread_side_fence(void) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

void lps_patcher_side_fence_init(void); /* membarrier where the kernel has it, else the signal barrier */
/* The patcher side: a full fence on every thread of the process. Pairs with
 * lps_thread_side_fence() in every hook. */
void lps_patcher_side_fence(void);

#endif /* LPS_FENCE_H */
