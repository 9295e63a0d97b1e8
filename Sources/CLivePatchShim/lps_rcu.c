/*
 * liburcu, memb flavour (lps_rcu.h).
 *
 * The thread list is liburcu's RCU list: writers hold registry_lock, readers
 * (the patcher's scans) hold the memb read lock, and a record returns to the
 * free list through call_rcu once no scan can still see it. liburcu's list
 * writers publish with plain volatile stores and a compiler barrier, which
 * ThreadSanitizer cannot pair with the readers' atomic loads: scripts/tsan.supp
 * names exactly these list functions. The record fields the list leads to
 * are all read and written with the atomics of lps_shim.h.
 */
#define _GNU_SOURCE
#include "../CLiburcu/CLiburcu.h" /* first: _LGPL_SOURCE */
#include "lps_shim.h"

#include <pthread.h>
#include <signal.h>

static CDS_LIST_HEAD(lps_thread_list);

/* Readers register for the span of one use and unregister right after, so a
 * thread never exits (or forks) while liburcu still lists it. A thread the
 * program registered with urcu-memb itself (liburcu asserts on a second
 * registration) is used as it is and left registered: the registration is
 * the program's, for as long as it keeps it. initial-exec, as lps_tls. */
static __thread uint32_t urcu_ours __attribute__((tls_model("initial-exec"))); /* 1: the outermost online registered */

void lps_rcu_reader_online(void)
{
    if (lps_tls.urcu_online++ == 0) {
        urcu_ours = !URCU_TLS(urcu_memb_reader).registered;
        if (urcu_ours)
            urcu_memb_register_thread();
    }
}

void lps_rcu_reader_offline(void)
{
    if (--lps_tls.urcu_online == 0 && urcu_ours)
        urcu_memb_unregister_thread();
}

void lps_rcu_read_lock(void) { urcu_memb_read_lock(); }
void lps_rcu_read_unlock(void) { urcu_memb_read_unlock(); }

void lps_thread_list_add(lps_thread_rec_t *rec) { cds_list_add_tail_rcu(&rec->node, &lps_thread_list); }
void lps_thread_list_del(lps_thread_rec_t *rec) { cds_list_del_rcu(&rec->node); }
void lps_thread_list_reset(void) { CDS_INIT_LIST_HEAD(&lps_thread_list); }

lps_thread_rec_t *lps_thread_list_first(void)
{
    struct cds_list_head *n = rcu_dereference(lps_thread_list.next);
    return n == &lps_thread_list ? NULL : caa_container_of(n, lps_thread_rec_t, node);
}

lps_thread_rec_t *lps_thread_list_next(lps_thread_rec_t *rec)
{
    struct cds_list_head *n = rcu_dereference(rec->node.next);
    return n == &lps_thread_list ? NULL : caa_container_of(n, lps_thread_rec_t, node);
}

/* Set once, under the registry lock, before the first record can retire. */
static void (*rcu_free_fn)(lps_thread_rec_t *);

void lps_rcu_set_free_callback(void (*fn)(lps_thread_rec_t *)) { rcu_free_fn = fn; }

static void rcu_free_trampoline(struct rcu_head *head)
{
    rcu_free_fn(caa_container_of(head, lps_thread_rec_t, rcu));
}

/* liburcu starts its call_rcu worker thread in the first call_rcu (of a
 * retired record or shadow variable), and again in a fork child, and the
 * worker keeps the signal mask of the thread that started it. A process-directed signal goes to any thread that does
 * not block it, so a worker that blocks nothing runs the program's handlers
 * on a thread the program never made, even while the program's own thread
 * blocks that signal to keep its handler out of a critical section (bash
 * blocks SIGCHLD around its job table; its handler, run on a patcher
 * thread that blocked nothing, updated that table behind it, and a
 * pipeline's statuses came out 0). Every call_rcu goes through
 * lps_rcu_call, and it and the fork child's restart run with every signal
 * blocked; pthread_sigmask is async-signal-safe, and a record may be
 * retired in a signal handler. */
static void block_all_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

void lps_rcu_call(struct rcu_head *head, void (*fn)(struct rcu_head *))
{
    sigset_t old;
    block_all_signals(&old);
    urcu_memb_call_rcu(head, fn);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void lps_rcu_free_thread(lps_thread_rec_t *rec) { lps_rcu_call(&rec->rcu, rcu_free_trampoline); }

void lps_rcu_before_fork(void) { urcu_memb_call_rcu_before_fork(); }
void lps_rcu_after_fork_parent(void) { urcu_memb_call_rcu_after_fork_parent(); }
void lps_rcu_after_fork_child(void)
{
    sigset_t old;
    block_all_signals(&old);
    urcu_memb_call_rcu_after_fork_child();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}
