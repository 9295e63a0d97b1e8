/*
 * Arming and disarming pads while threads run them (docs/FTRACE.md, "The
 * protocol"; Verification/ftrace_text.pml). The armed pad is `jmp rel32`
 * with rel32 = 0x90909090, which lands at pad + 5 + LPS_FTRACE_REL32, where
 * the object's stub jumps to the trampoline (lps_ftrace_stubs.c). The bytes
 * change by the kernel's text_poke_bp: int3 on the first byte, the other
 * four, the first, with every core serialised after each step. For a GCC
 * pad (five one-byte NOPs) the other four are 0x90 in both states and are
 * never written: a thread anywhere inside the pad runs NOPs whatever the
 * writer does. A clang pad is one five-byte NOP, which no thread can be
 * inside.
 */
#define _GNU_SOURCE
#include "lps_ftrace_shim.h"
#include "lps_shim.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

enum { OP_NOP = 0x90, OP_INT3 = 0xcc, OP_JMP = 0xe9 };

static int sync_core_cmd = -1; /* -1: not probed; 0: lps_patcher_side_fence */
static struct sigaction previous_trap;

/* A thread that fetched the int3 while the pad was in flight: the int3
 * stands for the whole pad, NOPs or jmp, and either is right at that
 * moment (docs/FTRACE.md), so the thread resumes after the pad, as if it
 * were still (or already) disarmed. An int3 at no pad is not ours. The
 * handler stays installed: a thread may take the trap after the writer has
 * put the final byte back. */
static void trap_handler(int signo, siginfo_t *info, void *uctx)
{
    ucontext_t *uc = uctx;
    greg_t rip = uc->uc_mcontext.gregs[REG_RIP];
    if (info->si_code == SI_KERNEL && lps_ftrace_pad_func((const void *)(rip - 1)) != NULL) {
        uc->uc_mcontext.gregs[REG_RIP] = rip - 1 + 5;
        return;
    }
    if (previous_trap.sa_flags & SA_SIGINFO) {
        previous_trap.sa_sigaction(signo, info, uctx);
    } else if (previous_trap.sa_handler != SIG_DFL && previous_trap.sa_handler != SIG_IGN) {
        previous_trap.sa_handler(signo);
    } else {
        /* What the kernel would have done without us: the default action
         * (an int3 is never ignored), taken when this handler returns. */
        signal(SIGTRAP, SIG_DFL);
        raise(SIGTRAP);
    }
}

/* Once, under the patcher lock: the trap handler, and the core-serialising
 * membarrier registered (its intent must be declared before use). Where the
 * kernel lacks it, lps_patcher_side_fence stands in: an IPI or a signal, whose
 * return to user mode is an IRET, serialising on x86. */
static void prepare(void)
{
    if (sync_core_cmd >= 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = trap_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTRAP, &sa, &previous_trap);
    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0) == 0)
        sync_core_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE;
    else
        sync_core_cmd = 0;
}

/* Every thread executes a serialising instruction before its next
 * instruction fetch (Intel SDM 8.1.3, cross-modifying code). */
static void sync_cores(void)
{
    if (sync_core_cmd == 0 || syscall(__NR_membarrier, sync_core_cmd, 0) != 0)
        lps_patcher_side_fence();
}

int lps_ftrace_pad_usable(const void *pad)
{
    static const unsigned char gcc[5] = {OP_NOP, OP_NOP, OP_NOP, OP_NOP, OP_NOP};
    static const unsigned char clang[4] = {0x0f, 0x1f, 0x44, 0x00};
    return memcmp(pad, gcc, 5) == 0 || memcmp(pad, clang, 4) == 0;
}

/* Writes bytes [from, to) of the pad, then serialises every core. One store
 * per byte: a fetch sees each byte old or new. */
static void write_step(volatile unsigned char *pad, const unsigned char *bytes, int from, int to)
{
    for (int i = from; i < to; i++)
        pad[i] = bytes[i];
    sync_cores();
}

int lps_ftrace_set_armed(const struct lp_func *f, int armed)
{
    unsigned char *pad = (unsigned char *)lps_ftrace_pad_of(f);
    if (pad == NULL)
        return -ENOENT;
    static const unsigned char jmp[5] = {OP_JMP, OP_NOP, OP_NOP, OP_NOP, OP_NOP};
    const unsigned char *nops = lps_ftrace_pad_nops(f);
    const unsigned char *want = armed ? jmp : nops;
    if (memcmp(pad, jmp, 5) != 0 && memcmp(pad, nops, 5) != 0)
        return -EIO;
    if (memcmp(pad, want, 5) == 0)
        return 0;
    prepare();
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t first = (uintptr_t)pad & ~(uintptr_t)(page - 1);
    size_t len = ((uintptr_t)pad + 5 - first + (size_t)page - 1) & ~(size_t)(page - 1);
    /* Writable only while written (W^X), and executable throughout: other
     * threads run this page meanwhile. Text is mapped read+exec. */
    if (mprotect((void *)first, len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return -EPERM;
    static const unsigned char int3 = OP_INT3;
    write_step(pad, &int3, 0, 1);
    if (memcmp(pad + 1, want + 1, 4) != 0)
        write_step(pad, want, 1, 5);
    write_step(pad, want, 0, 1);
    mprotect((void *)first, len, PROT_READ | PROT_EXEC);
    return 0;
}
