/*
 * The patcher side of the asymmetric fence (lps_fence.h).
 */
#define _GNU_SOURCE
#include "lps_shim.h"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>


/* ---- membarrier: the patcher's half of the asymmetric fence ----------------
 * Where the kernel refuses membarrier (a seccomp filter, an old kernel), a
 * signal barrier stands in, as liburcu's signal flavour does: each registered
 * thread is sent LPS_BARRIER_SIGNAL (SIGRTMAX - 1) and runs a full fence in its
 * handler, and the patcher waits for every acknowledgment. It costs a signal
 * round trip per thread for each barrier, instead of one system call, and
 * waits for every thread to be scheduled; and a signal in the threads'
 * blocking calls: the handler is installed with SA_RESTART, but calls the
 * kernel never restarts (nanosleep, poll, epoll_wait...) return EINTR, as
 * with any handler.
 */

#define LPS_BARRIER_SIGNAL (SIGRTMAX - 1)

static int membarrier_cmd; /* 0: the signal barrier */

/* The round being acknowledged. A handler acknowledges only a signal sent by
 * signal_barrier() for the current round (sigqueue's value), so a stray
 * LPS_BARRIER_SIGNAL from elsewhere never ends a round early. */
static uint32_t barrier_round, barrier_acks;

static void barrier_handler(int signo, siginfo_t *info, void *uctx)
{
    (void)signo;
    (void)uctx;
    if (info->si_code != SI_QUEUE || info->si_pid != getpid() ||
        (uint32_t)info->si_value.sival_int != __atomic_load_n(&barrier_round, __ATOMIC_RELAXED))
        return;
    int saved = errno;
    /* The fence membarrier would have run on this thread: pairs with
     * lps_thread_side_fence() in its hooks (this thread's accesses before the
     * signal are ordered before the patcher's after the round, and its later
     * ones after the patcher's earlier ones), and the release below with the
     * acquire load in signal_barrier(). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_fetch_add(&barrier_acks, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &barrier_acks, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved;
}

static void install_signal_barrier(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = barrier_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(LPS_BARRIER_SIGNAL, &sa, NULL);
    membarrier_cmd = 0;
}

void lps_patcher_side_fence_init(void)
{
    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0)
        membarrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
    else if (cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL))
        membarrier_cmd = MEMBARRIER_CMD_GLOBAL; /* slower (a scheduler grace period), equally strong */
    else
        install_signal_barrier();
}

/* Signals every registered thread but the caller and waits for each to
 * acknowledge. The registry lock keeps the list still and orders a thread
 * that registers meanwhile after the round (registration takes the lock: it
 * sees everything the patcher stored before). Patcher lock held: one round
 * at a time. */
static void signal_barrier(void)
{
    lps_lock_registry();
    uint32_t round = __atomic_load_n(&barrier_round, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&barrier_round, round, __ATOMIC_RELAXED);
    __atomic_store_n(&barrier_acks, 0, __ATOMIC_RELAXED);
    /* Orders the stores above, and the patcher's before the barrier, before
     * the signals: a handler that sees this round sees them. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = LPS_BARRIER_SIGNAL;
    info.si_code = SI_QUEUE;
    info.si_pid = pid;
    info.si_uid = getuid();
    info.si_value.sival_int = (int)round;
    uint32_t sent = 0;
    lps_thread_rec_t *rec;
    for (rec = lps_thread_list_first(); rec != NULL; rec = lps_thread_list_next(rec)) {
        if (rec->tid != self && syscall(SYS_rt_tgsigqueueinfo, pid, rec->tid, LPS_BARRIER_SIGNAL, &info) == 0)
            sent++;
    }
    for (;;) {
        /* Pairs with the release increment in barrier_handler(). */
        uint32_t acks = __atomic_load_n(&barrier_acks, __ATOMIC_ACQUIRE);
        if (acks >= sent)
            break;
        syscall(SYS_futex, &barrier_acks, FUTEX_WAIT_PRIVATE, acks, NULL, NULL, 0);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the caller's own half */
    lps_unlock_registry();
}

void lps_patcher_side_fence(void)
{
    /* Pairs with lps_thread_side_fence() on every hook: after this returns, each
     * running thread has executed a full barrier, so its earlier stores are
     * visible to our later loads and its later loads see our earlier stores. */
    if (membarrier_cmd != 0 && syscall(__NR_membarrier, membarrier_cmd, 0) == 0)
        return;
    if (membarrier_cmd != 0)
        install_signal_barrier(); /* refused since it was registered (a filter installed later): from now on */
    signal_barrier();
}
