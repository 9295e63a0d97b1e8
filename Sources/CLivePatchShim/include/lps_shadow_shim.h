/*
 * lps_shadow_shim.h — the C half of the shadow variables (Shadow.swift holds
 * the API, the ctor/dtor protocol and the errors).
 *
 * Why this shim exists:
 *  - A shadow record embeds liburcu's cds_lfht_node and rcu_head and ends in
 *    the caller's data (a flexible array member); the node is mapped back to
 *    its record with caa_container_of, a macro. Swift sees the record only
 *    through the accessors below.
 *  - rculfhash calls its match function and call_rcu its reclaim callback
 *    through C function pointers on liburcu's own threads.
 *  - The memb read side is a static inline over liburcu's TLS reader
 *    (_LGPL_SOURCE); whether the calling thread is registered is a bit of
 *    that TLS block, and the per-thread shadow state needs initial-exec TLS.
 */
#ifndef LPS_SHADOW_SHIM_H
#define LPS_SHADOW_SHIM_H

#include "../../CLiburcu/CLiburcu.h" /* first: _LGPL_SOURCE; the hash table */
#include "lps_shim.h"

/* One shadow variable: <obj, id> and `size` bytes of zeroed data. */
typedef struct lps_sv {
    struct cds_lfht_node node;  /* in the table; published by cds_lfht_add */
    struct rcu_head rcu;        /* reclaimed by call_rcu after lps_sv_del */
    void *obj;
    unsigned long id;
    struct lps_sv *reap;         /* lp_shadow_free_all's chain of unlinked records (writer lock) */
    _Alignas(16) unsigned char data[]; /* what the API hands out: aligned as malloc's */
} lps_sv_t;

/* Per-thread shadow state. */
typedef struct lps_sv_tls {
    uint32_t registered;  /* 1: this thread holds one lps_rcu_reader_online() for the shadow API, until it exits */
    uint32_t readers;     /* nesting of lp_shadow_read_lock() */
    uint32_t writing;     /* 1 while this thread holds the writer lock (ctor and dtor run under it) */
} lps_sv_tls_t;

lps_sv_tls_t *lps_sv_tls(void);

/* Read side. lps_sv_rcu_enter() registers the thread with urcu_memb on its
 * first use (0, or -ENOMEM when the thread-exit key could not be armed) and
 * then takes the memb read lock; lps_sv_rcu_exit() releases it. */
int lps_sv_rcu_enter(void);
void lps_sv_rcu_exit(void);

/* The table, created once under the writer lock; NULL until then. */
struct cds_lfht *lps_sv_table(void);
struct cds_lfht *lps_sv_table_create(void); /* writer lock held; NULL on ENOMEM */

/* Under the memb read lock: the record of <obj, id>, or NULL. */
lps_sv_t *lps_sv_lookup(struct cds_lfht *ht, unsigned long hash, void *obj, unsigned long id);
/* Under the memb read lock: the first record, then the next one (NULL at the end). */
lps_sv_t *lps_sv_first(struct cds_lfht *ht, struct cds_lfht_iter *iter);
lps_sv_t *lps_sv_next(struct cds_lfht *ht, struct cds_lfht_iter *iter);
/* Under the writer lock and the memb read lock. */
void lps_sv_add(struct cds_lfht *ht, unsigned long hash, lps_sv_t *sv);
void lps_sv_del(struct cds_lfht *ht, lps_sv_t *sv);

/* A zeroed record for <obj, id> with size bytes of data; NULL on overflow or ENOMEM. */
lps_sv_t *lps_sv_new(void *obj, unsigned long id, size_t size);
/* A record that was never published: freed at once. */
void lps_sv_drop(lps_sv_t *sv);
/* An unlinked record: freed after a grace period (urcu_memb_call_rcu). */
void lps_sv_retire(lps_sv_t *sv);

static inline void *lps_sv_data(lps_sv_t *sv) { return sv->data; }
static inline void *lps_sv_obj(const lps_sv_t *sv) { return sv->obj; }
static inline unsigned long lps_sv_id(const lps_sv_t *sv) { return sv->id; }
static inline lps_sv_t *lps_sv_reap(const lps_sv_t *sv) { return sv->reap; }
static inline void lps_sv_set_reap(lps_sv_t *sv, lps_sv_t *next) { sv->reap = next; }

/* The writer lock (the kernel's klp_shadow_lock). Held across fork. */
void lps_sv_lock(void);
void lps_sv_unlock(void);

#endif /* LPS_SHADOW_SHIM_H */
