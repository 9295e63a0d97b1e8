/*
 * cyg_collisions.c — the cyg hooks' address table under its worst layout.
 * A lookup starts at the slot of the address masked (lps_addr_table.h), so
 * functions a multiple of 2 MiB apart share a first slot and the probe goes
 * on to the next ones, and functions closer than 16 bytes do too. Addresses
 * laid out that way (in a reserved, never executed mapping: the hooks only
 * read the address) are registered with lp_func_register_auto and passed
 * to the hooks directly, as instrumented code passes them: each must be
 * counted exactly, in its own function, and an unregistered address on the
 * same probe chain must count nothing.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define STRIDE (2u << 20) /* the table's span: 2^17 slots of 16 bytes of address */
#define CHAIN 12

static void call(const void *addr, int times)
{
    for (int i = 0; i < times; i++) {
        __cyg_profile_func_enter((void *)addr, NULL);
        __cyg_profile_func_exit((void *)addr, NULL);
    }
}

static int counted(lp_func_t *f, uint64_t want)
{
    uint64_t entries = 0, exits = 0;
    return lp_func_counts(f, &entries, &exits) == 0 && entries == want && exits == want;
}

int main(void)
{
    lp_thread_register("main");
    size_t len = (size_t)(CHAIN + 2) * STRIDE;
    char *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    check(base != MAP_FAILED, "reserve the address range");
    if (base == MAP_FAILED) return 1;

    /* CHAIN addresses on one first slot, then one 8 bytes after the first. */
    lp_func_t *f[CHAIN + 1];
    const char *addr[CHAIN + 1];
    char name[32];
    for (int i = 0; i < CHAIN; i++) addr[i] = base + 0x40 + (size_t)i * STRIDE;
    addr[CHAIN] = addr[0] + 8;
    for (int i = 0; i <= CHAIN; i++) {
        snprintf(name, sizeof name, "colliding-%d", i);
        f[i] = lp_func_register_auto(name, addr[i]);
    }
    int all = 1;
    for (int i = 0; i <= CHAIN; i++) all = all && f[i] != NULL;
    check(all, "every colliding address registers");
    if (!all) return 1;

    /* A different number of calls each, so a lookup that lands on another
     * function's slot shows in the counts. */
    for (int i = 0; i <= CHAIN; i++) call(addr[i], i + 1);
    for (int i = 0; i <= CHAIN; i++) {
        char what[96];
        snprintf(what, sizeof what, "address %d of the chain counted in its own function (%d calls)", i, i + 1);
        check(counted(f[i], (uint64_t)i + 1), what);
    }

    /* Unregistered addresses on the chain: the next stride, and 16 bytes
     * after the first. Their calls count nowhere. */
    call(base + 0x40 + (size_t)CHAIN * STRIDE, 5);
    call(addr[0] + 16, 5);
    all = 1;
    for (int i = 0; i <= CHAIN; i++) all = all && counted(f[i], (uint64_t)i + 1);
    check(all, "unregistered addresses on the same probe chain count nothing");

    munmap(base, len);
    check_summary();
    return failed != 0;
}
