/*
 * livepatch/shadow.h: shadow variables, data attached to existing objects.
 * Included by <livepatch.h>.
 */
#ifndef LIVEPATCH_SHADOW_H
#define LIVEPATCH_SHADOW_H

#include "types.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- shadow variables ------------------------------------------------------
 * Data attached to an existing object without changing its layout, keyed by
 * <obj, id>, with the semantics of the kernel's shadow variables
 * (Documentation/livepatch/shadow-vars.rst). The API gives no mutual
 * exclusion on the data itself: that is the caller's business.
 *
 * Rules:
 *  - A new shadow's size bytes are zeroed (aligned as malloc's), then ctor (if
 *    any) runs on them before any thread can find the shadow; a nonzero
 *    return fails the call with NULL and errno = the return value with its
 *    sign removed (ctors return -errno, as in the kernel). Of two threads
 *    racing to create one <obj, id>, one creates it and runs its ctor, the
 *    other gets that same shadow and its ctor never runs.
 *  - ctor and dtor run under the writer lock: they may call lp_shadow_get,
 *    but a writer call (alloc, get_or_alloc, free, free_all) from inside them
 *    is refused with errno EDEADLK.
 *  - Freeing unlinks the shadow, runs dtor (if any) at once, and reclaims the
 *    memory after an RCU grace period. A thread that keeps using the data of
 *    a shadow another thread may free brackets lp_shadow_get and the use with
 *    lp_shadow_read_lock/unlock: the memory stays allocated until it unlocks
 *    (the dtor may already have run, as in the kernel). Otherwise the data is
 *    valid until the shadow is freed.
 *  - lp_shadow_get takes no lock. Each thread is registered with liburcu's
 *    memb flavour by its first lp_shadow_* call (one registry mutex, not
 *    async-signal-safe) until it exits; a thread the program registered with
 *    urcu_memb itself is used as it is, and must stay registered while it
 *    uses lp_shadow_*. Once registered, lp_shadow_get and the read sections
 *    are async-signal-safe; the writer calls (a mutex) are not.
 *  - Inside an lp_shadow_read_lock section, call nothing that waits for a
 *    memb grace period (urcu_memb_synchronize_rcu, urcu_memb_barrier): it
 *    would wait for itself. Every lp_shadow_* call is allowed there.
 *  - A fork while another thread is inside a read section leaves the child
 *    unable to complete a grace period (liburcu's memb flavour keeps that
 *    thread's reader state): fork from a quiescent program.
 * Pointer-returning calls: NULL with errno EINVAL (obj NULL), ENOMEM (no
 * memory, size too large), EDEADLK (called from a ctor or dtor). */

/* The data of <obj, id>; NULL with errno ENOENT when there is none. */
void *lp_shadow_get(void *obj, unsigned long id);
/* A new shadow <obj, id>; NULL with errno EEXIST when <obj, id> exists. */
void *lp_shadow_alloc(void *obj, unsigned long id, size_t size,
                      lp_shadow_ctor_t ctor, void *ctor_data);
/* The existing shadow <obj, id> (ctor not run), or a new one as lp_shadow_alloc. */
void *lp_shadow_get_or_alloc(void *obj, unsigned long id, size_t size,
                             lp_shadow_ctor_t ctor, void *ctor_data);
/* Detach <obj, id>, run dtor (may be NULL) on its data, free it after a grace
 * period. No shadow: nothing happens. obj NULL: errno EINVAL; from a ctor or
 * dtor: errno EDEADLK, nothing happens. */
void lp_shadow_free(void *obj, unsigned long id, lp_shadow_dtor_t dtor);
/* lp_shadow_free of every shadow with this id, in no particular order. */
void lp_shadow_free_all(unsigned long id, lp_shadow_dtor_t dtor);
/* Open (nesting) a read section in which no shadow data found is reclaimed.
 * -ENOMEM the thread could not be registered with liburcu. */
int lp_shadow_read_lock(void);
/* Close the innermost one. -EINVAL none is open on this thread. */
int lp_shadow_read_unlock(void);

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_SHADOW_H */
