/*
 * livepatch/ftrace.h: user-space ftrace, patching unmodified functions at
 * their patchable entry. Included by <livepatch.h>.
 */
#ifndef LIVEPATCH_FTRACE_H
#define LIVEPATCH_FTRACE_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- user-space ftrace: patching unmodified functions at their entry ------
 * (docs/FTRACE.md.) A function compiled with -fpatchable-function-entry=5
 * (GCC or clang, x86-64; the second number, if any, must be 0) starts with
 * a pad of five NOPs, listed in its object's __patchable_function_entries.
 * lp_ftrace_discover registers such functions; lp_patch_add_func and
 * lp_patch_extend_set then work on them as on any function, with no hook in
 * their callers, and every model, lp_transition_*, status, JSON, callbacks
 * and shadow variables work unchanged:
 *  - while some patch names a function (from lp_patch_add_func,
 *    lp_patch_add_func_by_name or lp_patch_extend_set until
 *    lp_patch_destroy; a name given before discovery names it once
 *    discovery registers it), its pad jumps to a trampoline that runs
 *    lp_func_enter, calls the implementation the calling thread must run
 *    (its own body after the pad, or the replacement) in place of the
 *    caller's call (same stack, same arguments), and runs lp_func_exit when
 *    it returns: the function is counted exactly like a hook-called one. When no patch names it, its
 *    pad is NOPs again and a call costs only those. lp_patch_add_func and
 *    lp_patch_extend_set answer -EINVAL when the pad cannot be rewritten
 *    (mprotect refused, or its bytes are not what discovery found).
 *  - a replacement must not call the function it replaces by its name or
 *    address: that call enters the pad again and is redirected to the
 *    replacement (an endless recursion). A hook-called function's
 *    replacement may call the original implementation; this one may not.
 *  - a thread already inside a function when its pad is armed is not
 *    counted in that activation (as with a function registered while it
 *    runs): for a LEAVE_PATCHED_SET model, name the function in a patch
 *    (lp_patch_add_func) before the threads that must be seen enter it.
 *  - the pad is rewritten while threads run it, never writable longer than
 *    the write (W^X), serialised on every core with
 *    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) where the kernel
 *    has it. The library installs a SIGTRAP handler at the first arming (an
 *    int3 stands in the pad's first byte while it changes); int3s that are
 *    not its own go to the handler installed before it, or to the default
 *    action. A program that installs its own SIGTRAP handler later must
 *    chain to the previous one.
 *  - the trampoline saves the argument registers of the System V ABI
 *    (integer, r10, xmm0-7) and the return registers (rax, rdx, xmm0-1), not
 *    the upper halves of ymm/zmm arguments nor an x87 return value: a
 *    function that takes __m256/__m512 arguments or returns long double
 *    must not be named in a patch.
 *  - return hooking keeps at most 32 hooked calls per thread (a shadow
 *    stack); a deeper call runs its function's current implementation,
 *    neither counted nor hooked.
 *  - unwinding: while a hooked call runs, its return address on the stack
 *    is the trampoline's, and the real one is on the library's per-thread
 *    shadow stack; the trampoline's unwind information (CFI) says where
 *    (through r12, which the trampoline points at the call's shadow entry),
 *    so backtrace(), gdb and C++ exceptions unwind through hooked calls,
 *    tail calls between pad functions included. A C++ exception that leaves
 *    hooked calls skips their exit hooks: they are exited as abandoned by
 *    the thread's next hook above them, as after longjmp, and their shadow
 *    entries are dropped. Stack walkers that do not read CFI (frame
 *    pointers only) see the trampoline's return site:
 *    lp_ftrace_return_address gives the real return address of such a
 *    frame, as the kernel's ftrace_graph_ret_addr does.
 *  - the pad's landing stubs are mapped 1.8 GiB below the object's text
 *    (the armed pad's jmp keeps GCC's NOPs as displacement, so that only
 *    its first byte ever changes): an object whose range there is taken,
 *    or a non-PIE executable mapped too low for it, is skipped by
 *    discovery. */

/* Register, under its symbol name, every function with a patchable entry in
 * the executable and the loaded objects (dl_iterate_phdr, libelf), as
 * lp_func_register does at its address; a local function whose name
 * another took is registered as "file.c:f". An object already scanned is
 * skipped, so call it again after dlopen for the new object's functions. A
 * function already registered at that address (by lp_func_register, under
 * any name) gets its pad and is not registered again. flags: 0. Returns how
 * many functions got a pad (0 when nothing new was loaded); -EINVAL flags
 * nonzero, -ENOMEM LP_MAX_FUNCS reached (those before keep theirs). Link
 * with -lelf. */
int lp_ftrace_discover(unsigned flags);
/* 1 when f has a patchable entry (registered by lp_ftrace_discover), 0 when
 * not; -EINVAL NULL, -ENOENT unknown handle. */
int lp_ftrace_patchable(const lp_func_t *f);
/* The address a frame returns to, given the return address read from its
 * stack slot `slot` on the calling thread's own stack: the real one when
 * ret is the trampoline's return site of a hooked call, else ret. */
const void *lp_ftrace_return_address(const void *ret, const void *slot);
/* Called by instrumented code: counts an entry (exit) of fn when fn was
 * registered with lp_func_register_auto(); call_site is not used. */
void __cyg_profile_func_enter(void *fn, void *call_site);
void __cyg_profile_func_exit(void *fn, void *call_site);

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_FTRACE_H */
