/*
 * The slow paths' locks (lps_locks.h).
 */
#define _GNU_SOURCE
#include "lps_shim.h"

#include <pthread.h>

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t patcher_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t simulation_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t patcher_unlocks;

/* The count first: a signal handler that lands while this thread takes or
 * holds the lock must not register the thread. The fences pair with the
 * handler's read of the count in lps_tls_claim_registration (lps_tls.h). */
void lps_lock_registry(void)
{
    lps_tls.in_registry++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pthread_mutex_lock(&registry_lock);
}
void lps_unlock_registry(void)
{
    pthread_mutex_unlock(&registry_lock);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    lps_tls.in_registry--;
}
void lps_lock_patcher(void) { pthread_mutex_lock(&patcher_lock); }
bool lps_trylock_patcher(void) { return pthread_mutex_trylock(&patcher_lock) == 0; }
void lps_unlock_patcher(void) { pthread_mutex_unlock(&patcher_lock); }
uint32_t *lps_patcher_unlocks(void) { return &patcher_unlocks; }
void lps_lock_simulation(void) { pthread_mutex_lock(&simulation_lock); }
void lps_unlock_simulation(void) { pthread_mutex_unlock(&simulation_lock); }

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

void lps_fork_gate_enter(void)
{
    pthread_once(&fork_gate_once, fork_gate_init);
    pthread_rwlock_rdlock(&fork_gate);
}
void lps_fork_gate_exit(void) { pthread_rwlock_unlock(&fork_gate); }
void lps_fork_gate_lock(void)
{
    pthread_once(&fork_gate_once, fork_gate_init);
    pthread_rwlock_wrlock(&fork_gate);
}
void lps_fork_gate_unlock(void) { pthread_rwlock_unlock(&fork_gate); }

void lps_locks_reinit_after_fork(void)
{
    lps_tls.in_registry--; /* the prepare handler's section: the child does not run its unlock */
    pthread_mutex_init(&registry_lock, NULL);
    pthread_mutex_init(&patcher_lock, NULL);
    pthread_mutex_init(&simulation_lock, NULL);
    fork_gate_init();
}
