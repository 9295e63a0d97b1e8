/*
 * A C caller of the hooks, for the LTO flavour (scripts/check-lto): linked
 * with .build-lto/liblivepatch.a by the toolchain's clang -flto, hot_loop
 * must hold the hooks inlined, no call to lp_func_enter or lp_func_exit;
 * scripts/check-lto disassembles it to see. Run, it checks that the inlined
 * hooks still count exactly and pick the patched implementation.
 */
#include <livepatch.h>
#include <stdio.h>

static int old_impl(int x) { return x; }
static int new_impl(int x) { return x + 1; }
typedef int (*impl_fn)(int);

__attribute__((noinline)) long hot_loop(lp_func_t *f, long n)
{
    long sum = 0;
    for (long i = 0; i < n; i++) {
        impl_fn impl = (impl_fn)lp_func_enter(f);
        sum += impl(1);
        lp_func_exit(f);
    }
    return sum;
}

int main(void)
{
    int failed = 0;
    lp_func_t *f = lp_func_register("lto-hot", (const void *)old_impl);
    if (!f) return perror("lp_func_register"), 1;
    long sum = hot_loop(f, 1000);
    uint64_t entries = 0, exits = 0;
    lp_func_counts(f, &entries, &exits);
    if (sum != 1000 || entries != 1000 || exits != 1000) failed++, printf("FAIL unpatched: sum %ld, %llu entries, %llu exits\n", sum, (unsigned long long)entries, (unsigned long long)exits);
    lp_patch_t *p = lp_patch_create("lto-patch", LP_MODEL_KGRAFT, 0);
    if (!p || lp_patch_add_func(p, f, (const void *)new_impl) || lp_patch_enable(p) || lp_transition_wait(5000000000ull))
        return printf("FAIL: patching\n"), 1;
    sum = hot_loop(f, 1000);
    if (sum != 2000) failed++, printf("FAIL patched: sum %ld, want 2000\n", sum);
    printf("%d passed, %d failed\n", 2 - failed, failed);
    return failed != 0;
}
