/*
 * no_membarrier.c — the engine where the membarrier system call is refused
 * (a seccomp filter answering ENOSYS, as some container runtimes do). Where
 * the filter is there from the start, it is installed before the process
 * starts (the harness re-executes itself under it), as a container would,
 * so liburcu sees it too. Where it comes later, every thread gets it at
 * once (TSYNC). Either way the engine uses its signal barrier: every call
 * answers as where membarrier works, and nothing aborts.
 */
#include "check.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int old_impl(void) { return 1; }
static int new_impl(void) { return 2; }

static lp_func_t *f;
static int last_seen;

/* Calls f inside kernel sections for ever (the child ends with _exit: a
 * thread that exits would have liburcu run a grace period, and liburcu
 * aborts where membarrier is refused after it started). */
static void *caller(void *arg)
{
    (void)arg;
    for (;;) {
        lp_kernel_enter();
        int (*fn)(void) = (int (*)(void))lp_func_enter(f);
        __atomic_store_n(&last_seen, fn(), __ATOMIC_RELEASE);
        lp_func_exit(f);
        lp_kernel_exit();
    }
    return NULL;
}

static void start_callers(void)
{
    f = lp_func_register("f", (const void *)old_impl);
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        pthread_create(&t, NULL, caller, NULL);
    }
}

/* Waits until the callers run `impl`, then checks the caller's own thread. */
static void runs(int (*impl)(void), const char *what)
{
    while (__atomic_load_n(&last_seen, __ATOMIC_ACQUIRE) != impl())
        ;
    check(lp_func_enter(f) == (const void *)impl, what);
    lp_func_exit(f);
}

static lp_patch_t *enable_patch(const char *name)
{
    lp_patch_t *p = lp_patch_create(name, LP_MODEL_KGRAFT, 0);
    check_rc("lp_patch_add_func", lp_patch_add_func(p, f, (const void *)new_impl), 0);
    check_rc("lp_patch_enable", lp_patch_enable(p), 0);
    check_rc("lp_transition_wait completes the enable", lp_transition_wait(0), 0);
    runs(new_impl, "every thread runs the new implementation");
    return p;
}

static void disable_patch(lp_patch_t *p)
{
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("lp_transition_wait completes the disable", lp_transition_wait(0), 0);
    runs(old_impl, "... and the old one is back");
}

static int install_filter(unsigned flags)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0)
        return -1;
    /* Without the filter in place this would test nothing. */
    return syscall(__NR_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0) == -1 && errno == ENOSYS ? 0 : -1;
}

static int filtered_from_the_start(void)
{
    check_rc("lp_transition_wait with nothing in flight", lp_transition_wait(0), 0);
    start_callers();
    disable_patch(enable_patch("p"));
    return check_summary();
}

static int run_filtered(void)
{
    if (install_filter(0) != 0)
        return 20;
    char *argv[] = { "no_membarrier", "--filtered", NULL };
    execv("/proc/self/exe", argv);
    return 21;
}

static int filtered_later(void)
{
    start_callers();
    lp_patch_t *p = enable_patch("before-the-filter");
    if (install_filter(SECCOMP_FILTER_FLAG_TSYNC) != 0)
        return 20;
    disable_patch(p);
    enable_patch("after-the-filter");
    return check_summary();
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--filtered") == 0) {
        if (syscall(__NR_membarrier, 0, 0) != -1 || errno != ENOSYS)
            return 10;
        return filtered_from_the_start();
    }
    char line[128];
    int rc = in_child(run_filtered, 60);
    snprintf(line, sizeof line, "every call above, under a seccomp filter refusing membarrier (child status %d)", rc);
    check(rc == 0, line);
    rc = in_child(filtered_later, 60);
    snprintf(line, sizeof line, "every call above, the filter installed while the engine runs (child status %d)", rc);
    check(rc == 0, line);
    return check_summary();
}
