/* hookbench section "hooks": the measured loops, one per row (the rows
 * and their fixtures are in hb_rows.c). */
#include "hb_pairs.h"

#include <pthread.h>

/* No _LGPL_SOURCE here: urcu_memb_read_lock() below is the library's
 * exported function, a call into liburcu-memb.so. */
#include <urcu/urcu-memb.h>

#include "hb.h"

/* ---- the loops: one noinline function per measured body ---------------------
 * Every loop runs `n` pairs; the clobber keeps the compiler from deleting or
 * merging iterations. The loop overhead itself is the "empty loop" row. */

HB_NOINLINE void loop_empty(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) CLOBBER();
}

HB_NOINLINE void loop_calls(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_empty_enter(arg);
        hb_empty_exit(arg);
        CLOBBER();
    }
}

HB_NOINLINE void loop_floor(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_floor_enter(arg);
        KEEP(p);
        hb_floor_exit(arg);
    }
}

HB_NOINLINE void loop_floor_so(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_so_floor_enter(arg);
        KEEP(p);
        hb_so_floor_exit(arg);
    }
}

HB_NOINLINE void loop_xadd(uint64_t n, void *arg)
{
    uint64_t *c = arg;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = hb_xadd(c);
        KEEP(v);
        v = hb_xadd(c);
        KEEP(v);
    }
}

HB_NOINLINE void loop_rwlock(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_rwlock_rdlock(arg);
        pthread_rwlock_unlock(arg);
        CLOBBER();
    }
}

HB_NOINLINE void loop_mutex(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(arg);
        pthread_mutex_unlock(arg);
        CLOBBER();
    }
}

HB_NOINLINE void loop_memb_inline(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_memb_lock();
        hb_memb_unlock();
        CLOBBER();
    }
}

HB_NOINLINE void loop_memb_so(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        urcu_memb_read_lock();
        urcu_memb_read_unlock();
        CLOBBER();
    }
}

HB_NOINLINE void loop_bp(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_bp_lock();
        hb_bp_unlock();
        CLOBBER();
    }
}

HB_NOINLINE void loop_qsbr_qs1(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_qsbr_lock();
        hb_qsbr_unlock();
        hb_qsbr_quiescent();
    }
}

HB_NOINLINE void loop_qsbr_qs1024(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_qsbr_lock();
        hb_qsbr_unlock();
        if ((i & 1023) == 1023) hb_qsbr_quiescent();
        CLOBBER();
    }
}

HB_NOINLINE void loop_ref(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_ref_enter(arg);
        KEEP(p);
        hb_ref_exit(arg);
    }
}

HB_NOINLINE void loop_hook(uint64_t n, void *arg)
{
    lp_func_t *f = arg;
    for (uint64_t i = 0; i < n; i++) {
        const void *p = lp_func_enter(f);
        KEEP(p);
        lp_func_exit(f);
    }
}

/* One call of an instrumented empty function: its call, plus the two cyg
 * hooks around its body. */
HB_NOINLINE void loop_cyg_unregistered(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_cyg_unregistered(arg);
        CLOBBER();
    }
}

HB_NOINLINE void loop_cyg_registered(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_cyg_registered(arg);
        CLOBBER();
    }
}

HB_NOINLINE void loop_kernel(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        lp_kernel_enter();
        CLOBBER();
        lp_kernel_exit();
    }
}

/* One lp_shadow_get that finds its shadow (a lock-free rculfhash lookup in
 * a memb read section): one call per iteration, against the floor's two. */
HB_NOINLINE void loop_shadow_get(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        void *p = lp_shadow_get(arg, 1);
        KEEP(p);
    }
}
