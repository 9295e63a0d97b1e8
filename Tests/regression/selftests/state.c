/*
 * state.c — ports the kernel's tools/testing/selftests/livepatch/
 * test-state.sh (Documentation/livepatch/system-state.rst): cumulative
 * patches that change a system state (the console log level) through their
 * callbacks, take the change over from the patch they replace, and refuse to
 * be enabled over a newer version of it. The last test is not in the
 * kernel's script: a cumulative patch that would drop a state is refused,
 * a patch stacked on top without it is not. Compared with state.log by
 * scripts/check-selftests.
 */
#include "selftest.h"

#define CONSOLE_LOGLEVEL_STATE 1
#define CONSOLE_LOGLEVEL_DEFAULT 7
#define CONSOLE_LOGLEVEL_FIX 5

static int console_loglevel = CONSOLE_LOGLEVEL_DEFAULT;

/* One test module: its patch, and the state data it publishes (version 0:
 * a module that touches no state and has no callbacks). */
struct module {
    const char *name;
    unsigned version;
    unsigned flags;
    lp_patch_t *patch;
    int *saved_loglevel; /* the system state: allocated once, then taken over */
    int took_over;
};

static struct module state1 = {"test_klp_state", 1, LP_PATCH_REPLACE, NULL, NULL, 0};
static struct module state2 = {"test_klp_state2", 2, LP_PATCH_REPLACE, NULL, NULL, 0};
static struct module state3 = {"test_klp_state3", 2, LP_PATCH_REPLACE, NULL, NULL, 0};
static struct module nostate = {"test_klp_nostate", 0, LP_PATCH_REPLACE, NULL, NULL, 0};
static struct module stacked = {"test_klp_stacked", 0, 0, NULL, NULL, 0};

static const char *cmdline_proc_show(void) { return "BOOT_IMAGE=/vmlinuz root=/dev/sda1"; }
static const char *patched_show(void) { return "this has been live patched"; }
static lp_func_t *cmdline;

static int pre_patch(lp_patch_t *p, void *ctx)
{
    (void)p;
    struct module *m = ctx;
    void *data;
    printf("%s: pre_patch_callback\n", m->name);
    if (lp_state_get(CONSOLE_LOGLEVEL_STATE, NULL, &data) == 0) {
        printf("%s: allocate_loglevel_state: space to store console_loglevel already allocated\n", m->name);
        m->saved_loglevel = ((struct module *)data)->saved_loglevel;
        m->took_over = 1;
    } else {
        printf("%s: allocate_loglevel_state: allocating space to store console_loglevel\n", m->name);
        m->saved_loglevel = malloc(sizeof *m->saved_loglevel);
        EXPECT(m->saved_loglevel != NULL);
        m->took_over = 0;
    }
    return 0;
}

static void post_patch(lp_patch_t *p, void *ctx)
{
    (void)p;
    struct module *m = ctx;
    unsigned version;
    void *data;
    printf("%s: post_patch_callback\n", m->name);
    /* The patch is enabled now: its own state is the one in force. */
    EXPECT(lp_state_get(CONSOLE_LOGLEVEL_STATE, &version, &data) == 0 && data == m && version == m->version);
    if (m->took_over) {
        printf("%s: fix_console_loglevel: taking over the console_loglevel change\n", m->name);
    } else {
        printf("%s: fix_console_loglevel: fixing console_loglevel\n", m->name);
        *m->saved_loglevel = console_loglevel;
        console_loglevel = CONSOLE_LOGLEVEL_FIX;
    }
}

static void pre_unpatch(lp_patch_t *p, void *ctx)
{
    (void)p;
    struct module *m = ctx;
    printf("%s: pre_unpatch_callback\n", m->name);
    printf("%s: restore_console_loglevel: restoring console_loglevel\n", m->name);
    console_loglevel = *m->saved_loglevel;
}

static void post_unpatch(lp_patch_t *p, void *ctx)
{
    (void)p;
    struct module *m = ctx;
    printf("%s: post_unpatch_callback\n", m->name);
    printf("%s: free_loglevel_state: freeing space for the stored console_loglevel\n", m->name);
    free(m->saved_loglevel);
    m->saved_loglevel = NULL;
}

/* modprobe: create the patch; enable it unless it is refused. */
static int load(struct module *m)
{
    static const lp_callbacks_t cb = {pre_patch, post_patch, pre_unpatch, post_unpatch};
    m->patch = new_patch(m->name, m->flags, cmdline, patched_show);
    if (m->version) {
        EXPECT(lp_patch_add_state(m->patch, CONSOLE_LOGLEVEL_STATE, m->version, m) == 0);
        EXPECT(lp_patch_set_callbacks(m->patch, &cb, m) == 0);
    }
    printf("%% enable %s\n", m->name);
    int rc = lp_patch_enable(m->patch);
    if (rc == 0)
        EXPECT(lp_transition_wait(0) == 0);
    else
        printf("%% enable %s: %s\n", m->name, errname(rc));
    return rc;
}

/* rmmod: the patch must be disabled (by a disable, or replaced). */
static void unload(struct module *m)
{
    printf("%% destroy %s\n", m->name);
    EXPECT(lp_patch_destroy(m->patch) == 0);
    m->patch = NULL;
}

static void expect_loglevel(int want)
{
    printf("%% console_loglevel: %d\n", console_loglevel);
    EXPECT(console_loglevel == want);
}

int main(void)
{
    selftest_begin();
    cmdline = lp_func_register("cmdline_proc_show", cmdline_proc_show);
    EXPECT(cmdline != NULL);

    printf("%% TEST: system state modification\n");
    EXPECT(load(&state1) == 0);
    expect_loglevel(CONSOLE_LOGLEVEL_FIX);
    disable(state1.patch, state1.name);
    expect_loglevel(CONSOLE_LOGLEVEL_DEFAULT);
    EXPECT(lp_state_get(CONSOLE_LOGLEVEL_STATE, NULL, NULL) == -ENOENT);
    unload(&state1);

    printf("%% TEST: taking over system state modification\n");
    EXPECT(load(&state1) == 0);
    EXPECT(load(&state2) == 0);
    expect_loglevel(CONSOLE_LOGLEVEL_FIX);
    unload(&state1);
    disable(state2.patch, state2.name);
    expect_loglevel(CONSOLE_LOGLEVEL_DEFAULT);
    unload(&state2);

    printf("%% TEST: compatible cumulative livepatches\n");
    EXPECT(load(&state2) == 0);
    EXPECT(load(&state3) == 0);
    unload(&state2);
    EXPECT(load(&state2) == 0);
    disable(state2.patch, state2.name);
    expect_loglevel(CONSOLE_LOGLEVEL_DEFAULT);
    unload(&state2);
    unload(&state3);

    printf("%% TEST: incompatible cumulative livepatches\n");
    EXPECT(load(&state2) == 0);
    EXPECT(load(&state1) == -EINVAL);
    unload(&state1);
    disable(state2.patch, state2.name);
    unload(&state2);

    printf("%% TEST: cumulative livepatch dropping a system state\n");
    EXPECT(load(&state2) == 0);
    EXPECT(load(&nostate) == -EINVAL);
    unload(&nostate);
    EXPECT(load(&stacked) == 0);
    unsigned version;
    EXPECT(lp_state_get(CONSOLE_LOGLEVEL_STATE, &version, NULL) == 0 && version == 2);
    disable(stacked.patch, stacked.name);
    unload(&stacked);
    disable(state2.patch, state2.name);
    expect_loglevel(CONSOLE_LOGLEVEL_DEFAULT);
    unload(&state2);
    return 0;
}
