/* The landing stubs of one object's pads (lp_ftrace_stubs.c). */
#ifndef LP_FTRACE_STUBS_H
#define LP_FTRACE_STUBS_H

#include <stddef.h>
#include <stdint.h>

/* Maps the stubs for `count` pads (sorted, distinct, of one object, at
 * least 5 bytes apart). 0; -ERANGE the text lies too low, -EEXIST (or
 * another -errno of mmap) the range is taken, -EPERM. */
int lp_ftrace_map_stubs(const uintptr_t *pads, size_t count);

#endif
