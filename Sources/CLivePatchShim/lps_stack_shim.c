/*
 * The stack check's signal side: requests, the handler's frame-pointer walk,
 * and the park of SWITCH_KERNEL's user-space stop_machine.
 *
 * A walk is reliable only if every step can be trusted: the interrupted PC
 * and each return address lie in a loaded executable mapping, and each
 * frame pointer lies inside the thread's stack, above the one before it.
 * Anything else is LPS_STACK_UNRELIABLE, which blocks. Memory is read with
 * process_vm_readv on our own pid, so a wild frame pointer gives EFAULT in
 * the handler, never a crash.
 */
#define _GNU_SOURCE
#include "lps_stack_shim.h"
#include "lps_ftrace_shim.h"

#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

LPS_INTERNAL lps_stack_cell_t lps_stack_cells[LP_MAX_THREADS];

static lps_stack_range_t ranges[LPS_STACK_RANGES_MAX];
static uint32_t n_ranges;
#define TEXT_MAX 512
static struct { uintptr_t lo, hi; } text[TEXT_MAX];
static uint32_t n_text;
/* The request every signalled handler serves: written by the patcher before
 * the pthread_kill()s (the kill orders them for the handler, as a syscall
 * the signal's delivery follows). */
static int req_mode;
static uint64_t req_epoch;
static uint32_t req_target;
/* Parked handlers wait while released == req_park. */
static uint32_t req_park;
/* Bumped by each answer: the futex word the patcher sleeps on. */
static uint32_t answers;
static uint32_t released;
static int skip_frame; /* LP_BUG_STACK_SKIP_FRAME: the innermost hooked frame and the first machine frame */
static int installed;

int lps_stack_signal(void) { return SIGRTMIN + 6; }

void lps_stack_set_skip_frame(int on) { __atomic_store_n(&skip_frame, on, __ATOMIC_RELAXED); }

void lps_stack_set_universe(lps_thread_rec_t *rec, uint64_t epoch, uint32_t universe)
{
    lps_stack_cell_t *c = lps_stack_cell(rec);
    /* Never back to an older transition: a switch point or a late answer
     * that read an epoch just replaced would erase the thread's switch in
     * the new one. Only the owner and its handlers write the cell. */
    if (__atomic_load_n(&c->generation, __ATOMIC_RELAXED) == __atomic_load_n(&rec->generation, __ATOMIC_RELAXED)
        && epoch < __atomic_load_n(&c->epoch, __ATOMIC_RELAXED))
        return;
    __atomic_store_n(&c->universe, universe, __ATOMIC_RELAXED);
    __atomic_store_n(&c->generation, __atomic_load_n(&rec->generation, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    /* Pairs with the acquire load in lps_stack_universe(). */
    __atomic_store_n(&c->epoch, epoch, __ATOMIC_RELEASE);
}

/* Reads n bytes at addr of our own memory: 0, or -1 where it is not mapped. */
static int read_own(uintptr_t addr, void *out, size_t n)
{
    struct iovec local = {out, n}, remote = {(void *)addr, n};
    /* syscall() reads each argument as a long: ints would leave the upper
     * halves of their registers undefined (EINVAL, now and then). */
    return syscall(SYS_process_vm_readv, (long)getpid(), &local, 1UL, &remote, 1UL, 0UL) == (long)n ? 0 : -1;
}

static int attributable(uintptr_t pc)
{
    for (uint32_t i = 0; i < n_text; i++)
        if (pc >= text[i].lo && pc < text[i].hi) return 1;
    return 0;
}

/* The set function whose code holds pc, or UINT32_MAX. A return address is
 * the instruction after the call: pc - 1 is inside the caller, even when
 * the call is the caller's last instruction. */
static uint32_t in_set(uintptr_t pc)
{
    for (uint32_t i = 0; i < n_ranges; i++)
        if (pc >= ranges[i].lo && pc < ranges[i].hi) return ranges[i].func;
    return UINT32_MAX;
}

/* The frames of hooked activations (the shadow stack): for a hook-called
 * function, its activation spans lp_func_enter .. lp_func_exit, including
 * the instructions between the hook's return and the call of the
 * implementation it returned, where no frame of the implementation exists
 * yet. A hooked frame of a set function is on the stack for this check. */
static uint32_t shadow_in_set(lps_thread_rec_t *rec, int *unreliable)
{
    uint32_t depth = __atomic_load_n(&rec->fdepth, __ATOMIC_RELAXED);
    if (depth > LP_FRAMES_KNOWN) {
        *unreliable = 1;
        return UINT32_MAX;
    }
    if (depth != 0 && __atomic_load_n(&skip_frame, __ATOMIC_RELAXED)) depth--;
    for (uint32_t i = 0; i < depth; i++) {
        const struct lp_func *f = lps_frame_func(lps_rec_frame(rec, i));
        if (f && __atomic_load_n(&f->tx_epoch, __ATOMIC_RELAXED) == __atomic_load_n(&req_epoch, __ATOMIC_RELAXED)) return f->index;
    }
    return UINT32_MAX;
}

#if defined(__x86_64__)
static int walk(lps_thread_rec_t *rec, const ucontext_t *uc, uint32_t *func)
{
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    lps_stack_cell_t *c = lps_stack_cell(rec);
    int unreliable = 0;
    if ((*func = shadow_in_set(rec, &unreliable)) != UINT32_MAX) return LPS_STACK_IN_SET;
    if (unreliable || !attributable(pc) || lps_ftrace_in_trampoline(pc)) return LPS_STACK_UNRELIABLE;
    if ((*func = in_set(pc)) != UINT32_MAX) return LPS_STACK_IN_SET;
    /* A leaf may run without a frame of its own (its return address at
     * sp, out of the chain): read that word too, conservatively. */
    uintptr_t top;
    if (read_own(sp, &top, sizeof top) == 0
        && (*func = in_set((uintptr_t)lps_ftrace_real_return((const void *)top, (const void *)sp) - 1)) != UINT32_MAX)
        return LPS_STACK_IN_SET;
    uintptr_t lo = c->stack_lo, hi = c->stack_hi;
    if (hi == 0 || sp < lo || sp >= hi) return LPS_STACK_UNRELIABLE;
    int skipped = !__atomic_load_n(&skip_frame, __ATOMIC_RELAXED);
    for (unsigned n = 0; fp != 0; n++) {
        uintptr_t frame[2];
        if (n > 100000 || fp < sp || fp + sizeof frame > hi || (fp & 7) != 0 || read_own(fp, frame, sizeof frame) != 0)
            return LPS_STACK_UNRELIABLE;
        /* A call hooked by the ftrace trampoline returns to its return
         * site; where to after that is on the thread's ftrace shadow stack,
         * which this handler, on the same thread, reads. */
        uintptr_t next = frame[0], ret = (uintptr_t)lps_ftrace_real_return((const void *)frame[1], (const void *)(fp + 8));
        if (lps_ftrace_is_return_site(ret)) return LPS_STACK_UNRELIABLE; /* matched no hooked call */
        /* The outermost frame of a thread: the C library's entry code
         * leaves a zero frame pointer and return address behind it. */
        if (ret == 0) break;
        if (!attributable(ret)) return LPS_STACK_UNRELIABLE;
        if (!skipped) {
            skipped = 1; /* LP_BUG_STACK_SKIP_FRAME */
        } else if ((*func = in_set(ret - 1)) != UINT32_MAX) {
            return LPS_STACK_IN_SET;
        }
        if (next != 0 && next <= fp) return LPS_STACK_UNRELIABLE;
        fp = next;
    }
    return LPS_STACK_CLEAN;
}
#else
static int walk(lps_thread_rec_t *rec, const ucontext_t *uc, uint32_t *func)
{
    (void)rec, (void)uc, (void)func;
    return LPS_STACK_UNRELIABLE; /* no walker for this architecture: nothing can be proven */
}
#endif

static void handler(int signo, siginfo_t *si, void *context)
{
    (void)signo, (void)si;
    int saved = errno;
    lps_thread_rec_t *rec = lps_tls_rec();
    if (!rec) goto out;
    lps_stack_cell_t *c = lps_stack_cell(rec);
    /* Pairs with the release store of request in lps_stack_request(). */
    uint32_t seq = __atomic_load_n(&c->request, __ATOMIC_ACQUIRE);
    if (seq == __atomic_load_n(&c->answered, __ATOMIC_RELAXED)) goto out; /* a duplicate signal */
    int mode = __atomic_load_n(&req_mode, __ATOMIC_RELAXED);
    uint32_t park_seq = __atomic_load_n(&req_park, __ATOMIC_RELAXED);
    uint32_t func = UINT32_MAX;
    int verdict = walk(rec, context, &func);
    /* A request answered after the transition was reversed must not switch
     * toward the target it was sent for (the next round asks again): the
     * target is read again after the switch, and a reverse in between undoes
     * it before the thread runs on. Pairs with the store of lps_global.target
     * and lps_patcher_side_fence() after it in reverseTransition()
     * (Transition/Finish.swift). */
    uint32_t target = __atomic_load_n(&req_target, __ATOMIC_RELAXED);
    uint64_t epoch = __atomic_load_n(&req_epoch, __ATOMIC_RELAXED);
    /* Nor may a request of a transition that has ended switch anything
     * (its walk looked for another set). */
    if (verdict == LPS_STACK_CLEAN && mode == LPS_STACK_SWITCH && __atomic_load_n(&lps_global.target, __ATOMIC_RELAXED) == target
        && __atomic_load_n(&lps_global.epoch, __ATOMIC_ACQUIRE) == epoch) {
        uint32_t before = lps_stack_universe(rec, epoch, __atomic_load_n(&rec->generation, __ATOMIC_RELAXED));
        lps_stack_set_universe(rec, epoch, target);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&lps_global.target, __ATOMIC_RELAXED) != target) lps_stack_set_universe(rec, epoch, before);
    }
    __atomic_store_n(&c->verdict, verdict, __ATOMIC_RELAXED);
    __atomic_store_n(&c->func, func, __ATOMIC_RELAXED);
    /* Pairs with the acquire load in lps_stack_answered(): the verdict and
     * the universe are seen with the answer. */
    __atomic_store_n(&c->answered, seq, __ATOMIC_RELEASE);
    __atomic_fetch_add(&answers, 1, __ATOMIC_RELEASE);
    lps_sys_futex_wake(&answers, INT32_MAX);
    if (mode == LPS_STACK_PARK) {
        /* Pairs with the release increment in lps_stack_release(): the
         * universe switched while we were parked is seen after it. */
        while (__atomic_load_n(&released, __ATOMIC_ACQUIRE) == park_seq) lps_sys_futex_wait(&released, park_seq, 0);
    }
out:
    errno = saved;
}

int lps_stack_install(void)
{
    if (installed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    /* Every other signal waits until the handler returns, as stop_machine
     * runs with interrupts off: a program's handler nested in a parked one
     * would run set code in the old universe after the answer, and go on
     * running it after the switch while the other threads run new code.
     * (The walk reads memory with process_vm_readv, so it raises no
     * synchronous signal that blocking could turn fatal.) */
    sigfillset(&sa.sa_mask);
    if (sigaction(lps_stack_signal(), &sa, NULL) != 0) return -errno;
    installed = 1;
    return 0;
}

int lps_stack_set_ranges(const lps_stack_range_t *r, uint32_t n)
{
    if (n > LPS_STACK_RANGES_MAX) return -ENOMEM;
    memcpy(ranges, r, n * sizeof *r);
    n_ranges = n;
    return 0;
}

static int add_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    for (int i = 0; i < info->dlpi_phnum && n_text < TEXT_MAX; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        text[n_text].lo = info->dlpi_addr + ph->p_vaddr;
        text[n_text].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        n_text++;
    }
    return 0;
}

int lps_stack_refresh_text(void)
{
    n_text = 0;
    dl_iterate_phdr(add_text, NULL);
    return n_text == TEXT_MAX ? -ENOMEM : 0;
}

int lps_stack_request(lps_thread_rec_t *rec, uint64_t pthread, int mode, uint64_t epoch, uint32_t target)
{
    __atomic_store_n(&req_mode, mode, __ATOMIC_RELAXED);
    /* A handler that runs after this round's release does not park. */
    __atomic_store_n(&req_park, __atomic_load_n(&released, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&req_epoch, epoch, __ATOMIC_RELAXED);
    __atomic_store_n(&req_target, target, __ATOMIC_RELAXED);
    lps_stack_cell_t *c = lps_stack_cell(rec);
    /* The verdict stays the last answer's until this one's: what a stall
     * report shows of a thread that has not answered yet. */
    /* Pairs with the acquire load in the handler: it sees the request's
     * fields (and the ranges) stored before. */
    __atomic_store_n(&c->request, __atomic_load_n(&c->request, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
    int r = pthread_kill((pthread_t)pthread, lps_stack_signal());
    return -r;
}

void lps_stack_answer_self(lps_thread_rec_t *rec, int mode, uint64_t epoch, uint32_t target)
{
    lps_stack_cell_t *c = lps_stack_cell(rec);
    uint32_t seq = __atomic_load_n(&c->request, __ATOMIC_RELAXED) + 1;
    if (mode == LPS_STACK_SWITCH) lps_stack_set_universe(rec, epoch, target);
    __atomic_store_n(&c->verdict, LPS_STACK_CLEAN, __ATOMIC_RELAXED);
    __atomic_store_n(&c->request, seq, __ATOMIC_RELAXED);
    __atomic_store_n(&c->answered, seq, __ATOMIC_RELAXED);
}

int lps_stack_answered(const lps_thread_rec_t *rec)
{
    lps_stack_cell_t *c = lps_stack_cell(rec);
    return __atomic_load_n(&c->answered, __ATOMIC_ACQUIRE) == __atomic_load_n(&c->request, __ATOMIC_RELAXED);
}

uint32_t lps_stack_answer_seq(void) { return __atomic_load_n(&answers, __ATOMIC_ACQUIRE); }

void lps_stack_wait_answers(uint32_t seen, uint64_t timeout_ns) { lps_sys_futex_wait(&answers, seen, timeout_ns); }

void lps_stack_release(void)
{
    __atomic_fetch_add(&released, 1, __ATOMIC_RELEASE);
    lps_sys_futex_wake(&released, INT32_MAX);
}
