/*
 * check.h — the C harnesses' one way to report: a line per check, and a
 * closing "N passed, N failed" (check_summary) that test runners read.
 */
#ifndef LP_CHECK_H
#define LP_CHECK_H

#include <livepatch.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;

static inline void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

/* An int-returning call: prints what it got when it is not what was documented. */
static inline void check_rc(const char *what, int got, int want)
{
    char line[256];
    if (got == want)
        snprintf(line, sizeof line, "%s", what);
    else
        snprintf(line, sizeof line, "%s (got %d \"%s\", want %d)", what, got, lp_strerror(got), want);
    check(got == want, line);
}

/* A pointer-returning call: NULL with errno set as documented. errno is read
 * right after the call, before check() can change it. */
static inline void check_null(const char *what, const void *got, int got_errno, int want_errno)
{
    int ok = got == NULL && got_errno == want_errno;
    char line[256];
    if (ok)
        snprintf(line, sizeof line, "%s", what);
    else
        snprintf(line, sizeof line, "%s (got %s, errno %d; want NULL, errno %d)", what, got ? "non-NULL" : "NULL",
                 got_errno, want_errno);
    check(ok, line);
}

#define EXPECT_NULL(what, call, want_errno)        \
    do {                                           \
        errno = 0;                                 \
        const void *got_ = (const void *)(call);   \
        check_null(what, got_, errno, want_errno); \
    } while (0)

/* Runs fn in a forked child under an alarm, for checks whose failure is a
 * crash or a hang: the child's exit status, or 128 + the signal that ended it
 * (SIGALRM: it hung). */
static inline int in_child(int (*fn)(void), unsigned alarm_s)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        passed = failed = 0; /* the child's own checks, summed by its own summary */
        alarm(alarm_s);
        int rc = fn();
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether the status snapshot shows the thread registered as `thread`
 * blocking the transition from inside f, and f alone. */
static inline int snapshot_blocked_inside(const char *thread, const lp_func_t *f)
{
    lp_thread_state_t states[16];
    lp_snapshot_t snap;
    memset(&snap, 0, sizeof snap); /* C++ (exception_frames.cpp) has no out-of-order designators */
    snap.threads = states;
    snap.threads_cap = 16;
    lp_status_snapshot(&snap);
    for (uint32_t i = 0; i < snap.n_threads && i < 16; i++)
        if (strcmp(states[i].name, thread) == 0)
            return states[i].blocking != 0 && states[i].n_inside == 1 && states[i].inside[0] == f;
    return 0;
}

/* Prints the closing line; the process's exit status. */
static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

#endif
