// harness-cflags: -finstrument-functions
/*
 * register_object.c — lp_func_register_object: a loaded object's functions
 * registered from its ELF symbol table.
 *
 * This file is compiled with -finstrument-functions into a position-
 * independent executable, so the addresses read from the symbol table only
 * match the hooks' once the load bias is added. Checks: a name filter
 * registers exactly the functions it matches, static ones included, and
 * their calls are counted by the cyg hooks; a second call registers nothing
 * new; symbols named as GCC names its clones (made here with asm labels, so
 * that they exist whatever the optimizer does) are not registered, an
 * lto_priv symbol is registered under its parent's name at its own address,
 * a second one of that name under its symbol name;
 * a shared library is found by file name and its functions land at their
 * loaded addresses; the errors; and lp_patch_add_func takes an
 * auto-registered function at its own address (a transition over it
 * completes) but refuses any other address.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <errno.h>
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)
#define NOINLINE __attribute__((noinline))
#define FN(fn) ((const void *)(uintptr_t)(fn))
#define UNHOOKED __attribute__((no_instrument_function))

static volatile int sink;

NOINLINE static void glob_static_a(void) { sink++; }
NOINLINE static void glob_static_b(void) { sink++; }
NOINLINE void glob_global(void) { glob_static_a(); }

/* Named as GCC names clones and LTO's renamed statics. */
NOINLINE static void clone_parent(void) { sink++; }
NOINLINE UNHOOKED static void clone_part(void) __asm__("clone_parent.part.0");
NOINLINE UNHOOKED static void clone_part(void) { sink += 2; }
NOINLINE UNHOOKED static void clone_chain(void) __asm__("clone_parent.constprop.0.isra.0");
NOINLINE UNHOOKED static void clone_chain(void) { sink += 3; }
NOINLINE UNHOOKED static void clone_cold(void) __asm__("clone_parent.cold");
NOINLINE UNHOOKED static void clone_cold(void) { sink += 4; }
NOINLINE static void lto_static(void) __asm__("lto_static.lto_priv.0");
NOINLINE static void lto_static(void) { sink += 5; }
/* LTO's second static function of that name. */
NOINLINE static void lto_static_too(void) __asm__("lto_static.lto_priv.1");
NOINLINE static void lto_static_too(void) { sink += 6; }

static uint64_t entries_of(const char *name)
{
    uint64_t entries = 0, exits = 0;
    lp_func_t *f = lp_func_lookup(name);
    return f && lp_func_counts(f, &entries, &exits) == 0 && entries == exits ? entries : UINT64_MAX;
}

UNHOOKED int main(void)
{
    check_rc("a glob registers exactly the three functions it matches, static ones included",
             lp_func_register_object(NULL, "glob_*", 0), 3);
    glob_global();
    glob_static_b();
    check(entries_of("glob_static_a") == 1 && entries_of("glob_static_b") == 1 && entries_of("glob_global") == 1,
          "the cyg hooks count each registered function's calls at its loaded (PIE) address");
    check_rc("the same glob again registers nothing new", lp_func_register_object(NULL, "glob_*", 0), 0);

    int all = lp_func_register_object(NULL, NULL, 0);
    check(all > 5, "the whole executable registers (the library's functions included)");
    lp_func_t *parent = lp_func_lookup("clone_parent");
    check(parent != NULL, "a clone's parent is registered under its name");
    EXPECT_NULL("a .part.N symbol is not registered", lp_func_lookup("clone_parent.part.0"), ENOENT);
    EXPECT_NULL("a chained .constprop.N.isra.N symbol is not registered",
                lp_func_lookup("clone_parent.constprop.0.isra.0"), ENOENT);
    EXPECT_NULL("a .cold symbol is not registered", lp_func_lookup("clone_parent.cold"), ENOENT);
    clone_parent();
    clone_part();
    clone_chain();
    clone_cold();
    check(entries_of("clone_parent") == 1, "a clone's address is no key: only the parent's calls count as it");
    lto_static();
    check(entries_of("lto_static") == 1, "an lto_priv symbol is registered under its parent's name, at its own address");
    lto_static_too();
    check(entries_of("lto_static.lto_priv.1") == 1 && entries_of("lto_static") == 1,
          "a second static function of that name is registered under its symbol name");

    check_rc("a shared library by file name, filtered to one function",
             lp_func_register_object("libelf.so.1", "elf_version", 0), 1);
    lp_func_t *ev = lp_func_lookup("elf_version");
    lp_patch_t *probe = lp_patch_create("probe", LP_MODEL_KPATCH, 0);
    check_rc("... at its loaded address (the address C resolves &elf_version to)",
             ev ? lp_patch_add_func(probe, ev, FN(elf_version)) : -ENOENT, 0);
    lp_patch_destroy(probe);

    check_rc("flags other than 0: -EINVAL", lp_func_register_object(NULL, NULL, 1), -EINVAL);
    check_rc("an object not loaded: -ENOENT", lp_func_register_object("libnot-loaded.so.7", NULL, 0), -ENOENT);

    lp_patch_t *p = lp_patch_create("own-address", LP_MODEL_KPATCH, 0);
    check_rc("lp_patch_add_func refuses another address for an auto-registered function",
             lp_patch_add_func(p, parent, FN(glob_global)), -EINVAL);
    check_rc("... and takes its own address: it joins the patched set",
             lp_patch_add_func(p, parent, FN(clone_parent)), 0);
    check_rc("the transition over it starts", lp_patch_enable(p), 0);
    clone_parent();
    check_rc("... completes", lp_transition_wait(HANG_BOUND), 0);
    check(entries_of("clone_parent") == 2, "its calls are still counted, unredirected");
    check_rc("the reverse transition starts", lp_patch_disable(p), 0);
    check_rc("... completes", lp_transition_wait(HANG_BOUND), 0);
    check_rc("the patch is destroyed", lp_patch_destroy(p), 0);
    return check_summary();
}
