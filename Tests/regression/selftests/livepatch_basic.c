/*
 * livepatch_basic.c — ports "basic function patching" of the kernel's
 * tools/testing/selftests/livepatch/test-livepatch.sh: a patch replaces one
 * function, the caller sees the new implementation once the transition
 * completes and the original one again after the patch is disabled.
 * Compared with livepatch_basic.log by scripts/check-selftests.
 */
#include "selftest.h"

static const char *cmdline_proc_show(void) { return "BOOT_IMAGE=/vmlinuz root=/dev/sda1"; }
static const char *livepatch_cmdline_proc_show(void) { return "this has been live patched"; }

int main(void)
{
    selftest_begin();
    lp_func_t *f = lp_func_register("cmdline_proc_show", cmdline_proc_show);
    EXPECT(f != NULL);
    lp_patch_t *p = new_patch("test_klp_livepatch", 0, f, livepatch_cmdline_proc_show);

    printf("%% TEST: basic function patching\n");
    enable(p, "test_klp_livepatch");
    expect_show(f, "cmdline", livepatch_cmdline_proc_show);
    disable(p, "test_klp_livepatch");
    expect_show(f, "cmdline", cmdline_proc_show);
    printf("%% destroy test_klp_livepatch\n");
    EXPECT(lp_patch_destroy(p) == 0);
    return 0;
}
