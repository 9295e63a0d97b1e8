/*
 * callbacks.c — ports the kernel's tools/testing/selftests/livepatch/
 * test-callbacks.sh (Documentation/livepatch/callbacks.rst), for the cases
 * with a user-space meaning: a target registered before the patch, a
 * target registered after it (lp_patch_add_func_by_name: the kernel's
 * module loaded after the livepatch), a pre_patch callback that fails,
 * multiple patches, and atomic replace (only the new patch's callbacks
 * run). A busy target and forced transitions are in busy_target.c. The
 * kernel's callbacks are per object; here they are per patch, so the
 * "vmlinux"/module names of the kernel's lines become the patch's name.
 * Compared with callbacks.log by scripts/check-selftests.
 */
#include "selftest.h"

#include <string.h>

static const char *cmdline_proc_show(void) { return "BOOT_IMAGE=/vmlinuz root=/dev/sda1"; }
static const char *mod_show(void) { return "test_klp_callbacks_mod: original"; }
static const char *demo_cmdline(void) { return "patched by test_klp_callbacks_demo"; }
static const char *demo_mod(void) { return "test_klp_callbacks_mod: patched by test_klp_callbacks_demo"; }
static const char *demo2_cmdline(void) { return "patched by test_klp_callbacks_demo2"; }

/* Each patch's callbacks get its name as ctx; pre_patch fails with the
 * errno in pre_patch_ret (the selftest's module parameter). */
static int pre_patch_ret;
static int calls; /* callbacks run so far, to prove each ran once */

static int pre_patch(lp_patch_t *p, void *ctx)
{
    (void)p;
    calls++;
    printf("%s: pre_patch_callback\n", (const char *)ctx);
    if (pre_patch_ret)
        printf("%s: pre_patch_callback: returning %d\n", (const char *)ctx, pre_patch_ret);
    return pre_patch_ret;
}

static void post_patch(lp_patch_t *p, void *ctx)
{
    (void)p;
    calls++;
    printf("%s: post_patch_callback\n", (const char *)ctx);
}

static void pre_unpatch(lp_patch_t *p, void *ctx)
{
    (void)p;
    calls++;
    printf("%s: pre_unpatch_callback\n", (const char *)ctx);
}

static void post_unpatch(lp_patch_t *p, void *ctx)
{
    (void)p;
    calls++;
    printf("%s: post_unpatch_callback\n", (const char *)ctx);
}

static const lp_callbacks_t demo_callbacks = {pre_patch, post_patch, pre_unpatch, post_unpatch};

static lp_patch_t *demo(const char *name, unsigned flags, lp_func_t *f, show_fn impl)
{
    lp_patch_t *p = new_patch(name, flags, f, impl);
    EXPECT(lp_patch_set_callbacks(p, &demo_callbacks, (void *)name) == 0);
    return p;
}

/* "% destroy NAME": the rmmod of the kernel's test. */
static void destroy(lp_patch_t *p, const char *name)
{
    printf("%% destroy %s\n", name);
    EXPECT(lp_patch_destroy(p) == 0);
}

int main(void)
{
    selftest_begin();
    lp_func_t *cmdline = lp_func_register("cmdline_proc_show", cmdline_proc_show);
    EXPECT(cmdline != NULL);

    printf("%% TEST: target function registered before the livepatch\n");
    lp_patch_t *p = demo("test_klp_callbacks_demo", 0, cmdline, demo_cmdline);
    calls = 0;
    enable(p, "test_klp_callbacks_demo");
    EXPECT(calls == 2);
    expect_show(cmdline, "cmdline", demo_cmdline);
    disable(p, "test_klp_callbacks_demo");
    EXPECT(calls == 4);
    expect_show(cmdline, "cmdline", cmdline_proc_show);
    destroy(p, "test_klp_callbacks_demo");

    printf("%% TEST: target function registered after the livepatch\n");
    p = demo("test_klp_callbacks_demo", 0, NULL, NULL);
    EXPECT(lp_patch_add_func_by_name(p, "test_klp_callbacks_mod_show", demo_mod) == 0);
    EXPECT(lp_func_lookup("test_klp_callbacks_mod_show") == NULL);
    enable(p, "test_klp_callbacks_demo");
    printf("%% register test_klp_callbacks_mod_show\n");
    lp_func_t *mod = lp_func_register("test_klp_callbacks_mod_show", mod_show);
    EXPECT(mod != NULL);
    expect_show(mod, "test_klp_callbacks_mod", demo_mod);
    disable(p, "test_klp_callbacks_demo");
    expect_show(mod, "test_klp_callbacks_mod", mod_show);
    destroy(p, "test_klp_callbacks_demo");

    printf("%% TEST: pre-patch callback -ENODEV\n");
    p = demo("test_klp_callbacks_demo", 0, cmdline, demo_cmdline);
    pre_patch_ret = -ENODEV;
    calls = 0;
    printf("%% enable test_klp_callbacks_demo\n");
    int rc = lp_patch_enable(p);
    printf("%% enable test_klp_callbacks_demo: %s\n", errname(rc));
    EXPECT(rc == -ECANCELED);
    EXPECT(calls == 1); /* no post_unpatch for a refused pre_patch */
    lp_transition_status_t st;
    EXPECT(lp_transition_status(&st) == 0 && st.state == LP_TRANSITION_IDLE);
    expect_show(cmdline, "cmdline", cmdline_proc_show);
    pre_patch_ret = 0;
    destroy(p, "test_klp_callbacks_demo");

    printf("%% TEST: multiple livepatches\n");
    lp_patch_t *p1 = demo("test_klp_callbacks_demo", 0, cmdline, demo_cmdline);
    lp_patch_t *p2 = demo("test_klp_callbacks_demo2", 0, cmdline, demo2_cmdline);
    enable(p1, "test_klp_callbacks_demo");
    enable(p2, "test_klp_callbacks_demo2");
    expect_show(cmdline, "cmdline", demo2_cmdline);
    disable(p2, "test_klp_callbacks_demo2");
    expect_show(cmdline, "cmdline", demo_cmdline);
    disable(p1, "test_klp_callbacks_demo");
    destroy(p2, "test_klp_callbacks_demo2");
    destroy(p1, "test_klp_callbacks_demo");

    printf("%% TEST: atomic replace\n");
    p1 = demo("test_klp_callbacks_demo", 0, cmdline, demo_cmdline);
    p2 = demo("test_klp_callbacks_demo2", LP_PATCH_REPLACE, cmdline, demo2_cmdline);
    enable(p1, "test_klp_callbacks_demo");
    calls = 0;
    enable(p2, "test_klp_callbacks_demo2");
    EXPECT(calls == 2); /* the replaced patch's callbacks do not run */
    expect_show(cmdline, "cmdline", demo2_cmdline);
    destroy(p1, "test_klp_callbacks_demo");
    disable(p2, "test_klp_callbacks_demo2");
    expect_show(cmdline, "cmdline", cmdline_proc_show);
    destroy(p2, "test_klp_callbacks_demo2");
    return 0;
}
