/*
 * livepatch/debug.h: calls for test harnesses only, opt-in: <livepatch.h>
 * does not include it. A checker includes it to prove it catches a broken
 * protocol.
 */
#ifndef LIVEPATCH_DEBUG_H
#define LIVEPATCH_DEBUG_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- testing ------------------------------------------------------------------ */

/* Break the protocol on purpose (LP_BUG_*), so that a checker can prove it
 * catches the break; LP_BUG_NONE restores it. For test harnesses only.
 * -EINVAL unknown kind. */
int lp_debug_inject_bug(int kind);

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_DEBUG_H */
