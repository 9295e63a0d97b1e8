/*
 * What lps_ftrace_trampoline.S shares with C and Swift, as numbers it can
 * include: the shadow stack's layout (lps_ftrace_shadow.c asserts it
 * against the C types) and what the fast hooks return.
 */
#ifndef LPS_FTRACE_LAYOUT_H
#define LPS_FTRACE_LAYOUT_H

/* Shadow return stack entries per thread. A call that finds it full runs
 * its function's steady implementation, neither counted nor hooked. */
#define LPS_FTRACE_SHADOW_DEPTH 32
/* offsetof(shadow_stack_t, e): its entries {ret, sp, f, r12}, 32 bytes
 * (1 << LPS_SHADOW_ENTRY_SHIFT) each, r12 at LPS_SHADOW_R12. */
#define LPS_SHADOW_E 8
#define LPS_SHADOW_ENTRY_SHIFT 5
#define LPS_SHADOW_R12 24

/* struct lps_ftrace_hooked's rest when a fast hook did nothing: the
 * trampoline calls the full hook (lps_ftrace_enter, lps_ftrace_exit). No
 * transition epoch is ever this. */
#define LPS_FTRACE_HOOK (-1)
/* ... when the fast exit hook popped and counted the frame and the rest of
 * the exit must run (lps_ftrace_exit_rest). */
#define LPS_FTRACE_EXIT_REST 1

#endif
