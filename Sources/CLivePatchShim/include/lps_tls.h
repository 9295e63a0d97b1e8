#ifndef LPS_TLS_H
#define LPS_TLS_H

#include "lps_records.h"

/* ---- the TLS block ----------------------------------------------------------- */

typedef struct lps_tls {
    lps_thread_rec_t *rec;  /* NULL until the thread registers */
    uint32_t registering;  /* 1 while the thread registers, and from its exit on (a nested signal hook must not register it) */
    uint32_t urcu_online;  /* nesting of lps_rcu_reader_online(): registered with liburcu while > 0 */
    uint32_t in_registry;  /* registry lock sections the thread is in, each from just before the lock to just after
                              the unlock (a signal handler's own nests in the one it interrupted) */
    uint32_t uncounted;    /* entries run uncounted (no record) whose exits have not come: those exits are not unbalanced */
} lps_tls_t;

extern __thread lps_tls_t lps_tls __attribute__((tls_model("initial-exec")));
static inline lps_thread_rec_t *lps_tls_rec(void) { return lps_tls.rec; }

/* Registration against the thread's own signal handlers, whose hooks
 * register a thread that has no record. Claiming fails while the handler
 * interrupted a registration, which must not be re-entered; the thread's
 * exit, which claims for good (no destructor round may be left to retire a
 * new record); or a section under the registry lock, which registering
 * would take again (a self-deadlock). Such a hook runs uncounted
 * (lp_transition_status_t.unregistered_calls). A handler that lands before
 * the claim may register the thread first, so the claimant looks at rec
 * again after it. The signal fences, here and in lps_lock_registry and
 * lps_unlock_registry, pair with a handler's reads of these flags and of
 * rec on the same thread (the claim's test, lps_tls_rec): each store is
 * where the program order puts it when a handler lands. */
static inline bool lps_tls_claim_registration(void)
{
    if (lps_tls.registering || lps_tls.in_registry) return false;
    lps_tls.registering = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return true;
}
static inline void lps_tls_end_registration(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    lps_tls.registering = 0;
}
/* An entry hook ran uncounted on a thread with no record (a signal handler
 * nested in its registration, say): its exit, on a thread still without
 * one, is that entry's, not an unbalanced one. A handler's own entries and
 * exits nest inside the interrupted ones': the add is one instruction, and
 * the take retries if a handler changed the count between its load and its
 * CAS. A handler that jumps out of uncounted entries leaves them counted,
 * and as many later exits with nothing to exit go uncounted. */
static inline void lps_tls_note_uncounted_entry(void)
{
    __atomic_fetch_add(&lps_tls.uncounted, 1, __ATOMIC_RELAXED);
}
static inline bool lps_tls_take_uncounted_exit(void)
{
    uint32_t n = __atomic_load_n(&lps_tls.uncounted, __ATOMIC_RELAXED);
    while (n != 0 && !__atomic_compare_exchange_n(&lps_tls.uncounted, &n, n - 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return n != 0;
}
/* The thread's record from here on (NULL: it goes), for its hooks in its
 * signal handlers too. */
static inline void lps_tls_set_rec(lps_thread_rec_t *rec)
{
    lps_tls.rec = rec;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

#endif /* LPS_TLS_H */
