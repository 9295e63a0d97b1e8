#ifndef LPS_ADDR_TABLE_H
#define LPS_ADDR_TABLE_H

#include "lps_records.h"

/* ---- the address table: what __cyg_profile_func_enter looks up --------------
 * (ProfileHooks.swift.) Open addressing with linear probing, keyed by the
 * original implementation address of each function registered with
 * lp_func_register_auto(). Written only under the registry lock, and never
 * shrinks (functions are never unregistered); read lock-free by the cyg hooks
 * of any thread, in signal handlers too. A writer stores func, then the key
 * with release (lps_addr_publish); a reader acquire-loads the key
 * (lps_addr_key), so a key equal to its address implies the func stored
 * before it. Twice LP_MAX_FUNCS slots keep the load factor at most 1/2.
 */
typedef struct lps_addr_slot {
    const void *addr;
    struct lp_func *func;
} lps_addr_slot_t;

#define LPS_ADDR_BITS 17
#define LPS_ADDR_SLOTS (1u << LPS_ADDR_BITS)
_Static_assert(LPS_ADDR_SLOTS == 2 * LP_MAX_FUNCS, "address table: load factor 1/2 at capacity");
extern LPS_INTERNAL lps_addr_slot_t lps_addr_table[LPS_ADDR_SLOTS];

/* Where the probe for addr starts: the address less its low 4 bits
 * (functions are 16-byte aligned at -O2 on x86-64), modulo the table.
 * Functions of one object then never share a slot unless they lie closer
 * than 16 bytes or a multiple of 2 MiB apart (linear probing takes the
 * next). lps_addr_hash is the index, for tables of other slots
 * (lps_ftrace_pads.c); lps_addr_first the slot of this one, where the
 * index and its scaling by the 16-byte slot fold into one mask: the lookup
 * of __cyg_profile_func_enter, on every instrumented call, is a mask and a
 * load. */
static inline uint32_t lps_addr_hash(const void *addr) { return (uint32_t)((uintptr_t)addr >> 4); }
_Static_assert(sizeof(lps_addr_slot_t) == 16, "address table: the slot offset is the address masked");
static inline lps_addr_slot_t *lps_addr_first(const void *addr)
{
    return (lps_addr_slot_t *)((char *)lps_addr_table + ((uintptr_t)addr & ((uintptr_t)(LPS_ADDR_SLOTS - 1) << 4)));
}
static inline lps_addr_slot_t *lps_addr_next(lps_addr_slot_t *s)
{
    return s + 1 == lps_addr_table + LPS_ADDR_SLOTS ? lps_addr_table : s + 1;
}
static inline const void *lps_addr_key(const lps_addr_slot_t *s) { return __atomic_load_n(&s->addr, __ATOMIC_ACQUIRE); }
static inline struct lp_func *lps_addr_func(const lps_addr_slot_t *s) { return __atomic_load_n(&s->func, __ATOMIC_RELAXED); }
static inline void lps_addr_publish(lps_addr_slot_t *s, const void *addr, struct lp_func *f)
{
    __atomic_store_n(&s->func, f, __ATOMIC_RELAXED);
    __atomic_store_n(&s->addr, addr, __ATOMIC_RELEASE);
}

#endif /* LPS_ADDR_TABLE_H */
