/* The landing stubs of one object's pads (lps_ftrace_stubs.c). */
#ifndef LPS_FTRACE_STUBS_H
#define LPS_FTRACE_STUBS_H

#include "lps_ftrace_shim.h"

/* Maps the stubs for the cells of `count` pads (sorted by pad, distinct,
 * of one object, at least 5 bytes apart), which must live as long as the
 * process. 0; -ERANGE the text lies too low, -EEXIST (or another -errno of
 * mmap) the range is taken, -EPERM. */
int lps_ftrace_map_stubs(struct lps_ftrace_cell *cells, size_t count);

#endif
