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
 * before it. Twice LP_MAX_FUNCS slots keep the load factor at most 1/2, so a
 * miss (most instrumented functions) probes about 1.5 slots on average. */
typedef struct lps_addr_slot {
    const void *addr;
    struct lp_func *func;
} lps_addr_slot_t;

#define LPS_ADDR_BITS 17
#define LPS_ADDR_SLOTS (1u << LPS_ADDR_BITS)
_Static_assert(LPS_ADDR_SLOTS == 2 * LP_MAX_FUNCS, "address table: load factor 1/2 at capacity");
extern LPS_INTERNAL lps_addr_slot_t lps_addr_table[LPS_ADDR_SLOTS];

/* Fibonacci hashing of the address less its low 4 bits (functions are
 * 16-byte aligned at -O2 on x86-64). */
static inline uint32_t lps_addr_hash(const void *addr)
{
    return (uint32_t)((((uintptr_t)addr >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - LPS_ADDR_BITS));
}
static inline lps_addr_slot_t *lps_addr_slot(uint32_t i) { return &lps_addr_table[i & (LPS_ADDR_SLOTS - 1)]; }
static inline const void *lps_addr_key(const lps_addr_slot_t *s) { return __atomic_load_n(&s->addr, __ATOMIC_ACQUIRE); }
static inline struct lp_func *lps_addr_func(const lps_addr_slot_t *s) { return __atomic_load_n(&s->func, __ATOMIC_RELAXED); }
static inline void lps_addr_publish(lps_addr_slot_t *s, const void *addr, struct lp_func *f)
{
    __atomic_store_n(&s->func, f, __ATOMIC_RELAXED);
    __atomic_store_n(&s->addr, addr, __ATOMIC_RELEASE);
}

#endif /* LPS_ADDR_TABLE_H */
