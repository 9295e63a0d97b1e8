/*
 * The bodies of the ABI's two opaque handles, lp_func_t and lp_patch_t.
 * C programs never see them (CInclude declares the structs incomplete), but
 * Swift must: the engine's @c entry points take these pointers, and Swift
 * can only name a complete type in a public signature. So this module is
 * what the engine re-exports beside the ABI's types, and nothing else of
 * the shim (lps_shim.h) is.
 */
#ifndef LPS_HANDLES_H
#define LPS_HANDLES_H

#include <livepatch/types.h>
#include <stddef.h>
#include <stdint.h>

/* A registered function: one line, read by every hook. Its totals, which
 * any thread writes when it leaves, are in their own table
 * (lps_func_totals, lps_records.h), so that the lines the hooks read are
 * all a program's hot functions need in the cache. */
struct lp_func {
    const void *impl;      /* current implementation outside a transition */
    uint64_t tx_epoch;     /* epoch of the transition this function is in; 0 none */
    const void *tx_old;    /* its implementation in that transition's old universe */
    const void *tx_new;    /* ... and in the new one */
    uint32_t tx_index;     /* index among the transition's functions */
    uint32_t hold;         /* SWITCH_FUNCTION: new entries wait while 1 (futex word) */
    uint32_t fn_universe;  /* SWITCH_FUNCTION: this function's universe */
    uint32_t index;        /* index in lps_func_table */
    const void *orig;      /* the registered implementation */
    const char *name;      /* owned copy */
};

/* A patch handle: the patch itself lives in Swift (Patches/Patch.swift);
 * the handle's address is its slot, and live says whether it names one. */
struct lp_patch {
    uint32_t live;
};

_Static_assert(sizeof(struct lp_func) == 64, "function record is one line");

#endif /* LPS_HANDLES_H */
