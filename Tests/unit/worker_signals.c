/*
 * worker_signals.c — the threads the library starts block every signal.
 *
 * liburcu starts a call_rcu worker when the first shadow variable is freed
 * or the first registered thread is retired (and again in a fork child). A process-directed signal goes to
 * any thread that does not block it: a worker that blocked nothing would
 * run the program's handlers on a thread the program never made, even
 * while the program's own threads block that signal to keep the handler
 * out of a critical section. Checks, from /proc/self/task: once a thread
 * has been retired there is a thread the test did not start, and every
 * such thread blocks the signals a program handles; so do they once a
 * shadow variable has been freed (its table has a worker of its own); the
 * same in a fork child that retired a thread. SIGUSR1 is left out: liburcu 0.13's
 * hash-table worker (the shadow variables' table) unblocks it for itself,
 * as liburcu's SIGRCU, whatever mask it was started with (liburcu 0.14
 * stopped doing so).
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *registered_thread(void *arg)
{
    (void)arg;
    lp_thread_register("short-lived");
    return NULL; /* its exit retires its record: call_rcu */
}

static uint64_t blocked_mask(const char *tid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/task/%.16s/status", tid);
    FILE *f = fopen(path, "r");
    uint64_t mask = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "SigBlk: %llx", (unsigned long long *)&mask) == 1) break;
    if (f) fclose(f);
    return mask;
}

#define BIT(sig) (1ull << ((sig) - 1))

/* Threads other than the calling one, and how many of them let through one
 * of the signals a program handles. */
static void other_threads(int *others, int *open)
{
    const uint64_t handled = BIT(SIGCHLD) | BIT(SIGALRM) | BIT(SIGINT) | BIT(SIGTERM) | BIT(SIGUSR2) | BIT(SIGHUP);
    char me[16];
    snprintf(me, sizeof me, "%ld", (long)syscall(SYS_gettid));
    *others = *open = 0;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, me) == 0) continue;
        (*others)++;
        *open += (blocked_mask(e->d_name) & handled) != handled;
    }
    if (d) closedir(d);
}

int main(void)
{
    lp_thread_register("main");
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        pthread_create(&t, NULL, registered_thread, NULL);
        pthread_join(t, NULL);
    }
    int others, open;
    other_threads(&others, &open);
    check(others >= 1, "after a thread was retired, a thread the program did not start runs (liburcu's worker)");
    check(open == 0, "... and it blocks SIGCHLD, SIGALRM, SIGINT, SIGTERM, SIGUSR2 and SIGHUP");
    static int obj;
    check(lp_shadow_alloc(&obj, 1, 8, NULL, NULL) != NULL, "a shadow variable");
    lp_shadow_free(&obj, 1, NULL);
    other_threads(&others, &open);
    check(others >= 2 && open == 0, "once it is freed, so does the worker of the shadows' table");

    int pipefd[2];
    if (pipe(pipefd) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        /* A thread retired in the child starts the child's worker, if the
         * fork did not. */
        pthread_t t;
        pthread_create(&t, NULL, registered_thread, NULL);
        pthread_join(t, NULL);
        other_threads(&others, &open);
        char verdict = others == 0 ? '0' : open == 0 ? 'y' : 'n';
        if (write(pipefd[1], &verdict, 1) != 1) _exit(1);
        _exit(0);
    }
    char verdict = 0;
    check(read(pipefd[0], &verdict, 1) == 1 && verdict == 'y', "in a fork child, after a thread was retired there, the worker blocks them too");
    waitpid(pid, NULL, 0);
    return check_summary();
}
