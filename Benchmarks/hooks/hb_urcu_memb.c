/*
 * urcu_memb's read side with _LGPL_SOURCE: the fast path is inlined into
 * these two functions, and each is one non-inlined call, as lp_func_enter and
 * lp_func_exit are (docs/DESIGN.md section 6). This file must stay apart from
 * hookbench.c, which includes the same header without _LGPL_SOURCE to call
 * the library's exported functions ("through the shared object").
 */
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>

#include "hb.h"

__attribute__((noinline, aligned(64))) void hb_memb_lock(void) { urcu_memb_read_lock(); }
__attribute__((noinline, aligned(64))) void hb_memb_unlock(void) { urcu_memb_read_unlock(); }
