/*
 * Atomics on memory Swift did not allocate, and the fences by role.
 * Relaxed unless the name says otherwise; every caller names the partner of
 * each ordered access. Every cross-thread field goes through these, so
 * ThreadSanitizer sees every access.
 */
#ifndef LPS_ATOMICS_H
#define LPS_ATOMICS_H

#include <stdbool.h>
#include <stdint.h>

#define LPS_CACHELINE 64

/* Under ThreadSanitizer the local CAS below uses a real atomic, which TSan
 * understands; its inline asm it would not. */
#if defined(__SANITIZE_THREAD__)
#define LPS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LPS_TSAN 1
#endif
#endif

/* ---- atomics: relaxed unless named; every partner is named at the call site - */

static inline uint32_t lps_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint64_t lps_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint64_t lps_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t lps_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline const void *lps_load_ptr(const void *const *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void lps_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void lps_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void lps_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void lps_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void lps_store_release_ptr(const void **p, const void *v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t lps_fetch_add_u64(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint32_t lps_fetch_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
/* Orders a reader's earlier loads before its later ones (seqlock re-check). */
static inline void lps_acquire_fence(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

/*
 * Compare-and-swap on a word only its owning thread writes, atomic with
 * respect to signal handlers on that thread but not to other CPUs: x86's
 * cmpxchg without the lock prefix is one instruction, so a signal lands
 * before or after it, and it costs no bus lock. Other readers (the patcher)
 * see a plain store.
 */
static inline bool lps_local_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired)
{
#if defined(__x86_64__) && !defined(LPS_TSAN)
    uint64_t prev;
    __asm__ __volatile__("cmpxchgq %2, %1"
                         : "=a"(prev), "+m"(*p)
                         : "r"(desired), "0"(expected)
                         : "memory", "cc");
    return prev == expected;
#else
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
#endif
}

/*
 * Increment of a word only its owning thread writes, atomic with respect to
 * that thread's signal handlers as lps_local_cas_u64 is: one instruction
 * without the lock prefix. Other readers see a plain store.
 */
static inline void lps_local_inc_u64(uint64_t *p)
{
#if defined(__x86_64__) && !defined(LPS_TSAN)
    __asm__ __volatile__("incq %0" : "+m"(*p) : : "cc");
#else
    __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
#endif
}

#endif /* LPS_ATOMICS_H */
