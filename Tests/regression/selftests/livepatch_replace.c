/*
 * livepatch_replace.c — ports "atomic replace livepatch" of the kernel's
 * tools/testing/selftests/livepatch/test-livepatch.sh (and the rules of
 * Documentation/livepatch/cumulative-patches.rst): an LP_PATCH_REPLACE patch
 * takes over the whole stack in one transition; a function it does not
 * patch goes back to its original implementation, and the patches it
 * replaced end disabled (they may be destroyed). A replace that is reversed
 * leaves the old stack as it was. Compared with livepatch_replace.log by
 * scripts/check-selftests.
 */
#include "selftest.h"

static const char *cmdline_proc_show(void) { return "BOOT_IMAGE=/vmlinuz root=/dev/sda1"; }
static const char *meminfo_proc_show(void) { return "MemTotal: 16384 kB"; }
static const char *lp_cmdline(void) { return "this has been live patched"; }
static const char *lp_meminfo(void) { return "MemTotal: 16384 kB (live patched)"; }
static const char *replace_cmdline(void) { return "this has been live patched (cumulative)"; }
static const char *replace_meminfo(void) { return "MemTotal: 16384 kB (cumulative)"; }

static lp_func_t *cmdline, *meminfo;

static void expect_both(show_fn want_cmdline, show_fn want_meminfo)
{
    expect_show(cmdline, "cmdline", want_cmdline);
    expect_show(meminfo, "meminfo", want_meminfo);
}

static void expect_replaced(lp_patch_t *p, const char *name)
{
    int rc = lp_patch_disable(p);
    printf("%% disable %s: %s (replaced, so disabled)\n", name, errname(rc));
    EXPECT(rc == -EINVAL);
    printf("%% destroy %s\n", name);
    EXPECT(lp_patch_destroy(p) == 0);
}

int main(void)
{
    selftest_begin();
    cmdline = lp_func_register("cmdline_proc_show", cmdline_proc_show);
    meminfo = lp_func_register("meminfo_proc_show", meminfo_proc_show);
    EXPECT(cmdline && meminfo);

    printf("%% TEST: atomic replace livepatch\n");
    lp_patch_t *p1 = new_patch("test_klp_livepatch", 0, cmdline, lp_cmdline);
    lp_patch_t *rp = new_patch("test_klp_atomic_replace", LP_PATCH_REPLACE, meminfo, replace_meminfo);
    enable(p1, "test_klp_livepatch");
    expect_both(lp_cmdline, meminfo_proc_show);
    enable(rp, "test_klp_atomic_replace");
    expect_both(cmdline_proc_show, replace_meminfo);
    expect_replaced(p1, "test_klp_livepatch");
    disable(rp, "test_klp_atomic_replace");
    expect_both(cmdline_proc_show, meminfo_proc_show);
    EXPECT(lp_patch_destroy(rp) == 0);

    printf("%% TEST: reversed atomic replace keeps the stack\n");
    p1 = new_patch("test_klp_livepatch", 0, cmdline, lp_cmdline);
    lp_patch_t *p2 = new_patch("test_klp_livepatch2", 0, meminfo, lp_meminfo);
    rp = new_patch("test_klp_atomic_replace", LP_PATCH_REPLACE, cmdline, replace_cmdline);
    enable(p1, "test_klp_livepatch");
    enable(p2, "test_klp_livepatch2");
    expect_both(lp_cmdline, lp_meminfo);
    printf("%% enable test_klp_atomic_replace, then reverse at once\n");
    EXPECT(lp_patch_enable(rp) == 0);
    EXPECT(lp_transition_reverse() == 0);
    EXPECT(lp_transition_wait(0) == 0);
    expect_both(lp_cmdline, lp_meminfo);
    enable(rp, "test_klp_atomic_replace");
    expect_both(replace_cmdline, meminfo_proc_show);
    expect_replaced(p2, "test_klp_livepatch2");
    expect_replaced(p1, "test_klp_livepatch");
    disable(rp, "test_klp_atomic_replace");
    expect_both(cmdline_proc_show, meminfo_proc_show);
    EXPECT(lp_patch_destroy(rp) == 0);
    return 0;
}
