/*
 * no_membarrier.c — the engine where the membarrier system call is refused
 * (a seccomp filter answering ENOSYS, as some container runtimes do). The
 * filter is installed before the process starts (the harness re-executes
 * itself under it), as a container would, so liburcu sees it too. The
 * engine falls back to its signal barrier: every call answers as where
 * membarrier works, and nothing aborts.
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
static int stop, saw_new;

/* Calls f inside kernel sections until told to stop; notes when the new
 * implementation runs. */
static void *caller(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        lp_kernel_enter();
        int (*fn)(void) = (int (*)(void))lp_func_enter(f);
        if (fn() == 2)
            __atomic_store_n(&saw_new, 1, __ATOMIC_RELEASE);
        lp_func_exit(f);
        lp_kernel_exit();
    }
    return NULL;
}

static int without_membarrier(void)
{
    if (syscall(__NR_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0) != -1 || errno != ENOSYS)
        return 10; /* the filter is not in place: this would test nothing */
    check_rc("lp_transition_wait with nothing in flight", lp_transition_wait(0), 0);
    f = lp_func_register("f", (const void *)old_impl);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, caller, NULL);
    lp_patch_t *p = lp_patch_create("p", LP_MODEL_KGRAFT, 0);
    check_rc("lp_patch_add_func", lp_patch_add_func(p, f, (const void *)new_impl), 0);
    check_rc("lp_patch_enable", lp_patch_enable(p), 0);
    check_rc("lp_transition_wait completes the enable", lp_transition_wait(0), 0);
    while (!__atomic_load_n(&saw_new, __ATOMIC_ACQUIRE))
        ;
    check(lp_func_enter(f) == (const void *)new_impl, "the patcher's thread runs the new implementation");
    lp_func_exit(f);
    check_rc("lp_patch_disable", lp_patch_disable(p), 0);
    check_rc("lp_transition_wait completes the disable", lp_transition_wait(0), 0);
    check(lp_func_enter(f) == (const void *)old_impl, "... and the old one is back");
    lp_func_exit(f);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    return check_summary();
}

/* Installs a filter that answers ENOSYS to membarrier, then runs this
 * program again under it (the filter is inherited across execve). */
static int run_filtered(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return 20;
    char *argv[] = { "no_membarrier", "--filtered", NULL };
    execv("/proc/self/exe", argv);
    return 21;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--filtered") == 0)
        return without_membarrier();
    int rc = in_child(run_filtered, 60);
    char line[128];
    snprintf(line, sizeof line, "every call above, under a seccomp filter refusing membarrier (child status %d)", rc);
    check(rc == 0, line);
    return check_summary();
}
