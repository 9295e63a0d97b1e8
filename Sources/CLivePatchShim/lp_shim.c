/*
 * The out-of-line half of the shim: storage the hooks address directly, and
 * thin wrappers over system calls and liburcu. No engine logic lives here.
 */
#define _GNU_SOURCE
#include "lp_shim.h"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LP_LINE_ALIGNED __attribute__((aligned(LP_CACHELINE)))
LP_LINE_ALIGNED lp_global_t lp_global;
LP_LINE_ALIGNED lp_thread_rec_t lp_thread_table[LP_MAX_THREADS];
LP_LINE_ALIGNED struct lp_func lp_func_table[LP_MAX_FUNCS];
LP_LINE_ALIGNED lp_frame_t lp_frame_table[LP_MAX_THREADS][LP_FRAMES_KNOWN];
struct lp_patch lp_patch_table[LP_MAX_PATCHES];
/* 2 MiB of zeroes until functions are registered by address (lp_func_register_auto). */
LP_LINE_ALIGNED lp_addr_slot_t lp_addr_table[LP_ADDR_SLOTS];
__thread lp_tls_t lp_tls __attribute__((tls_model("initial-exec")));

/* ---- membarrier: the patcher's half of the asymmetric fence ---------------- */

static int membarrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;

int lp_sys_membarrier_init(void)
{
    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);
    if (cmds < 0)
        return -errno;
    if ((cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0) {
        membarrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
        return 0;
    }
    if (cmds & MEMBARRIER_CMD_GLOBAL) {
        membarrier_cmd = MEMBARRIER_CMD_GLOBAL; /* slower (a scheduler grace period), equally strong */
        return 0;
    }
    return -ENOSYS;
}

void lp_sys_membarrier(void)
{
    /* Pairs with lp_signal_fence() on every hook: after this returns, each
     * running thread has executed a full barrier, so its earlier stores are
     * visible to our later loads and its later loads see our earlier stores. */
    if (syscall(__NR_membarrier, membarrier_cmd, 0) != 0)
        abort(); /* registered in lp_sys_membarrier_init; failure here is a kernel bug */
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

uint32_t lp_sim_self(void) { return sim_self; }
void lp_sim_set_self(uint32_t id) { sim_self = id; }
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
uint64_t lp_sys_pthread_self(void) { return (uint64_t)pthread_self(); }
int lp_sys_pthread_kill_raw(uint64_t thread, int signo) { return pthread_kill((pthread_t)thread, signo); }
int lp_sys_pthread_kill(uint64_t thread, int signo)
{
    /* Simulation: a nudge to a simulated thread is delivered when it next runs. */
    lp_sim_kill_fn op = __atomic_load_n(&lp_sim_ops.kill, __ATOMIC_ACQUIRE);
    int r = op && sim_self ? op(thread, signo) : LP_SIM_PASS;
    return r != LP_SIM_PASS ? r : lp_sys_pthread_kill_raw(thread, signo);
}
int lp_sys_sigrtmax(void) { return SIGRTMAX; }
void lp_sys_yield(void) { sched_yield(); }
void lp_sys_cpu_relax(void) { __builtin_ia32_pause(); }
void *lp_sys_calloc(size_t n, size_t size) { return calloc(n, size); }
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

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t patcher_lock = PTHREAD_MUTEX_INITIALIZER;

void lp_lock_registry(void) { pthread_mutex_lock(&registry_lock); }
void lp_unlock_registry(void) { pthread_mutex_unlock(&registry_lock); }
/* The patcher lock is held across waits (Transition.swift, holding()). In a
 * simulation a simulated thread that slept on the mutex while its holder
 * waits for the baton would stop the whole run: it takes the lock with
 * trylock and, when that fails, waits (through the simulation) for the next
 * unlock. The registry lock is never held across a wait, so it stays plain. */
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
void lp_locks_reinit_after_fork(void)
{
    pthread_mutex_init(&registry_lock, NULL);
    pthread_mutex_init(&patcher_lock, NULL);
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

static CDS_LIST_HEAD(lp_thread_list);

/* Readers register for the span of one use and unregister right after, so a
 * thread never exits (or forks) while liburcu still lists it. */
void lp_rcu_reader_online(void)
{
    if (lp_tls.urcu_online++ == 0)
        urcu_memb_register_thread();
}

void lp_rcu_reader_offline(void)
{
    if (--lp_tls.urcu_online == 0)
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
