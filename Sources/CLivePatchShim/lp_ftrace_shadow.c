/*
 * The return hook's shadow stack: what lp_ftrace_trampoline.S calls. Each
 * hooked call keeps {real return address, function, stack pointer at its
 * return} on the calling thread's shadow stack, as the kernel's
 * function_graph tracer does; the trampoline's return site pops by stack pointer,
 * so entries left by longjmp or an exception are dropped at the next return
 * below them.
 */
#include "lp_ftrace_shim.h"
#include "lp_shim.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

struct shadow_entry {
    uintptr_t ret; /* where the call returns to */
    uintptr_t sp;  /* the stack pointer after that return */
    struct lp_func *f;
};

typedef struct shadow_stack {
    uint32_t depth;
    struct shadow_entry e[LP_FTRACE_SHADOW_DEPTH];
} shadow_stack_t;

/* initial-exec, as lp_tls: the trampoline may run in a signal handler, and
 * a dynamic TLS access may allocate. */
static __thread shadow_stack_t shadow __attribute__((tls_model("initial-exec")));

/* The trampoline compares lp_func_enter's answer with f->orig, and reads
 * the pad from its cell. */
_Static_assert(offsetof(struct lp_func, orig) == 48, "LP_FUNC_ORIG in lp_ftrace_trampoline.S");
_Static_assert(offsetof(struct lp_ftrace_cell, pad) == 8, "LP_CELL_PAD in lp_ftrace_trampoline.S");

/* From the trampoline, before lp_func_enter: the function of the pad that
 * jumped there, with the return address (in the slot the caller's call
 * filled, which the trampoline's call of the implementation overwrites)
 * kept on the shadow stack; NULL when the shadow stack is full. */
LP_INTERNAL struct lp_func *lp_ftrace_push(const struct lp_ftrace_cell *cell, const uintptr_t *ret_slot)
{
    struct lp_func *f = __atomic_load_n(&cell->f, __ATOMIC_RELAXED);
    if (f == NULL) {
        /* Only armed pads reach the trampoline, and a pad is published
         * before it is armed: anything else is a bug. */
        fprintf(stderr, "livepatch: ftrace trampoline reached from %p, which is no published pad\n", cell->pad);
        abort();
    }
    uint32_t d = shadow.depth;
    if (d >= LP_FTRACE_SHADOW_DEPTH)
        return NULL;
    shadow.e[d] = (struct shadow_entry){.ret = *ret_slot, .sp = (uintptr_t)(ret_slot + 1), .f = f};
    /* The entry before the depth: a signal handler landing in between
     * pushes above this entry (and pops its own by stack pointer). A
     * compiler fence only: every access is the thread's own. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    shadow.depth = d + 1;
    return f;
}

/* From the trampoline, when the shadow stack is full: the call runs
 * uncounted and unhooked, in f's steady implementation (its body after
 * the pad for its own). */
LP_INTERNAL const void *lp_ftrace_unhooked_target(const struct lp_ftrace_cell *cell)
{
    const struct lp_func *f = cell->f;
    const void *impl = __atomic_load_n(&f->impl, __ATOMIC_RELAXED);
    return impl == f->orig ? (const char *)cell->pad + 5 : impl;
}

typedef struct {
    struct lp_func *f;
    uintptr_t ret;
} lp_ftrace_return_t;

/* From the trampoline's return site, `sp` its stack pointer: the hooked
 * call that returned there. Entries above it were left without returning (longjmp, an
 * exception unwound by hand) and are dropped: lp_func_exit's frame keys
 * drop their activations too. */
LP_INTERNAL lp_ftrace_return_t lp_ftrace_pop(uintptr_t sp)
{
    uint32_t d = shadow.depth;
    while (d > 0 && shadow.e[d - 1].sp != sp)
        d--;
    if (d == 0) {
        fprintf(stderr, "livepatch: ftrace return at sp %p matches no hooked call\n", (void *)sp);
        abort();
    }
    lp_ftrace_return_t r = {shadow.e[d - 1].f, shadow.e[d - 1].ret};
    /* Read before the depth drops: a signal handler landing after may reuse
     * the entry. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    shadow.depth = d - 1;
    return r;
}

const void *lp_ftrace_real_return(const void *ret, const void *slot)
{
    if (ret != (const void *)lp_ftrace_return_site)
        return ret;
    for (uint32_t d = shadow.depth; d > 0; d--)
        if (shadow.e[d - 1].sp == (uintptr_t)slot + sizeof(uintptr_t))
            return (const void *)shadow.e[d - 1].ret;
    return ret;
}
