#ifndef LPS_TLS_H
#define LPS_TLS_H

#include "lps_records.h"

/* ---- the TLS block ----------------------------------------------------------- */

typedef struct lps_tls {
    lps_thread_rec_t *rec;  /* NULL until the thread registers */
    uint32_t registering;  /* 1 while registration runs (a nested signal hook must not re-enter it) */
    uint32_t urcu_online;  /* nesting of lps_rcu_reader_online(): registered with liburcu while > 0 */
} lps_tls_t;

extern __thread lps_tls_t lps_tls __attribute__((tls_model("initial-exec")));
static inline lps_tls_t *lps_tls_block(void) { return &lps_tls; }
static inline lps_thread_rec_t *lps_tls_rec(void) { return lps_tls.rec; }

/* Registration against the thread's own signal handlers, whose hooks may
 * register it too. Claiming fails while a registration the handler
 * interrupted is in progress: it must not be re-entered. A handler that
 * lands before the claim may register the thread first, so the claimant
 * looks at rec again after it; the compiler barriers keep the flag around
 * everything between. */
static inline bool lps_tls_claim_registration(void)
{
    if (lps_tls.registering) return false;
    lps_tls.registering = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return true;
}
static inline void lps_tls_end_registration(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    lps_tls.registering = 0;
}

#endif /* LPS_TLS_H */
