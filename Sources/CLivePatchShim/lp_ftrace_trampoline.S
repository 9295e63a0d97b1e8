/*
 * The trampolines of armed pads, x86-64 System V (docs/FTRACE.md).
 *
 * lp_ftrace_trampoline: an armed pad of f called it. [rsp] is the pad's end,
 * [rsp+8] the address f returns to, S = rsp+16 the caller's stack pointer
 * before its call. It saves f's argument registers (rdi rsi rdx rcx r8 r9,
 * rax: the vector count of a variadic call, r10: a static chain,
 * xmm0-7), calls lp_func_enter(f) for the implementation, hooks the return
 * (lp_ftrace_hook_return: the shadow stack, and the return slot now points
 * at lp_ftrace_return_trampoline), restores the registers, drops the pad's
 * return address and jumps: the implementation runs as if called by f's
 * caller, its stack arguments where they were.
 *
 * lp_ftrace_return_trampoline: the hooked call returned, with rsp = S. It
 * saves the return registers (rax rdx xmm0 xmm1), pops the shadow stack,
 * calls lp_func_exit(f) and jumps to the real return address.
 *
 * Both call the hooks with rsp = S - 224, so lp_func_enter and lp_func_exit
 * see the same frame key (lp_frame_key: their frame address, S - 240) and
 * keys nest as the calls do. Not saved: the upper halves of ymm/zmm
 * arguments and an x87 return value (long double): the hooks use neither,
 * but a first call that registers the thread may reach libc code that does.
 */
    .text

    .globl lp_ftrace_trampoline
    .hidden lp_ftrace_trampoline
    .type lp_ftrace_trampoline, @function
    .p2align 4
lp_ftrace_trampoline:
    .cfi_startproc
    pushq %rbp
    .cfi_def_cfa_offset 16
    .cfi_offset %rbp, -16
    movq %rsp, %rbp
    .cfi_def_cfa_register %rbp
    subq $200, %rsp
    movdqu %xmm0, 0(%rsp)
    movdqu %xmm1, 16(%rsp)
    movdqu %xmm2, 32(%rsp)
    movdqu %xmm3, 48(%rsp)
    movdqu %xmm4, 64(%rsp)
    movdqu %xmm5, 80(%rsp)
    movdqu %xmm6, 96(%rsp)
    movdqu %xmm7, 112(%rsp)
    movq %rdi, 128(%rsp)
    movq %rsi, 136(%rsp)
    movq %rdx, 144(%rsp)
    movq %rcx, 152(%rsp)
    movq %r8, 160(%rsp)
    movq %r9, 168(%rsp)
    movq %rax, 176(%rsp)
    movq %r10, 184(%rsp)
    movq 8(%rbp), %rdi
    call lp_ftrace_entry_func
    testq %rax, %rax
    jz 1f
    movq %rax, 192(%rsp)
    movq %rax, %rdi
    call lp_func_enter@PLT
    movq 192(%rsp), %rdi
    movq %rax, %rsi
    leaq 16(%rbp), %rdx
    call lp_ftrace_hook_return
    jmp 2f
1:  /* the shadow stack is full: unhooked */
    movq 8(%rbp), %rdi
    call lp_ftrace_unhooked_target
2:  movq %rax, %r11
    movdqu 0(%rsp), %xmm0
    movdqu 16(%rsp), %xmm1
    movdqu 32(%rsp), %xmm2
    movdqu 48(%rsp), %xmm3
    movdqu 64(%rsp), %xmm4
    movdqu 80(%rsp), %xmm5
    movdqu 96(%rsp), %xmm6
    movdqu 112(%rsp), %xmm7
    movq 128(%rsp), %rdi
    movq 136(%rsp), %rsi
    movq 144(%rsp), %rdx
    movq 152(%rsp), %rcx
    movq 160(%rsp), %r8
    movq 168(%rsp), %r9
    movq 176(%rsp), %rax
    movq 184(%rsp), %r10
    leave
    .cfi_def_cfa %rsp, 8
    addq $8, %rsp
    .cfi_def_cfa_offset 0
    jmp *%r11
    .cfi_endproc
    .size lp_ftrace_trampoline, .-lp_ftrace_trampoline

    .globl lp_ftrace_return_trampoline
    .hidden lp_ftrace_return_trampoline
    .type lp_ftrace_return_trampoline, @function
    .p2align 4
    /* A return address points after a call, and unwinders look up the
     * address before it: this NOP keeps that address out of the entry
     * trampoline's unwind table. */
    nop
lp_ftrace_return_trampoline:
    subq $16, %rsp
    pushq %rbp
    movq %rsp, %rbp
    subq $200, %rsp
    movdqu %xmm0, 0(%rsp)
    movdqu %xmm1, 16(%rsp)
    movq %rax, 128(%rsp)
    movq %rdx, 136(%rsp)
    leaq 24(%rbp), %rdi
    call lp_ftrace_pop
    movq %rdx, 192(%rsp)
    movq %rax, %rdi
    call lp_func_exit@PLT
    movq 192(%rsp), %r11
    movdqu 0(%rsp), %xmm0
    movdqu 16(%rsp), %xmm1
    movq 128(%rsp), %rax
    movq 136(%rsp), %rdx
    leave
    addq $16, %rsp
    jmp *%r11
    .size lp_ftrace_return_trampoline, .-lp_ftrace_return_trampoline

    .section .note.GNU-stack,"",@progbits
