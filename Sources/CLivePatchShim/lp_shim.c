/*
 * The out-of-line half of the shim: storage the hooks address directly, and
 * thin wrappers over system calls and liburcu. No engine logic lives here.
 */
#define _GNU_SOURCE
#include "lp_shim.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LP_LINE_ALIGNED __attribute__((aligned(LP_CACHELINE)))
LP_LINE_ALIGNED lp_global_t lp_global;
LP_LINE_ALIGNED lp_thread_rec_t lp_thread_table[LP_MAX_THREADS];
LP_LINE_ALIGNED struct lp_func lp_func_table[LP_MAX_FUNCS];
struct lp_patch lp_patch_table[LP_MAX_PATCHES];
/* 2 MiB of zeroes until functions are registered by address (lp_func_register_auto). */
LP_LINE_ALIGNED lp_addr_slot_t lp_addr_table[LP_ADDR_SLOTS];
__thread lp_tls_t lp_tls __attribute__((tls_model("initial-exec")));

/* ---- membarrier: the patcher's half of the asymmetric fence ----------------
 * Where the kernel refuses membarrier (a seccomp filter, an old kernel), a
 * signal barrier stands in, as liburcu's signal flavour does: each registered
 * thread is sent LP_BARRIER_SIGNAL (SIGRTMAX - 1) and runs a full fence in its
 * handler, and the patcher waits for every acknowledgment. It costs a signal
 * round trip per thread for each barrier, instead of one system call, and
 * waits for every thread to be scheduled; and a signal in the threads'
 * blocking calls: the handler is installed with SA_RESTART, but calls the
 * kernel never restarts (nanosleep, poll, epoll_wait...) return EINTR, as
 * with any handler.
 */

#define LP_BARRIER_SIGNAL (SIGRTMAX - 1)

static int membarrier_cmd; /* 0: the signal barrier */

/* The round being acknowledged. A handler acknowledges only a signal sent by
 * signal_barrier() for the current round (sigqueue's value), so a stray
 * LP_BARRIER_SIGNAL from elsewhere never ends a round early. */
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
     * lp_signal_fence() in its hooks (this thread's accesses before the
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
    sigaction(LP_BARRIER_SIGNAL, &sa, NULL);
    membarrier_cmd = 0;
}

void lp_sys_membarrier_init(void)
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

/* Defined here for signal_barrier(); see "slow-path locks" and "liburcu" below. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static CDS_LIST_HEAD(lp_thread_list);

/* Signals every registered thread but the caller and waits for each to
 * acknowledge. The registry lock keeps the list still and orders a thread
 * that registers meanwhile after the round (registration takes the lock: it
 * sees everything the patcher stored before). Patcher lock held: one round
 * at a time. */
static void signal_barrier(void)
{
    pthread_mutex_lock(&registry_lock);
    uint32_t round = __atomic_load_n(&barrier_round, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&barrier_round, round, __ATOMIC_RELAXED);
    __atomic_store_n(&barrier_acks, 0, __ATOMIC_RELAXED);
    /* Orders the stores above, and the patcher's before the barrier, before
     * the signals: a handler that sees this round sees them. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = LP_BARRIER_SIGNAL;
    info.si_code = SI_QUEUE;
    info.si_pid = pid;
    info.si_uid = getuid();
    info.si_value.sival_int = (int)round;
    uint32_t sent = 0;
    lp_thread_rec_t *rec;
    cds_list_for_each_entry(rec, &lp_thread_list, node) {
        if (rec->tid != self && syscall(SYS_rt_tgsigqueueinfo, pid, rec->tid, LP_BARRIER_SIGNAL, &info) == 0)
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
    pthread_mutex_unlock(&registry_lock);
}

void lp_sys_membarrier(void)
{
    /* Pairs with lp_signal_fence() on every hook: after this returns, each
     * running thread has executed a full barrier, so its earlier stores are
     * visible to our later loads and its later loads see our earlier stores. */
    if (membarrier_cmd != 0 && syscall(__NR_membarrier, membarrier_cmd, 0) == 0)
        return;
    if (membarrier_cmd != 0)
        install_signal_barrier(); /* refused since it was registered (a filter installed later): from now on */
    signal_barrier();
}

/* ---- futex: event-driven completion ---------------------------------------- */

int lp_sys_futex_wait_raw(uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct timespec ts = { (time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u) };
    long r = syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout_ns ? &ts : NULL, NULL, 0);
    if (r == 0)
        return 0;
    return -errno;
}

void lp_sys_futex_wake_raw(uint32_t *word, int count)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

/* ---- simulation mode (Simulation.swift): the engine's waits, clock and
 * nudges go through lp_sim_ops once a simulation was started. Each op answers
 * LP_SIM_PASS for a thread that is not a simulated one (or after the run), and
 * the plain system call runs. Not on the hook fast path: these are the slow
 * paths that block, read the clock or signal. */
lp_sim_ops_t lp_sim_ops;
/* initial-exec, as lp_tls: these slow paths run in signal handlers too, and
 * must not reach __tls_get_addr in the shared library. */
static __thread uint32_t sim_self __attribute__((tls_model("initial-exec"))); /* 1 + the calling thread's simulated id; 0 none */
static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;

/* A simulated thread that exits without lp_sim_thread_leave leaves at its
 * exit: this key's destructor runs while sim_self still names it, and would
 * otherwise leave the rest of the run waiting for it forever. */
static pthread_key_t sim_exit_key;
static void (*sim_leave)(void);

static void sim_thread_exit(void *value)
{
    (void)value;
    if (sim_self)
        sim_leave();
}

int lp_sim_exit_hook(void (*leave)(void))
{
    sim_leave = leave;
    return -pthread_key_create(&sim_exit_key, sim_thread_exit);
}

uint32_t lp_sim_self(void) { return sim_self; }
void lp_sim_set_self(uint32_t id)
{
    sim_self = id;
    pthread_setspecific(sim_exit_key, id ? (void *)1 : NULL);
}
void lp_sim_lock(void) { pthread_mutex_lock(&sim_lock); }
void lp_sim_unlock(void) { pthread_mutex_unlock(&sim_lock); }

int lp_sys_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    lp_sim_futex_wait_fn op = __atomic_load_n(&lp_sim_ops.futex_wait, __ATOMIC_ACQUIRE); /* pairs with lp_sim_install */
    int r = op && sim_self ? op(word, expected, timeout_ns) : LP_SIM_PASS;
    return r != LP_SIM_PASS ? r : lp_sys_futex_wait_raw(word, expected, timeout_ns);
}

void lp_sys_futex_wake(uint32_t *word, int count)
{
    lp_sim_futex_wake_fn op = __atomic_load_n(&lp_sim_ops.futex_wake, __ATOMIC_ACQUIRE);
    if (op && sim_self)
        op(word, count); /* simulated waiters; real ones (threads outside the run) below */
    lp_sys_futex_wake_raw(word, count);
}

/* ---------------------------------------------------------------------------- */

/* ---- small libc wrappers, so Swift needs no Glibc module (Embedded builds) -- */

int32_t lp_sys_gettid(void) { return (int32_t)syscall(SYS_gettid); }
/* The state letter of /proc/self/task/TID/stat follows the last ')' (the
 * command name may hold any byte). Simulated threads are never said to run:
 * their real states are the scheduler's, not the run's, and would make a
 * run depend on them. */
int lp_sys_thread_runnable(int32_t tid)
{
    if (sim_self)
        return 0;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'R';
}
uint64_t lp_sys_pthread_self(void) { return (uint64_t)pthread_self(); }
int lp_sys_pthread_kill_raw(uint64_t thread, int signo) { return pthread_kill((pthread_t)thread, signo); }
int lp_sys_pthread_kill(uint64_t thread, int signo)
{
    /* Simulation: a nudge to a simulated thread is delivered when it next runs. */
    lp_sim_kill_fn op = __atomic_load_n(&lp_sim_ops.kill, __ATOMIC_ACQUIRE);
    int r = op && sim_self ? op(thread, signo) : LP_SIM_PASS;
    return r != LP_SIM_PASS ? r : lp_sys_pthread_kill_raw(thread, signo);
}
/* Not SIGKILL or SIGSTOP (no handler catches them), nor the signals between
 * the standard ones and SIGRTMIN, which the C library keeps for itself. */
int lp_sys_signal_catchable(int signo)
{
    return signo > 0 && signo <= SIGRTMAX && signo != SIGKILL && signo != SIGSTOP && (signo < 32 || signo >= SIGRTMIN);
}
void lp_sys_yield(void) { sched_yield(); }
void lp_sys_cpu_relax(void) { __builtin_ia32_pause(); }
void *lp_sys_calloc(size_t n, size_t size) { return calloc(n, size); }

/* mmap and madvise, not malloc: a thread may register from a hook in a
 * signal handler. MAP_NORESERVE: pages are backed only once written. */
lp_count_row_t *lp_sys_rows_map(void)
{
    void *p = mmap(NULL, LP_COUNT_ROWS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void lp_sys_rows_discard(lp_count_row_t *rows)
{
    if (rows != NULL) (void)madvise(rows, LP_COUNT_ROWS_BYTES, MADV_DONTNEED);
}
void lp_sys_free(void *p) { free(p); }
char *lp_sys_strdup(const char *s) { return strdup(s); }
void lp_sys_set_errno(int err) { errno = err; }

uint64_t lp_sys_now_ns(void)
{
    /* Simulation: a simulated thread reads the run's logical clock. */
    lp_sim_now_fn op = __atomic_load_n(&lp_sim_ops.now, __ATOMIC_ACQUIRE);
    return op && sim_self ? op() : lp_sys_now_ns_raw();
}

uint64_t lp_sys_now_ns_raw(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pthread_key_t exit_key;

int lp_sys_thread_exit_hook(void (*fn)(void *)) { return -pthread_key_create(&exit_key, fn); }
void lp_sys_thread_exit_arm(void *value) { pthread_setspecific(exit_key, value); }
void lp_sys_keep(uint64_t value) { (void)value; }
int lp_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return -pthread_atfork(prepare, parent, child);
}

int lp_sys_on_altstack(void)
{
    stack_t ss;
    return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) != 0;
}

/* ---- slow-path locks ------------------------------------------------------- */

static pthread_mutex_t patcher_lock = PTHREAD_MUTEX_INITIALIZER;

void lp_lock_registry(void) { pthread_mutex_lock(&registry_lock); }
void lp_unlock_registry(void) { pthread_mutex_unlock(&registry_lock); }
/* The patcher lock is held across waits (Transition.swift, holding()). In a
 * simulation a simulated thread that slept on the mutex while its holder
 * waits for the baton would stop the whole run: it takes the lock with
 * trylock and, when that fails, waits (through the simulation) for the next
 * unlock. The registry lock is held across no wait but signal_barrier()'s
 * for its acknowledgments, which signal handlers send whatever their threads
 * do, so it stays plain. */
static uint32_t patcher_unlocks;

void lp_lock_patcher(void)
{
    if (!sim_self) {
        pthread_mutex_lock(&patcher_lock);
        return;
    }
    for (;;) {
        uint32_t seq = __atomic_load_n(&patcher_unlocks, __ATOMIC_RELAXED);
        if (pthread_mutex_trylock(&patcher_lock) == 0)
            return;
        lp_sys_futex_wait(&patcher_unlocks, seq, 1000000); /* the bound: a holder outside the run wakes no one */
    }
}

void lp_unlock_patcher(void)
{
    pthread_mutex_unlock(&patcher_lock);
    if (sim_self) {
        __atomic_fetch_add(&patcher_unlocks, 1, __ATOMIC_RELAXED);
        lp_sys_futex_wake(&patcher_unlocks, 0x7fffffff);
    }
}
/* Writer-preferring, so a stream of overlapping scans cannot hold a fork
 * back forever; hence not recursive (no engine path takes it twice). */
static pthread_rwlock_t fork_gate;
static pthread_once_t fork_gate_once = PTHREAD_ONCE_INIT;

static void fork_gate_init(void)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&fork_gate, &attr);
    pthread_rwlockattr_destroy(&attr);
}

void lp_fork_gate_enter(void)
{
    pthread_once(&fork_gate_once, fork_gate_init);
    pthread_rwlock_rdlock(&fork_gate);
}
void lp_fork_gate_exit(void) { pthread_rwlock_unlock(&fork_gate); }
void lp_fork_gate_lock(void)
{
    pthread_once(&fork_gate_once, fork_gate_init);
    pthread_rwlock_wrlock(&fork_gate);
}
void lp_fork_gate_unlock(void) { pthread_rwlock_unlock(&fork_gate); }

void lp_locks_reinit_after_fork(void)
{
    pthread_mutex_init(&registry_lock, NULL);
    pthread_mutex_init(&patcher_lock, NULL);
    fork_gate_init();
}

/* ---- liburcu ----------------------------------------------------------------
 * The thread list is liburcu's RCU list: writers hold registry_lock, readers
 * (the patcher's scans) hold the memb read lock, and a record returns to the
 * free list through call_rcu once no scan can still see it. liburcu's list
 * writers publish with plain volatile stores and a compiler barrier, which
 * ThreadSanitizer cannot pair with the readers' atomic loads: scripts/tsan.supp
 * names exactly these list functions. The record fields the list leads to
 * are all read and written with the atomics of lp_shim.h.
 */

/* Readers register for the span of one use and unregister right after, so a
 * thread never exits (or forks) while liburcu still lists it. A thread the
 * program registered with urcu-memb itself (liburcu asserts on a second
 * registration) is used as it is and left registered: the registration is
 * the program's, for as long as it keeps it. initial-exec, as lp_tls. */
static __thread uint32_t urcu_ours __attribute__((tls_model("initial-exec"))); /* 1: the outermost online registered */

void lp_rcu_reader_online(void)
{
    if (lp_tls.urcu_online++ == 0) {
        urcu_ours = !URCU_TLS(urcu_memb_reader).registered;
        if (urcu_ours)
            urcu_memb_register_thread();
    }
}

void lp_rcu_reader_offline(void)
{
    if (--lp_tls.urcu_online == 0 && urcu_ours)
        urcu_memb_unregister_thread();
}

void lp_rcu_read_lock(void) { urcu_memb_read_lock(); }
void lp_rcu_read_unlock(void) { urcu_memb_read_unlock(); }
void lp_rcu_synchronize(void) { urcu_memb_synchronize_rcu(); }

void lp_thread_list_add(lp_thread_rec_t *rec) { cds_list_add_tail_rcu(&rec->node, &lp_thread_list); }
void lp_thread_list_del(lp_thread_rec_t *rec) { cds_list_del_rcu(&rec->node); }
void lp_thread_list_reset(void) { CDS_INIT_LIST_HEAD(&lp_thread_list); }

lp_thread_rec_t *lp_thread_list_first(void)
{
    struct cds_list_head *n = rcu_dereference(lp_thread_list.next);
    return n == &lp_thread_list ? NULL : caa_container_of(n, lp_thread_rec_t, node);
}

lp_thread_rec_t *lp_thread_list_next(lp_thread_rec_t *rec)
{
    struct cds_list_head *n = rcu_dereference(rec->node.next);
    return n == &lp_thread_list ? NULL : caa_container_of(n, lp_thread_rec_t, node);
}

/* Set once, under the registry lock, before the first record can retire. */
static void (*rcu_free_fn)(lp_thread_rec_t *);

void lp_rcu_set_free_callback(void (*fn)(lp_thread_rec_t *)) { rcu_free_fn = fn; }

static void rcu_free_trampoline(struct rcu_head *head)
{
    rcu_free_fn(caa_container_of(head, lp_thread_rec_t, rcu));
}

void lp_rcu_free_thread(lp_thread_rec_t *rec) { urcu_memb_call_rcu(&rec->rcu, rcu_free_trampoline); }

void lp_rcu_before_fork(void) { urcu_memb_call_rcu_before_fork(); }
void lp_rcu_after_fork_parent(void) { urcu_memb_call_rcu_after_fork_parent(); }
void lp_rcu_after_fork_child(void) { urcu_memb_call_rcu_after_fork_child(); }
