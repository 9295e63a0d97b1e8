/*
 * The return hook's shadow stack, which lps_ftrace_trampoline.S pushes and
 * pops, and the trampoline's slow paths. Each hooked call keeps {real
 * return address, stack pointer at its return, function, the caller's r12}
 * on the calling thread's shadow stack, as the kernel's function_graph
 * tracer does; the trampoline's return site pops by stack pointer, so
 * entries left by longjmp or an exception are dropped at the next return
 * below them.
 */
#include "lps_ftrace_shim.h"
#include "lps_shim.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

struct shadow_entry {
    uintptr_t ret; /* where the call returns to */
    uintptr_t sp;  /* the stack pointer after that return */
    struct lp_func *f;
    uintptr_t r12; /* the caller's r12: the trampoline keeps the entry's address there (unwinding, below) */
};

typedef struct shadow_stack {
    uint32_t depth;
    struct shadow_entry e[LPS_FTRACE_SHADOW_DEPTH];
} shadow_stack_t;

/* initial-exec, as lps_tls: the trampoline may run in a signal handler, and
 * a dynamic TLS access may allocate. The trampoline pushes and pops it
 * (lps_ftrace_trampoline.S): the depth is raised before the entry is
 * stored, so that a signal handler landing in between pushes above the
 * slot, never over it, and pops its own entry by stack pointer (the other
 * order let a handler overwrite the entry being pushed, and the return of
 * that call then matched nothing: Tests/unit/ftrace_signals.c); an entry is
 * read before the depth drops below it. */
LPS_INTERNAL __thread shadow_stack_t lps_ftrace_shadow __attribute__((tls_model("initial-exec")));

/* What the trampoline reads, at the offsets of lps_ftrace_layout.h. */
_Static_assert(offsetof(shadow_stack_t, e) == LPS_SHADOW_E, "LPS_SHADOW_E");
_Static_assert(offsetof(shadow_stack_t, depth) == 0 && sizeof(struct shadow_entry) == 1 << LPS_SHADOW_ENTRY_SHIFT &&
               offsetof(struct shadow_entry, sp) == 8 && offsetof(struct shadow_entry, f) == 16 &&
               offsetof(struct shadow_entry, r12) == LPS_SHADOW_R12,
               "the trampoline's shadow entries");

/* From the trampoline: a pad reached it before discovery published it (only
 * an armed pad jumps there, and a pad is published before it is armed). */
LPS_INTERNAL __attribute__((noreturn)) void lps_ftrace_unpublished(const struct lps_ftrace_cell *cell)
{
    fprintf(stderr, "livepatch: ftrace trampoline reached from %p, which is no published pad\n", cell->pad);
    abort();
}

/* From the trampoline's return site: no hooked call returns at sp. */
LPS_INTERNAL __attribute__((noreturn)) void lps_ftrace_unmatched(uintptr_t sp)
{
    fprintf(stderr, "livepatch: ftrace return at sp %p matches no hooked call\n", (void *)sp);
    abort();
}

/* The index above the entries below `top` whose calls left without
 * returning (an exception, longjmp) and that no return below them has
 * dropped yet, for a call whose stack pointer after its return will be sp:
 * their stack pointers are at or below sp, where no live call's is (a live
 * call's is above its callees'). */
static uint32_t above_left(uint32_t top, uintptr_t sp)
{
    while (top > 0 && lps_ftrace_shadow.e[top - 1].sp <= sp)
        top--;
    return top;
}

/* From the trampoline, when the shadow stack is full, for a call whose
 * stack pointer after its return will be sp: drops the entries at the top
 * whose calls left without returning; 1 when that made room. On the
 * alternate signal stack, stack pointers say nothing about the interrupted
 * stack's entries: nothing is dropped there. A signal handler landing here
 * pushes above the depth read, and pops its own. */
LPS_INTERNAL int lps_ftrace_make_room(uintptr_t sp)
{
    if (lps_sys_on_altstack())
        return 0;
    uint32_t d = above_left(lps_ftrace_shadow.depth, sp);
    if (d == lps_ftrace_shadow.depth)
        return 0;
    lps_ftrace_shadow.depth = d;
    return 1;
}

/* From the entry hook in full (lps_ftrace_enter, which the trampoline calls
 * when the fast half found frames left at or below the call's key, or could
 * not run), for a call just pushed whose stack pointer after its return
 * will be sp, and that is no tail call: drops the entries below it whose
 * calls left without returning, and moves its entry down. Without this,
 * entries left by exceptions thrown again and again from below the same
 * call site would pile up under the live ones, and fill the stack. The
 * trampoline then finds its entry again (r12). Not on the alternate signal
 * stack, as lps_ftrace_make_room. */
LPS_INTERNAL void lps_ftrace_drop_left(uintptr_t sp)
{
    uint32_t top = lps_ftrace_shadow.depth;
    if (top == 0 || lps_ftrace_shadow.e[top - 1].sp != sp || lps_sys_on_altstack())
        return;
    uint32_t k = above_left(top - 1, sp);
    if (k == top - 1)
        return;
    /* A signal handler landing here pushes above top and pops its own. */
    lps_ftrace_shadow.e[k] = lps_ftrace_shadow.e[top - 1];
    lps_ftrace_shadow.depth = k + 1;
}

/* From the trampoline, when the shadow stack is full: the call runs
 * uncounted and unhooked, in f's steady implementation (its body after
 * the pad for its own). */
LPS_INTERNAL const void *lps_ftrace_unhooked_target(const struct lps_ftrace_cell *cell)
{
    const struct lp_func *f = cell->f;
    const void *impl = __atomic_load_n(&f->impl, __ATOMIC_RELAXED);
    return lps_ftrace_call_target(cell, f->orig, impl);
}

/* The trampoline's code range and return site, for the stack walker
 * (lps_stack_shim.c) and lp_ftrace_return_address: 0 until a pad is mapped,
 * and until then no call can be hooked. Through these, not the symbols of
 * the assembly: the walker is linked into every program, and a program that
 * maps no pad then links no trampoline (the LTO flavour has none: its
 * archive is bitcode). Stored before any pad is armed; the arming's
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE (lps_ftrace_text.c) orders
 * them before every thread's first hooked call. */
static uintptr_t trampoline_lo, trampoline_hi, return_site;

void lps_ftrace_note_trampoline(void)
{
    __atomic_store_n(&trampoline_lo, (uintptr_t)lps_ftrace_trampoline, __ATOMIC_RELAXED);
    __atomic_store_n(&trampoline_hi, (uintptr_t)lps_ftrace_trampoline_end, __ATOMIC_RELAXED);
    __atomic_store_n(&return_site, (uintptr_t)lps_ftrace_return_site, __ATOMIC_RELAXED);
}

int lps_ftrace_in_trampoline(uintptr_t pc)
{
    return pc >= __atomic_load_n(&trampoline_lo, __ATOMIC_RELAXED) && pc < __atomic_load_n(&trampoline_hi, __ATOMIC_RELAXED);
}

int lps_ftrace_is_return_site(uintptr_t a)
{
    uintptr_t site = __atomic_load_n(&return_site, __ATOMIC_RELAXED);
    return site != 0 && a == site;
}

const void *lps_ftrace_real_return(const void *ret, const void *slot)
{
    if (!lps_ftrace_is_return_site((uintptr_t)ret))
        return ret;
    for (uint32_t d = lps_ftrace_shadow.depth; d > 0; d--)
        if (lps_ftrace_shadow.e[d - 1].sp == (uintptr_t)slot + sizeof(uintptr_t))
            return (const void *)lps_ftrace_shadow.e[d - 1].ret;
    return ret;
}
