/*
 * syscall.c — ports "patch getpid syscall while being heavily hammered" of
 * the kernel's tools/testing/selftests/livepatch/test-syscall.sh: 128
 * threads call a patched function in a tight loop, each call inside a kernel
 * section (the system call it stands for), while the patch is enabled and
 * then disabled; every one of them must switch to the new implementation,
 * and back. Only deterministic facts are logged. Compared with syscall.log
 * by scripts/check-selftests.
 */
#include "selftest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define THREADS 128

typedef long (*getpid_fn)(void);
static long sys_getpid(void) { return 1; }
static long lp_sys_getpid(void) { return 2; }

static lp_func_t *getpid_f;
static atomic_int stop;
/* phase * 16 + the answer every call must get: set once a transition has
 * completed, 0 while one may run (either answer is right then). The phase
 * makes each value unique, so a call that saw the same value before and
 * after it ran began after the completion. */
static atomic_long want;
static atomic_int saw[THREADS]; /* thread i got `want` */
static atomic_long stale;       /* calls that began after completion and got the other answer */

static void *hammer(void *arg)
{
    int i = (int)(long)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        /* Read before the call: acquire pairs with the store after
         * lp_transition_wait() returned, so this call begins after the
         * completion and must get the final implementation. */
        long w = atomic_load_explicit(&want, memory_order_acquire);
        lp_kernel_enter();
        long got = ((getpid_fn)lp_func_enter(getpid_f))();
        lp_func_exit(getpid_f);
        lp_kernel_exit();
        if (w != 0 && got == w % 16)
            atomic_store_explicit(&saw[i], 1, memory_order_relaxed);
        else if (w != 0 && atomic_load(&want) == w)
            atomic_fetch_add(&stale, 1);
    }
    return NULL;
}

/* After the transition completed, every thread's next call gets the new
 * answer; a thread that does not report it within a minute failed. */
static void expect_all_switch(long answer, const char *what)
{
    static long phase;
    for (int i = 0; i < THREADS; i++)
        atomic_store(&saw[i], 0);
    atomic_store(&want, ++phase * 16 + answer);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int n;
    do {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
        n = 0;
        for (int i = 0; i < THREADS; i++)
            n += atomic_load(&saw[i]);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (n < THREADS && now.tv_sec - start.tv_sec < 60);
    EXPECT(n == THREADS);
    EXPECT(atomic_load(&stale) == 0);
    atomic_store(&want, 0); /* the next transition may begin */
    printf("test_klp_syscall: all %d threads saw the %s implementation\n", THREADS, what);
}

int main(void)
{
    selftest_begin();
    getpid_f = lp_func_register("sys_getpid", sys_getpid);
    EXPECT(getpid_f != NULL);
    lp_patch_t *p = new_patch("test_klp_syscall", 0, getpid_f, lp_sys_getpid);

    printf("%% TEST: patch getpid syscall while being heavily hammered\n");
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        EXPECT(pthread_create(&t[i], NULL, hammer, (void *)i) == 0);
    printf("%% start %d threads calling sys_getpid in a loop\n", THREADS);
    expect_all_switch(1, "original");
    enable(p, "test_klp_syscall");
    expect_all_switch(2, "new");
    disable(p, "test_klp_syscall");
    expect_all_switch(1, "original");
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        EXPECT(pthread_join(t[i], NULL) == 0);
    EXPECT(lp_patch_destroy(p) == 0);
    return 0;
}
