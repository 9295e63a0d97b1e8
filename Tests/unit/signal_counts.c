/*
 * Exact counts while signal handlers run hooks of their own. f0 and f4 map
 * to the same per-thread count slot; the main thread enters and exits f0 in
 * a loop while another thread keeps signalling it, and the handler enters
 * and exits f4. A signal that lands between the hook's check of the slot's
 * owner and its store once let the handler hand the slot to f4, so the
 * interrupted count of f0 landed on f4 (f0 one exit short, f4 one over).
 * Found by the torture's handler workload.
 */
#define _GNU_SOURCE
#include "check.h"
#include <livepatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

static int impl(void) { return 0; }
static lp_func_t *fs[5];
static atomic_int stop;
static atomic_long handled;
static pthread_t victim;

static void on_signal(int signo)
{
    (void)signo;
    lp_func_enter(fs[4]);
    lp_func_exit(fs[4]);
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
}

static void *sender(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        pthread_kill(victim, SIGUSR1);
    return NULL;
}

int main(void)
{
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "f%d", i);
        fs[i] = lp_func_register(name, (const void *)impl);
    }
    check_rc("lp_thread_register", lp_thread_register("victim"), 0);
    victim = pthread_self();
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t s;
    pthread_create(&s, NULL, sender, NULL);
    /* Until enough handlers ran (each one a chance to land inside a hook),
     * and at least 20 million pairs. */
    for (long i = 0; i < 20000000 || atomic_load(&handled) < 100000; i++) {
        lp_func_enter(fs[0]);
        lp_func_exit(fs[0]);
    }
    atomic_store(&stop, 1);
    pthread_join(s, NULL);
    /* A signal still pending stays so: the counts below are read at rest. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    for (int i = 0; i < 5; i++) {
        uint64_t e, x;
        char what[96];
        lp_func_counts(fs[i], &e, &x);
        snprintf(what, sizeof what, "f%d: entries %llu == exits %llu", i, (unsigned long long)e, (unsigned long long)x);
        check(e == x, what);
    }
    uint64_t e4, x4;
    lp_func_counts(fs[4], &e4, &x4);
    check(e4 == (uint64_t)atomic_load(&handled), "f4 counted once per handler");
    return check_summary();
}
