/* The pad workload (pad_workload.c). */
#ifndef LP_TORTURE_PAD_WORKLOAD_H
#define LP_TORTURE_PAD_WORKLOAD_H

#include <livepatch.h>

/* A function compiled with the pad of -fpatchable-function-entry=5. */
#define PAD_ENTRY __attribute__((patchable_function_entry(5, 0)))

/* The body after a PAD_ENTRY function's pad: what a hook-called caller
 * runs for that implementation, so that its pad (armed) does not count the
 * call a second time. Skipping the pad's NOPs changes nothing else. */
#define PAD_BODY(fn) ((__typeof__(fn))(const void *)((const char *)(const void *)(fn) + 5))

/* Registers the pads of the torture's functions (already registered by
 * name at their original implementations) and arms them for the run. 0, or
 * -1 with a line on stderr. */
int pad_workload_setup(lp_func_t *const *f, int nf);

#endif
