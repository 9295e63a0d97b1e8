/* urcu_qsbr's read side and quiescent state inlined (_LGPL_SOURCE), each one
 * non-inlined call. QSBR read-side sections cost (almost) nothing: the price
 * is the quiescent state each reader must announce, hence the two variants
 * in hookbench (one per call, one per 1024 calls). */
#define _LGPL_SOURCE
#include <urcu/urcu-qsbr.h>

#include "hb.h"

void hb_qsbr_register(void) { urcu_qsbr_register_thread(); }
void hb_qsbr_unregister(void) { urcu_qsbr_unregister_thread(); }
__attribute__((noinline, aligned(64))) void hb_qsbr_lock(void) { urcu_qsbr_read_lock(); }
__attribute__((noinline, aligned(64))) void hb_qsbr_unlock(void) { urcu_qsbr_read_unlock(); }
__attribute__((noinline, aligned(64))) void hb_qsbr_quiescent(void) { urcu_qsbr_quiescent_state(); }
