/*
 * A signal handler that lands inside lp_func_enter, between the store of the
 * new depth and the store of the frame, must not take the frame slot being
 * filled for one a jump left behind. The slot still held the key of the
 * last call at that depth: here a deep one (a call made below a large
 * stack array), so that the handler's own hook, shallower, once judged the
 * slot abandoned and exited it: the deep call's function got an extra exit,
 * the interrupted call lost its frame (an unbalanced exit), and a stack
 * check saw no set function on the thread while it ran one. Found as
 * rare count and I1 failures of the threaded torture.
 */
#define _GNU_SOURCE
#include "check.h"
#include <livepatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

static int impl(void) { return 0; }
static lp_func_t *shallow, *deep, *in_handler;
static atomic_int stop;
static atomic_long handled;
static pthread_t victim;

static void on_signal(int signo)
{
    (void)signo;
    lp_func_enter(in_handler);
    lp_func_exit(in_handler);
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
    shallow = lp_func_register("shallow", (const void *)impl);
    deep = lp_func_register("deep", (const void *)impl);
    in_handler = lp_func_register("in_handler", (const void *)impl);
    check_rc("lp_thread_register", lp_thread_register("victim"), 0);
    victim = pthread_self();
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t s;
    pthread_create(&s, NULL, sender, NULL);
    for (long i = 0; i < 2000000 || atomic_load(&handled) < 50000; i++) {
        call_deep();
        lp_func_enter(shallow);
        lp_func_exit(shallow);
    }
    atomic_store(&stop, 1);
    pthread_join(s, NULL);
    /* A signal still pending stays so: the counts below are read at rest. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    lp_func_t *fs[] = { shallow, deep, in_handler };
    const char *names[] = { "shallow", "deep", "in_handler" };
    for (int i = 0; i < 3; i++) {
        uint64_t e, x;
        char what[96];
        lp_func_counts(fs[i], &e, &x);
        snprintf(what, sizeof what, "%s: entries %llu == exits %llu", names[i], (unsigned long long)e,
                 (unsigned long long)x);
        check(e == x, what);
    }
    lp_transition_status_t st;
    lp_transition_status(&st);
    char what[96];
    snprintf(what, sizeof what, "no frame taken for abandoned (got %llu), no exit unbalanced (got %llu)",
             (unsigned long long)st.abandoned_exits, (unsigned long long)st.unbalanced_exits);
    check(st.abandoned_exits == 0 && st.unbalanced_exits == 0, what);
    return check_summary();
}
