/*
 * The reference floor of docs/DESIGN.md section 6: two non-inlined calls that
 * increment thread-local storage with the initial-exec model, shaped like
 * the hooks (enter takes a handle and returns a pointer, exit takes the
 * handle). Built twice: into hookbench itself, and with -DHB_SO into
 * libhbfloor.so so that the same floor can be measured through a PLT.
 */
#include "hb.h"

#ifdef HB_SO
#define HB_NAME(x) hb_so_##x
#else
#define HB_NAME(x) hb_##x
#endif

/* Extern, so that the access is an initial-exec %fs-relative one as in the
 * engine's lps_tls, not a local-exec one the compiler could pick for a static. */
extern __thread uint64_t HB_NAME(floor_tls) __attribute__((tls_model("initial-exec")));
__thread uint64_t HB_NAME(floor_tls) __attribute__((tls_model("initial-exec")));

__attribute__((noinline, aligned(64))) const void *HB_NAME(floor_enter)(void *f)
{
    HB_NAME(floor_tls)++;
    return f;
}

__attribute__((noinline, aligned(64))) void HB_NAME(floor_exit)(void *f)
{
    (void)f;
    HB_NAME(floor_tls)++;
}

#ifndef HB_SO
__attribute__((noinline, aligned(64))) void hb_empty_enter(void *f)
{
    (void)f;
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, aligned(64))) void hb_empty_exit(void *f)
{
    (void)f;
    __asm__ volatile("" ::: "memory");
}

/* The value is returned so that the compiler emits `lock xadd`, not `lock add`
 * (same cost on x86; named so in the issue). */
__attribute__((noinline, aligned(64))) uint64_t hb_xadd(uint64_t *p)
{
    return __atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST);
}
#endif
