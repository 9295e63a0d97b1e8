/*
 * Storage the hooks address directly: static, cache-line aligned, never
 * allocated (registration may run in a signal handler), and the TLS block.
 */
#define _GNU_SOURCE
#include "lps_shim.h"


#define LPS_LINE_ALIGNED __attribute__((aligned(LPS_CACHELINE)))
LPS_LINE_ALIGNED lps_global_t lps_global;
LPS_LINE_ALIGNED lps_thread_rec_t lps_thread_table[LP_MAX_THREADS];
LPS_LINE_ALIGNED struct lp_func lps_func_table[LP_MAX_FUNCS];
LPS_LINE_ALIGNED lps_func_totals_t lps_func_totals[LP_MAX_FUNCS];
struct lp_patch lps_patch_table[LP_MAX_PATCHES];
/* 2 MiB of zeroes until functions are registered by address (lp_func_register_auto). */
LPS_LINE_ALIGNED lps_addr_slot_t lps_addr_table[LPS_ADDR_SLOTS];
__thread lps_tls_t lps_tls __attribute__((tls_model("initial-exec")));
