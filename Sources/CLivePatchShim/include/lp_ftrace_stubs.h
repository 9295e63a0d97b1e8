/* The landing stubs of one object's pads (lp_ftrace_stubs.c). */
#ifndef LP_FTRACE_STUBS_H
#define LP_FTRACE_STUBS_H

#include "lp_ftrace_shim.h"

/* Maps the stubs for the cells of `count` pads (sorted by pad, distinct,
 * of one object, at least 5 bytes apart), which must live as long as the
 * process. 0; -ERANGE the text lies too low, -EEXIST (or another -errno of
 * mmap) the range is taken, -EPERM. */
int lp_ftrace_map_stubs(struct lp_ftrace_cell *cells, size_t count);

#endif
