/*
 * User-space ftrace, the C half (docs/FTRACE.md): the pads GCC/clang emit
 * with -fpatchable-function-entry=5 (x86-64: five one-byte NOPs at the
 * function's entry, listed in __patchable_function_entries), the text
 * patching that turns a pad into a jump to the trampoline and back, and the
 * per-thread shadow return stack of the return hook. Ftrace.swift registers
 * the functions and decides when a pad is armed.
 */
#ifndef LPS_FTRACE_SHIM_H
#define LPS_FTRACE_SHIM_H

#include <stddef.h>
#include <stdint.h>

struct lp_func;

/* One pad, as its stub knows it: the stub's slot loads the cell's address
 * into r11 for the trampoline. */
struct lps_ftrace_cell {
    struct lp_func *f; /* NULL until published (lps_ftrace_pad_publish) */
    const void *pad;
};

/* ---- discovery (lps_ftrace_scan.c) ------------------------------------------ */

/* Called once per pad found: the function's symbol name, the name to
 * register it under when another function took that one ("file.c:f"; NULL:
 * none), its loaded address, and the pad's cell. A nonzero return
 * stops the scan and is returned by lps_ftrace_scan. */
typedef int (*lps_ftrace_pad_cb)(const char *name, const char *fallback, const void *func,
                                struct lps_ftrace_cell *cell, void *ctx);

/* Calls cb for every pad of every loaded object (dl_iterate_phdr; the
 * section is read where the loader mapped and relocated it) whose function
 * has a symbol, after mapping the object's trampoline stubs (below). Objects
 * already scanned are skipped, so a second call reports what dlopen brought.
 * 0 or cb's nonzero return; -ENOMEM. An object whose file is not readable as
 * ELF, or whose stub range is taken, is skipped. */
int lps_ftrace_scan(lps_ftrace_pad_cb cb, void *ctx);

/* ---- the pad table (lps_ftrace_pads.c) -------------------------------------- */

/* Records that the cell's pad belongs to f. Insert-only and lock-free for readers: the int3 handler
 * looks pads up, the trampoline reads the cell. 0, -EEXIST pad already
 * known. Callers serialise (the patcher lock). */
int lps_ftrace_pad_publish(struct lps_ftrace_cell *cell, struct lp_func *f);
/* The function whose pad starts at `pad`, or NULL. Async-signal-safe. */
struct lp_func *lps_ftrace_pad_func(const void *pad);
/* The pad of f, or NULL when f has none. */
const void *lps_ftrace_pad_of(const struct lp_func *f);
/* The five bytes of f's pad as compiled (f has a pad). */
const unsigned char *lps_ftrace_pad_nops(const struct lp_func *f);

/* ---- text patching (lps_ftrace_text.c) -------------------------------------- */

/* Whether the five bytes at pad are a pad this library can rewrite: five
 * one-byte NOPs (GCC) or one five-byte NOP, 0F 1F 44 00 xx (clang). */
int lps_ftrace_pad_usable(const void *pad);
/* Turns the pad of f into a jmp to the trampoline (armed) or back into its
 * NOPs, by the kernel's text_poke_bp protocol (docs/FTRACE.md): int3 on the
 * first byte, then the other four, then the first, every core serialised
 * after each step, the page writable only meanwhile. The jmp's
 * displacement is 0x90909090, so a GCC pad's last four bytes never change
 * (a thread inside its one-byte NOPs runs NOPs whatever happens); a clang
 * pad is one instruction, which no thread can be inside.
 * Callers serialise (the patcher lock). 0, -ENOENT f has no pad, -EPERM
 * mprotect refused, -EIO the pad does not hold what it should. */
int lps_ftrace_set_armed(const struct lp_func *f, int armed);

/* The displacement every armed pad's jmp has: a GCC pad's four NOPs read
 * as rel32. The jmp lands at pad + 5 + LPS_FTRACE_REL32, in the object's
 * stub range. */
#define LPS_FTRACE_REL32 ((int64_t)(int32_t)0x90909090u)

/* ---- the trampoline (lps_ftrace_trampoline.S, lps_ftrace_shadow.c) ---------- */

void lps_ftrace_trampoline(void);
/* The address the trampoline calls for implementation `impl` of the pad
 * function of `cell` (whose original entry is `orig`): its own
 * implementation is its body after the pad (its entry would run the pad
 * again). */
static inline const void *lps_ftrace_call_target(const struct lps_ftrace_cell *cell, const void *orig, const void *impl)
{
    return impl == orig ? (const char *)cell->pad + 5 : impl;
}

/* What the trampoline's fast hooks (Ftrace/TrampolineHooks.swift) return,
 * in rax:rdx. rest 0: done, and for an entry `to` is the address to call;
 * otherwise the trampoline calls a slow path (LPS_FTRACE_* in
 * lps_ftrace_layout.h, or an entry's transition epoch) with `to`, the cell
 * or the function it was given back. */
struct lps_ftrace_hooked {
    const void *to;
    uint64_t rest;
};
/* The entry hook's part in dropping shadow entries of calls that left
 * without returning (lps_ftrace_shadow.c). */
void lps_ftrace_drop_left(uintptr_t sp);
/* Where a hooked call's implementation returns to, in the trampoline. */
void lps_ftrace_return_site(void);
/* The end of the trampoline's code. */
void lps_ftrace_trampoline_end(void);
/* Notes the trampoline's code range and return site for the two calls
 * below; lps_ftrace_map_stubs runs it before any pad can be armed. */
void lps_ftrace_note_trampoline(void);
/* Whether pc is in the trampoline, where a hooked call's return address is
 * for a few instructions on neither the stack nor the shadow stack. */
int lps_ftrace_in_trampoline(uintptr_t pc);
/* Whether a is the trampoline's return site. */
int lps_ftrace_is_return_site(uintptr_t a);

#include "lps_ftrace_layout.h"
/* The real return address for a return address read from a stack slot
 * (`slot`: where it was read), as the kernel's ftrace_graph_ret_addr: the
 * return trampoline is replaced by the address it will return to. Others
 * come back unchanged. For the calling thread's own stack. */
const void *lps_ftrace_real_return(const void *ret, const void *slot);

#endif
