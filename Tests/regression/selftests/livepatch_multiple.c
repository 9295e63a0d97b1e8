/*
 * livepatch_multiple.c — ports "multiple livepatches" of the kernel's
 * tools/testing/selftests/livepatch/test-livepatch.sh: two patches stack on
 * the same function, the newest wins, and disabling it exposes the one
 * below. Patches are disabled in reverse order: the one below answers
 * -EBUSY while the newer one is enabled. Compared with
 * livepatch_multiple.log by scripts/check-selftests.
 */
#include "selftest.h"

static const char *cmdline_proc_show(void) { return "BOOT_IMAGE=/vmlinuz root=/dev/sda1"; }
static const char *patch1_show(void) { return "this has been live patched"; }
static const char *patch2_show(void) { return "this has been live patched again"; }

static lp_func_t *f;

int main(void)
{
    selftest_begin();
    f = lp_func_register("cmdline_proc_show", cmdline_proc_show);
    EXPECT(f != NULL);
    lp_patch_t *p1 = new_patch("test_klp_livepatch", 0, f, patch1_show);
    lp_patch_t *p2 = new_patch("test_klp_livepatch2", 0, f, patch2_show);

    printf("%% TEST: multiple livepatches\n");
    enable(p1, "test_klp_livepatch");
    expect_show(f, "cmdline", patch1_show);
    enable(p2, "test_klp_livepatch2");
    expect_show(f, "cmdline", patch2_show);
    int rc = lp_patch_disable(p1);
    printf("%% disable test_klp_livepatch: %s (a newer patch is enabled)\n", errname(rc));
    EXPECT(rc == -EBUSY);
    expect_show(f, "cmdline", patch2_show);
    disable(p2, "test_klp_livepatch2");
    expect_show(f, "cmdline", patch1_show);
    disable(p1, "test_klp_livepatch");
    expect_show(f, "cmdline", cmdline_proc_show);
    EXPECT(lp_patch_destroy(p2) == 0 && lp_patch_destroy(p1) == 0);
    return 0;
}
