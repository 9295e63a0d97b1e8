/*
 * System calls and libc, for an engine with no Glibc module (lps_sys.h).
 */
#define _GNU_SOURCE
#include "lps_shim.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int lps_sys_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct timespec ts = { (time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u) };
    long r = syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout_ns ? &ts : NULL, NULL, 0);
    if (r == 0)
        return 0;
    return -errno;
}

void lps_sys_futex_wake(uint32_t *word, int count)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

uint64_t lps_sys_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int lps_sys_pthread_kill(uint64_t thread, int signo) { return pthread_kill((pthread_t)thread, signo); }

/* The state letter of /proc/self/task/TID/stat follows the last ')' (the
 * command name may hold any byte). */
int lps_sys_thread_runnable(int32_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'R';
}

int32_t lps_sys_gettid(void) { return (int32_t)syscall(SYS_gettid); }
uint64_t lps_sys_pthread_self(void) { return (uint64_t)pthread_self(); }

/* Not SIGKILL or SIGSTOP (no handler catches them), nor the signals between
 * the standard ones and SIGRTMIN, which the C library keeps for itself. */
int lps_sys_signal_catchable(int signo)
{
    return signo > 0 && signo <= SIGRTMAX && signo != SIGKILL && signo != SIGSTOP && (signo < 32 || signo >= SIGRTMIN);
}

void *lps_sys_calloc(size_t n, size_t size) { return calloc(n, size); }

void *lps_sys_map_zeroed(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void lps_sys_free(void *p) { free(p); }
char *lps_sys_strdup(const char *s) { return strdup(s); }
void lps_sys_set_errno(int err) { errno = err; }

static pthread_key_t exit_key;

int lps_sys_thread_exit_hook(void (*fn)(void *)) { return -pthread_key_create(&exit_key, fn); }
void lps_sys_thread_exit_arm(void *value) { pthread_setspecific(exit_key, value); }
void lps_sys_keep(uint64_t value) { (void)value; }
int lps_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return -pthread_atfork(prepare, parent, child);
}

int lps_sys_on_altstack(void)
{
    stack_t ss;
    return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) != 0;
}

/* MAP_NORESERVE: pages are backed only once written. */
lps_count_row_t *lps_sys_thread_map(void)
{
    void *p = mmap(NULL, LPS_THREAD_MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void lps_sys_thread_map_discard(lps_count_row_t *rows)
{
    if (rows != NULL) (void)madvise(rows, LPS_THREAD_MAP_BYTES, MADV_DONTNEED);
}
