/*
 * The trampoline of armed pads, x86-64 System V (docs/FTRACE.md).
 *
 * An armed pad of f is `jmp` to its stub, which loads the pad's cell
 * (struct lps_ftrace_cell: f and the pad) into r11 and jumps here: [rsp] is
 * the address f returns to (R), S = rsp+8 the caller's stack pointer before
 * its call, and the return stack buffer holds R alone, as for any call. The
 * trampoline saves f's integer argument registers (rdi rsi rdx rcx r8 r9,
 * rax: the vector count of a variadic call, r10: a static chain), keeps R
 * on the thread's shadow stack (lps_ftrace_shadow.c), calls
 * lps_ftrace_enter_fast(cell, key) for the address to call, restores the
 * registers and *calls* that address with rsp = S: its return address lands
 * in R's slot and its stack arguments are where they were. When it returns
 * here (lps_ftrace_return_site, rsp = S) the integer return registers (rax
 * rdx) are saved, the shadow stack popped, lps_ftrace_exit_fast(f, key)
 * called, and the trampoline returns to R. Every call and ret pairs up: no
 * return is mispredicted.
 *
 * The fast hooks (Ftrace/TrampolineHooks.swift) touch no vector register,
 * so xmm0-7 (arguments) and xmm0-1 (return values) are saved only around
 * the slow halves, which may use them: when a fast hook's rest (rdx) is not
 * 0, the trampoline calls the slow half it names with what the fast hook
 * gave back in rax.
 *
 * Unwinding (C++ exceptions, backtrace(), gdb): from the shadow push until
 * R is back in its slot, r12 holds the address of the call's shadow entry,
 * which keeps R and the caller's r12, and the CFI says so (R at [r12],
 * the caller's r12 at [r12 + 24]). r12 is callee-saved: the implementation
 * keeps it, or its own CFI says where it put it, so an unwinder finds R
 * wherever it stops. An exception that leaves the call unwinds past the
 * return site; its shadow entry is dropped at the next hooked return below
 * it, as after longjmp.
 *
 * Every hook is passed key = S - 24 (S - 32 for a tail call from a hooked
 * implementation, ENTRY_KEY). It lies above every frame of the
 * implementation (whose calls are made at S - 16 or below, keys S - 32 or
 * below), so keys nest as the calls do, and a hook called inside the
 * implementation does not take the pad function's frame for one a jump left
 * (Tests/unit/ftrace_basic.c). It lies below the key S - 16 of a hook or
 * exported call made by the caller itself at the same stack pointer, so
 * that lp_transition_wait called where a pad function was left by a jump
 * drops that frame. Neither
 * half keeps a frame pointer: the frame is rsp-relative, and the CFI says
 * where R is. Not saved: the upper halves of ymm/zmm arguments and an x87
 * return value (long double).
 *
 * When the shadow stack is full, and no entry there belongs to a call that
 * left without returning, the implementation is jumped to, R left in place:
 * that call is neither counted nor hooked.
 */
#include "lps_ftrace_layout.h"

/* The argument registers, as saved at the trampoline's entry (integer ones
 * at 128-191): the vector ones only around a call that may use them. */
.macro SAVE_VECTOR_ARGUMENTS
    movdqu %xmm0, 0(%rsp)
    movdqu %xmm1, 16(%rsp)
    movdqu %xmm2, 32(%rsp)
    movdqu %xmm3, 48(%rsp)
    movdqu %xmm4, 64(%rsp)
    movdqu %xmm5, 80(%rsp)
    movdqu %xmm6, 96(%rsp)
    movdqu %xmm7, 112(%rsp)
.endm
.macro RESTORE_VECTOR_ARGUMENTS
    movdqu 0(%rsp), %xmm0
    movdqu 16(%rsp), %xmm1
    movdqu 32(%rsp), %xmm2
    movdqu 48(%rsp), %xmm3
    movdqu 64(%rsp), %xmm4
    movdqu 80(%rsp), %xmm5
    movdqu 96(%rsp), %xmm6
    movdqu 112(%rsp), %xmm7
.endm
.macro SAVE_ARGUMENTS
    movq %rdi, 128(%rsp)
    movq %rsi, 136(%rsp)
    movq %rdx, 144(%rsp)
    movq %rcx, 152(%rsp)
    movq %r8, 160(%rsp)
    movq %r9, 168(%rsp)
    movq %rax, 176(%rsp)
    movq %r10, 184(%rsp)
.endm
.macro RESTORE_ARGUMENTS
    movq 128(%rsp), %rdi
    movq 136(%rsp), %rsi
    movq 144(%rsp), %rdx
    movq 152(%rsp), %rcx
    movq 160(%rsp), %r8
    movq 168(%rsp), %r9
    movq 176(%rsp), %rax
    movq 184(%rsp), %r10
.endm

/* DWARF CFA expressions for the unwinding rules above (DW_CFA_expression,
 * register, length 2, DW_OP_breg12 offset): R at [r12], the caller's r12 at
 * [r12 + LPS_SHADOW_R12]. */
#define CFI_RA_IN_SHADOW_ENTRY .cfi_escape 0x10, 16, 2, 0x7c, 0
#define CFI_R12_IN_SHADOW_ENTRY .cfi_escape 0x10, 12, 2, 0x7c, LPS_SHADOW_R12

/* The entry half's frame: rsp = S - ENTRY_FRAME - 8, R above it. */
#define ENTRY_FRAME 200

/* The entry hooks' key (rsi) and tail-call flag (edx), from r10: 0 for a
 * call, and S - 24; 8 for a tail call from a hooked implementation (R is
 * the return site), and S - 32 (TrampolineHooks.swift, leftBelow). */
/* Sets ZF when R is the return site: a tail call from a hooked
 * implementation (clobbers r9). */
.macro TEST_TAIL_CALL
    leaq lps_ftrace_return_site(%rip), %r9
    cmpq %r9, ENTRY_FRAME(%rsp)
.endm

.macro ENTRY_KEY
    leaq ENTRY_FRAME-16(%rsp), %rsi
    subq %r10, %rsi
    movl %r10d, %edx
.endm
/* The return half's: rsp = S - RETURN_FRAME, R's slot at its top. */
#define RETURN_FRAME 64

    .text

    .globl lps_ftrace_trampoline
    .hidden lps_ftrace_trampoline
    .globl lps_ftrace_return_site
    .hidden lps_ftrace_return_site
    .type lps_ftrace_trampoline, @function
    .p2align 6
lps_ftrace_trampoline:
    .cfi_startproc
    subq $ENTRY_FRAME, %rsp
    .cfi_adjust_cfa_offset ENTRY_FRAME
    .cfi_remember_state
    SAVE_ARGUMENTS
    /* The shadow push, inline: f = cell->f; when the stack has room,
     * depth + 1, then e[depth] = {R, S, f, the caller's r12}, and r12 =
     * &e[depth] (lps_ftrace_shadow.c: the slot
     * is taken before it is written, so a signal handler landing in between
     * pushes above it, never over it, and pops its own entry by its stack
     * pointer; only this thread reads its slots). */
    movq (%r11), %rax
    testq %rax, %rax
    jz 3f
1:  movq %fs:0, %rcx
    addq lps_ftrace_shadow@gottpoff(%rip), %rcx
    movl (%rcx), %edx
    cmpl $LPS_FTRACE_SHADOW_DEPTH, %edx
    jae 2f
    leal 1(%rdx), %esi
    movl %esi, (%rcx)
    shlq $LPS_SHADOW_ENTRY_SHIFT, %rdx
    leaq LPS_SHADOW_E(%rcx,%rdx), %rsi
    movq ENTRY_FRAME(%rsp), %rdi    /* R */
    movq %r12, %r8                  /* the caller's r12 */
    xorl %r10d, %r10d               /* 8 for a tail call (ENTRY_KEY) */
    TEST_TAIL_CALL
    je 15f
16: movq %rdi, (%rsi)               /* R */
    leaq ENTRY_FRAME+8(%rsp), %rdi
    movq %rdi, 8(%rsi)              /* S */
    movq %rax, 16(%rsi)             /* f */
    movq %r8, LPS_SHADOW_R12(%rsi)  /* the caller's r12 */
    movq %rsi, %r12
    CFI_R12_IN_SHADOW_ENTRY
    .cfi_remember_state
    movq %r11, %rdi
    ENTRY_KEY
    call lps_ftrace_enter_fast
    testq %rdx, %rdx
    jnz 6f
7:  /* rax: the address to call */
    movq %rax, %r11
    RESTORE_ARGUMENTS
    addq $ENTRY_FRAME+8, %rsp       /* rsp = S: R is on the shadow stack */
    /* The trampoline's frame as unwinders see it while the implementation
     * runs: CFA S + 8, so that it is not the implementation's (S: libgcc
     * tells frames apart by CFA), the caller's rsp S, R and r12 as above. */
    .cfi_def_cfa_offset 8
    .cfi_val_offset %rsp, -8
    CFI_RA_IN_SHADOW_ENTRY
    call *%r11
lps_ftrace_return_site:
    subq $RETURN_FRAME, %rsp
    .cfi_adjust_cfa_offset RETURN_FRAME
    movq %rax, 0(%rsp)
    movq %rdx, 8(%rsp)
    /* The shadow pop, inline: the entry of S, the deepest with that stack
     * pointer; those above it were left by a jump (longjmp) and go too.
     * The entry is read before the depth drops below it, and R is put
     * back in its slot before: a stack walk from then on (lps_stack_shim.c,
     * in the exit hook) sees an ordinary frame. */
    leaq RETURN_FRAME(%rsp), %rdi   /* S */
    movq %fs:0, %rcx
    addq lps_ftrace_shadow@gottpoff(%rip), %rcx
    movl (%rcx), %edx
4:  testl %edx, %edx
    jz 5f
    decl %edx
    movl %edx, %esi
    shlq $LPS_SHADOW_ENTRY_SHIFT, %rsi
    leaq LPS_SHADOW_E(%rcx,%rsi), %rsi
    cmpq 8(%rsi), %rdi
    jne 4b
    movq (%rsi), %r8
    movq %r8, RETURN_FRAME-8(%rsp)  /* R */
    .cfi_offset %rip, -16
    movq LPS_SHADOW_R12(%rsi), %r12
    .cfi_same_value %r12
    movq 16(%rsi), %rdi             /* f, marked if a tail call's */
    movl %edx, (%rcx)
18: movq %rdi, 48(%rsp)
    andq $-2, %rdi
    leaq RETURN_FRAME-24(%rsp), %rsi /* the key, S - 24 */
    call lps_ftrace_exit_fast
    testq %rdx, %rdx
    jnz 8f
9:  testb $1, 48(%rsp)
    jnz 19f
    movq 0(%rsp), %rax
    movq 8(%rsp), %rdx
    .cfi_remember_state
    addq $RETURN_FRAME-8, %rsp
    .cfi_adjust_cfa_offset -(RETURN_FRAME-8)
    ret
    .cfi_restore_state
8:  /* The rest of the exit (rax: f), in a call that may use the vector
     * registers: the return values in xmm0-1 are saved around it. */
    movdqu %xmm0, 16(%rsp)
    movdqu %xmm1, 32(%rsp)
    movq %rax, %rdi
    cmpq $LPS_FTRACE_HOOK, %rdx
    jne 10f
    leaq RETURN_FRAME-24(%rsp), %rsi
    call lps_ftrace_exit
    jmp 11f
10: call lps_ftrace_exit_rest
11: movdqu 16(%rsp), %xmm0
    movdqu 32(%rsp), %xmm1
    jmp 9b
19: /* A tail call's entry: the call it replaced, the next entry down (same
     * S, R already in its slot), returns here too. Its entry is read before
     * the depth drops below it. */
    movq %fs:0, %rcx
    addq lps_ftrace_shadow@gottpoff(%rip), %rcx
    movl (%rcx), %edx
    decl %edx
    movl %edx, %esi
    shlq $LPS_SHADOW_ENTRY_SHIFT, %rsi
    movq LPS_SHADOW_E+16(%rcx,%rsi), %rdi
    movl %edx, (%rcx)
    jmp 18b
3:  /* an unpublished pad */
    movq %r11, %rdi
    call lps_ftrace_unpublished
5:  /* a return that matches no hooked call */
    call lps_ftrace_unmatched
    .cfi_restore_state              /* the entry half's, r12 holding the entry */
6:  /* The rest of the entry (rax: the cell), in a call that may use the
     * vector registers. */
    SAVE_VECTOR_ARGUMENTS
    movq %rax, %rdi
    cmpq $LPS_FTRACE_HOOK, %rdx
    jne 12f
    xorl %r10d, %r10d
    TEST_TAIL_CALL
    jne 21f
    movl $8, %r10d
21: ENTRY_KEY
    call lps_ftrace_enter
    /* It may have moved this call's shadow entry down (lps_ftrace_drop_left):
     * the top one. */
    movq %fs:0, %rcx
    addq lps_ftrace_shadow@gottpoff(%rip), %rcx
    movl (%rcx), %edx
    decl %edx
    shlq $LPS_SHADOW_ENTRY_SHIFT, %rdx
    leaq LPS_SHADOW_E(%rcx,%rdx), %r12
    jmp 13f
12: movq %rdx, %rsi
    call lps_ftrace_enter_rest
13: RESTORE_VECTOR_ARGUMENTS
    jmp 7b
    .cfi_restore_state              /* the entry half's, before the shadow push */
15: /* A tail call from a hooked implementation (R is the return site, r12
     * the entry of the call it replaced): its entry takes that call's R and
     * caller's r12, so that unwinders step over the replaced call, which
     * has no frame left, and f is marked, so that the return half pops
     * both. */
    movq (%r12), %rdi
    movq LPS_SHADOW_R12(%r12), %r8
    orq $1, %rax
    movl $8, %r10d
    jmp 16b
2:  /* The shadow stack is full: entries of calls that left without
     * returning (an exception, longjmp) may make room; else unhooked. */
    SAVE_VECTOR_ARGUMENTS
    movq %r11, 192(%rsp)
    leaq ENTRY_FRAME+8(%rsp), %rdi  /* S */
    /* A tail call's S is the replaced call's, whose entry is live: only
     * entries below S go (as if its S were one less). */
    TEST_TAIL_CALL
    jne 20f
    decq %rdi
20: call lps_ftrace_make_room
    movq 192(%rsp), %r11
    testl %eax, %eax
    jz 14f
    RESTORE_VECTOR_ARGUMENTS
    movq (%r11), %rax
    jmp 1b
14: movq %r11, %rdi
    call lps_ftrace_unhooked_target
    movq %rax, %r11
    RESTORE_VECTOR_ARGUMENTS
    RESTORE_ARGUMENTS
    addq $ENTRY_FRAME, %rsp
    .cfi_adjust_cfa_offset -ENTRY_FRAME
    jmp *%r11
    .cfi_endproc
    .globl lps_ftrace_trampoline_end
    .hidden lps_ftrace_trampoline_end
lps_ftrace_trampoline_end:
    .size lps_ftrace_trampoline, .-lps_ftrace_trampoline

    .section .note.GNU-stack,"",@progbits
