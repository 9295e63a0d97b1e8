/*
 * ftrace_signals.c — a signal handler that calls a pad-patched function
 * while the interrupted thread is inside the trampoline.
 *
 * The trampoline keeps each hooked call's real return address on the
 * thread's shadow stack. A handler that lands while the interrupted call is
 * pushing its entry must push above it, not over it: a return whose entry
 * was overwritten matches no hooked call and the library aborts. The main
 * thread calls a pad function in a loop while another thread signals it
 * without pause, and the handler calls the same function; in a child, so
 * that an abort is a failed check. Then the counts must balance.
 */
// harness-cflags: -fpatchable-function-entry=5
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "noipa.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALLS 4000000
#define SIGNALS_AT_LEAST 100000

NOIPA int leaf(int x) { return 2 * x + 1; }

static atomic_int wrong, handled, stop;
static pthread_t victim;

static void on_signal(int signo)
{
    (void)signo;
    if (leaf(7) != 15)
        atomic_fetch_add(&wrong, 1);
    atomic_fetch_add(&handled, 1);
}

static void *sender(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        pthread_kill(victim, SIGUSR1);
    return NULL;
}

/* The child: arm leaf's pad (a patch names it), call it under signals. */
static int run(void)
{
    if (lp_ftrace_discover(0) <= 0)
        return 2;
    lp_func_t *f = lp_func_lookup("leaf");
    lp_patch_t *p = lp_patch_create("arm", LP_MODEL_UPSTREAM, 0);
    if (f == NULL || p == NULL || lp_patch_extend_set(p, f) != 0)
        return 3;
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    victim = pthread_self();
    pthread_t th;
    pthread_create(&th, NULL, sender, NULL);
    for (int i = 0; i < CALLS || atomic_load(&handled) < SIGNALS_AT_LEAST; i++)
        if (leaf(i) != 2 * i + 1)
            atomic_fetch_add(&wrong, 1);
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    signal(SIGUSR1, SIG_IGN);
    uint64_t e = 0, x = 0;
    lp_func_counts(f, &e, &x);
    printf("      %d handlers ran, leaf entered %llu times, exited %llu\n", atomic_load(&handled),
           (unsigned long long)e, (unsigned long long)x);
    return atomic_load(&wrong) != 0 ? 4 : e != x ? 5 : 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(run());
    if (pid < 0)
        return 1;
    int status = 0;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status), "the calls under signals end normally (no abort: every return matched its call)");
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "every call returned its result and leaf's entries equal its exits");
    return check_summary();
}
