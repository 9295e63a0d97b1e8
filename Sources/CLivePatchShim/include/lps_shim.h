/*
 * CLivePatchShim: what the Swift engine cannot express itself, and nothing
 * else. No engine logic lives here; the engine imports this module
 * internally, and its clients see only the ABI's types (CInclude/).
 *
 * Why each piece is C:
 *  - lps_tls.h, lps_sim_thread.h: Swift has no thread-local storage with the
 *    initial-exec model; a %fs-relative access costs ~1 ns where
 *    __tls_get_addr costs 10-20, and is not async-signal-safe in a shared
 *    library.
 *  - lps_records.h, lps_addr_table.h, lps_atomics.h: Swift has no atomic
 *    operations on fields of memory it did not allocate as Atomic<T>, and the
 *    hooks must address these records through a plain pointer with a fixed
 *    layout.
 *  - lps_fence.h, lps_sys.h, lps_locks.h, lps_rcu.h: membarrier, futex,
 *    signals, pthread locks and liburcu's static inlines and list macros.
 *  - lps_shadow_shim.h, lps_elf_shim.h, lps_ftrace_*.h, lps_stack_shim.h:
 *    liburcu's hash table, libelf, code patching and the signal-handler
 *    stack walker, each in its own pair of files.
 * Internal names take the lps_ prefix; lp_ is the ABI's.
 */
#ifndef LPS_SHIM_H
#define LPS_SHIM_H

#include "lps_addr_table.h"
#include "lps_atomics.h"
#include "lps_fence.h"
#include "lps_locks.h"
#include "lps_rcu.h"
#include "lps_records.h"
#include "lps_sim_thread.h"
#include "lps_sys.h"
#include "lps_tls.h"
#include <errno.h>

/* Negative-errno values the engine returns, as constants Swift can see. */
enum lps_errno {
    LPS_EINVAL = EINVAL, LPS_ENOENT = ENOENT, LPS_EEXIST = EEXIST, LPS_EBUSY = EBUSY,
    LPS_ETIMEDOUT = ETIMEDOUT, LPS_ENOMEM = ENOMEM, LPS_EDEADLK = EDEADLK,
    LPS_ECANCELED = ECANCELED, /* parity: a pre_patch callback cancelled lp_patch_enable */
    LPS_EAGAIN = EAGAIN, LPS_EINTR = EINTR, /* lp_sim_wait */
    LPS_ENOEXEC = ENOEXEC, /* lp_func_register_object: no symbol table */
};

#endif /* LPS_SHIM_H */
