// harness-cflags: -Wl,--wrap=pthread_setspecific -Wl,--wrap=lps_lock_registry -Wl,--wrap=lps_rcu_free_thread
/*
 * A signal handler that runs a hook while its thread unregisters or exits,
 * or while the thread, unregistered, holds the engine's thread registry.
 * Unregistering cleared the thread's record, then disarmed the exit
 * destructor (pthread_setspecific). A handler landing between the two found
 * no record and registered the thread again; the disarm then left that
 * record without a destructor: lp_thread_register answered -EEXIST to a
 * thread just unregistered, and a record stayed live after its thread
 * exited (a slot lost, a dead thread in every snapshot). Now the destructor
 * is disarmed first, and a handler there still finds the retiring record:
 * its call runs in the thread's universe and is counted (a retired record's
 * rows count until its slot is freed).
 *
 * A thread with no record that held the registry lock (lp_func_register
 * takes it, and so do scans and the status calls) deadlocked in a handler
 * whose hook registered the thread, which takes that lock too. Now a thread
 * inside the registry cannot claim its registration: the hook runs
 * uncounted.
 *
 * After its exit's unregistration a thread cannot register again: a hook
 * later in its teardown would leave a record that perhaps no destructor
 * round retires. Its handler's call runs uncounted.
 *
 * The windows are a few instructions wide, so the signal is raised there on
 * purpose, by wrappers (the line above), when armed: pthread_setspecific
 * raises SIGUSR1 before disarming the destructor; the engine's
 * lps_lock_registry once it holds the lock, and lps_rcu_free_thread (the
 * last step of a retirement; both internal symbols of liblivepatch.a)
 * before it runs. A deadlock ends the run by alarm.
 */
#define _GNU_SOURCE
#include "check.h"
#include <livepatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

static int impl(void) { return 0; }
static lp_func_t *f;
static _Thread_local int raise_at_disarm, raise_in_registry, raise_after_retire;
static atomic_long handled;

int __real_pthread_setspecific(pthread_key_t key, const void *value);
int __wrap_pthread_setspecific(pthread_key_t key, const void *value)
{
    if (raise_at_disarm && value == NULL) {
        raise_at_disarm = 0;
        raise(SIGUSR1);
    }
    return __real_pthread_setspecific(key, value);
}

void __real_lps_lock_registry(void);
void __wrap_lps_lock_registry(void)
{
    __real_lps_lock_registry();
    if (raise_in_registry) {
        raise_in_registry = 0;
        raise(SIGUSR1);
    }
}

void __real_lps_rcu_free_thread(void *rec);
void __wrap_lps_rcu_free_thread(void *rec)
{
    if (raise_after_retire) {
        raise_after_retire = 0;
        raise(SIGUSR1);
    }
    __real_lps_rcu_free_thread(rec);
}

static void on_alarm(int signo)
{
    (void)signo;
    static const char msg[] = "FAIL: deadlocked (10 s)\n";
    ssize_t written = write(1, msg, sizeof msg - 1); /* async-signal-safe; nothing to do if it fails */
    (void)written;
    _exit(1);
}

static void on_signal(int signo)
{
    (void)signo;
    lp_func_enter(f);
    lp_func_exit(f);
    atomic_fetch_add(&handled, 1);
}

static uint64_t unregistered_calls(void)
{
    lp_transition_status_t st;
    lp_transition_status(&st);
    return st.unregistered_calls;
}

static uint64_t unbalanced_exits(void)
{
    lp_transition_status_t st;
    lp_transition_status(&st);
    return st.unbalanced_exits;
}

static void *exiting_thread(void *arg)
{
    (void)arg;
    lp_func_enter(f); /* registers the thread */
    lp_func_exit(f);
    raise_at_disarm = 1; /* in its exit destructor */
    return NULL;
}

static void *exiting_thread_late_hook(void *arg)
{
    (void)arg;
    lp_func_enter(f);
    lp_func_exit(f);
    raise_after_retire = 1; /* in its exit destructor, once the record is retired */
    return NULL;
}

int main(void)
{
    f = lp_func_register("f", (const void *)impl);
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    uint64_t uncounted = unregistered_calls();

    check_rc("lp_thread_register", lp_thread_register("main"), 0);
    raise_at_disarm = 1;
    check_rc("lp_thread_unregister, a handler's hook inside it", lp_thread_unregister(), 0);
    check(handled == 1, "the handler ran inside lp_thread_unregister");
    check(unregistered_calls() == uncounted, "its call counted as the thread's");
    check_rc("lp_thread_register: the thread was left unregistered", lp_thread_register("main"), 0);
    check_rc("lp_thread_unregister", lp_thread_unregister(), 0);

    pthread_t t;
    pthread_create(&t, NULL, exiting_thread, NULL);
    pthread_join(t, NULL);
    check(handled == 2, "the handler ran inside the exit destructor");
    check(unregistered_calls() == uncounted, "its call counted as the thread's");
    lp_snapshot_t snap = { 0 };
    int fitted = lp_status_snapshot(&snap); /* 1: threads did not fit in none */
    check(fitted == 0 || fitted == 1, "lp_status_snapshot");
    char what[96];
    snprintf(what, sizeof what, "no thread left registered (%u)", snap.n_threads);
    check(snap.n_threads == 0, what);
    uint64_t e, x;
    lp_func_counts(f, &e, &x);
    snprintf(what, sizeof what, "f: entries %llu == exits %llu == 3 (the thread's call, both handlers')",
             (unsigned long long)e, (unsigned long long)x);
    check(e == 3 && x == 3, what);

    pthread_create(&t, NULL, exiting_thread_late_hook, NULL);
    pthread_join(t, NULL);
    check(handled == 3, "the handler ran after the exit's unregistration");
    check(unregistered_calls() == uncounted + 1, "its call ran uncounted: the thread was not registered again");
    check(unbalanced_exits() == 0, "... and its exit, that call's, is not unbalanced");
    check(lp_status_snapshot(&snap) >= 0 && snap.n_threads == 0, "no thread left registered");

    signal(SIGALRM, on_alarm);
    alarm(10);
    raise_in_registry = 1;
    check(lp_func_register("g", (const void *)impl) != NULL, "lp_func_register, unregistered, a handler's hook inside it");
    alarm(0);
    check(handled == 4, "the handler ran inside the registry");
    check(unregistered_calls() == uncounted + 2, "its call ran uncounted");
    check(unbalanced_exits() == 0, "... and its exit is not unbalanced");
    lp_func_exit(f);
    check(unbalanced_exits() == 1, "an exit with no entry on a thread without a record still is");
    return check_summary();
}
