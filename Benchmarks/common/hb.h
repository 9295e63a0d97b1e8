/*
 * hb.h — the out-of-line pieces of hookbench (Benchmarks/hookbench.c).
 *
 * Each baseline lives in its own translation unit so that the compiler,
 * which never sees its body from the loop that calls it, cannot inline it,
 * hoist it or merge two calls: every half of a pair is a real call, as the
 * hooks are when a program calls lp_func_enter / lp_func_exit.
 */
#ifndef HB_H
#define HB_H

#include <stdint.h>

/* hooks/hb_floor.c, linked into hookbench: THE FLOOR (two non-inlined calls that
 * increment an initial-exec __thread counter), two empty calls, and a locked
 * read-modify-write (`lock xadd`). */
const void *hb_floor_enter(void *f);
void hb_floor_exit(void *f);
void hb_empty_enter(void *f);
void hb_empty_exit(void *f);
uint64_t hb_xadd(uint64_t *p);

/* hooks/hb_floor.c again, built with -DHB_SO into libhbfloor.so: the floor called
 * through the PLT of a shared object (what the shared-library hooks pay). */
const void *hb_so_floor_enter(void *f);
void hb_so_floor_exit(void *f);

/* hb_urcu_memb.c: urcu_memb's read side inlined (_LGPL_SOURCE), each half in
 * a non-inlined function (docs/DESIGN.md section 6). */
void hb_memb_lock(void);
void hb_memb_unlock(void);

/* hb_urcu_bp.c: the same for urcu_bp (registers itself on first use). */
void hb_bp_lock(void);
void hb_bp_unlock(void);

/* hb_urcu_qsbr.c: the same for urcu_qsbr, plus its quiescent state. */
void hb_qsbr_register(void);
void hb_qsbr_unregister(void);
void hb_qsbr_lock(void);
void hb_qsbr_unlock(void);
void hb_qsbr_quiescent(void);

/* hooks/hb_cyg.c, compiled with -finstrument-functions: empty functions whose
 * calls run the library's __cyg_profile_func_enter / _exit. */
void hb_cyg_unregistered(void *f);
void hb_cyg_registered(void *f);

/* hooks/hb_ref.c: lp_func_enter / lp_func_exit transcribed to C (fast path only;
 * every slow path taken adds 1 to hb_ref_slow_calls). hb_ref_setup returns
 * the function handle to pass them, in the state of the hooks' fast path. */
const void *hb_ref_enter(void *f);
void hb_ref_exit(void *f);
void *hb_ref_setup(const void *impl);
extern uint64_t hb_ref_slow_calls;

/* hb_alloc.c: allocations made by this thread while hb_alloc_counting != 0
 * (glibc only; hb_alloc_supported says whether they are counted). */
extern __thread int hb_alloc_counting __attribute__((tls_model("initial-exec")));
extern __thread uint64_t hb_alloc_count __attribute__((tls_model("initial-exec")));
extern const int hb_alloc_supported;

#endif /* HB_H */
