/*
 * The layouts lps_ftrace_trampoline.S reads, as numbers it can include;
 * lps_ftrace_shadow.c asserts each against the C types.
 */
#ifndef LPS_FTRACE_LAYOUT_H
#define LPS_FTRACE_LAYOUT_H

/* Shadow return stack entries per thread. A call that finds it full runs
 * its function's steady implementation, neither counted nor hooked. */
#define LPS_FTRACE_SHADOW_DEPTH 32
/* offsetof(shadow_stack_t, e): its entries {ret, sp, f}, 24 bytes each. */
#define LPS_SHADOW_E 8
/* offsetof(struct lp_func, orig) */
#define LPS_FUNC_ORIG 48
/* offsetof(struct lps_ftrace_cell, pad) */
#define LPS_CELL_PAD 8

/* lps_ftrace_entry.rest when the fast entry hook did nothing: the
 * trampoline calls lp_func_enter. No epoch is ever this. */
#define LPS_FTRACE_ENTER_HOOK (-1)
/* What the fast exit hook (lps_ftrace_exit_fast) returns. */
#define LPS_FTRACE_EXITED 0    /* the exit is done */
#define LPS_FTRACE_EXIT_HOOK 1 /* nothing done: the trampoline calls lp_func_exit */
#define LPS_FTRACE_EXIT_REST 2 /* popped and counted: lps_ftrace_exit_rest does the rest */

#endif
