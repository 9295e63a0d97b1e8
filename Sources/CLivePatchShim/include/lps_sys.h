/*
 * System calls and libc, wrapped so that the Swift engine needs no Glibc
 * module (the Embedded build has none). None of these knows of the
 * simulation: the engine's syscall seam (Core/Syscalls.swift) sends a
 * simulated thread's waits, clock reads and signals to the simulation, and
 * everyone else's here.
 */
#ifndef LPS_SYS_H
#define LPS_SYS_H

#include "lps_records.h"

int lps_sys_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns); /* 0 woken, -ETIMEDOUT, -EAGAIN, -EINTR */
void lps_sys_futex_wake(uint32_t *word, int count);
uint64_t lps_sys_now_ns(void); /* CLOCK_MONOTONIC */
int lps_sys_pthread_kill(uint64_t thread, int signo);
int lps_sys_thread_runnable(int32_t tid); /* 1: running or waiting for a CPU (not asleep) */
int32_t lps_sys_gettid(void);
uint64_t lps_sys_pthread_self(void);
int lps_sys_signal_catchable(int signo); /* 1: a handler can be installed for signo */
void *lps_sys_calloc(size_t n, size_t size);
/* Zeroed pages, page-aligned, backed only where touched; NULL if out of
 * memory. Never unmapped: what uses it keeps it for the process's life. */
void *lps_sys_map_zeroed(size_t bytes);
void lps_sys_free(void *p);
char *lps_sys_strdup(const char *s);
void lps_sys_set_errno(int err);
int lps_sys_thread_exit_hook(void (*fn)(void *)); /* pthread key whose destructor is fn */
void lps_sys_thread_exit_arm(void *value);        /* set this thread's key value */
int lps_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
void lps_sys_keep(uint64_t value); /* does nothing, out of the optimizer's sight: a read it must keep */
int lps_sys_on_altstack(void);     /* 1 while a signal handler runs on the sigaltstack */
/* mmap and madvise, not malloc: a thread may register from a hook in a
 * signal handler. */
lps_count_row_t *lps_sys_thread_map(void);          /* a thread's rows and deep frames, zeroed; NULL: no memory (async-signal-safe) */
void lps_sys_thread_map_discard(lps_count_row_t *rows); /* all of it back to zero, and its memory returned */

#endif /* LPS_SYS_H */
