/*
 * Exact counts while signal handlers run hooks of their own. f0 and f4 map
 * to the same per-thread count slot; the main thread enters and exits f0 in
 * a loop while another thread keeps signalling it, and the handler enters
 * and exits f4. A signal that lands between the hook's check of the slot's
 * owner and its store once let the handler hand the slot to f4, so the
 * interrupted count of f0 landed on f4 (f0 one exit short, f4 one over).
 * Found by the torture's handler workload.
 * Between two pairs of f0 the loop calls `deep` 64 KiB further down the
 * stack. A handler that landed inside lp_func_enter(f0), between its store
 * of the depth and of the frame, found on top the slot being filled, which
 * still held deep's key, below the handler's own: it took the slot for one
 * a jump left and exited it (deep one exit over, f0's exit unbalanced, and
 * f0 off the shadow stack, unseen by a stack check). Found as rare count
 * and UPSTREAM_STACK I1 failures of the threaded torture.
 */
#define _GNU_SOURCE
#include "check.h"
#include <livepatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

static int impl(void) { return 0; }
static lp_func_t *fs[5], *deep;
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

/* A hooked call 64 KiB below its caller: its frame key is lower than any
 * the handler's hook can have. */
__attribute__((noinline)) static void call_deep(void)
{
    volatile char below[65536];
    below[0] = 0;
    lp_func_enter(deep);
    lp_func_exit(deep);
    __asm__ volatile("" ::"r"(below) : "memory");
}

int main(void)
{
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "f%d", i);
        fs[i] = lp_func_register(name, (const void *)impl);
    }
    deep = lp_func_register("deep", (const void *)impl);
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
        if ((i & 3) == 0) call_deep();
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
    uint64_t ed, xd;
    lp_func_counts(deep, &ed, &xd);
    char what[128];
    snprintf(what, sizeof what, "deep: entries %llu == exits %llu", (unsigned long long)ed, (unsigned long long)xd);
    check(ed == xd, what);
    lp_transition_status_t st;
    lp_transition_status(&st);
    snprintf(what, sizeof what, "no frame taken for abandoned (got %llu), no exit unbalanced (got %llu)",
             (unsigned long long)st.abandoned_exits, (unsigned long long)st.unbalanced_exits);
    check(st.abandoned_exits == 0 && st.unbalanced_exits == 0, what);
    return check_summary();
}
