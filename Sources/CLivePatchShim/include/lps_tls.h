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

#endif /* LPS_TLS_H */
