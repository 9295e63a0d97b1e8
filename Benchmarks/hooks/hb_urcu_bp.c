/* urcu_bp's read side inlined (_LGPL_SOURCE), each half one non-inlined call.
 * urcu_bp registers the thread on its first read lock. */
#define _LGPL_SOURCE
#include <urcu/urcu-bp.h>

#include "hb.h"

__attribute__((noinline, aligned(64))) void hb_bp_lock(void) { urcu_bp_read_lock(); }
__attribute__((noinline, aligned(64))) void hb_bp_unlock(void) { urcu_bp_read_unlock(); }
