/*
 * busy_target.c — ports "busy target module" of the kernel's
 * tools/testing/selftests/livepatch/test-callbacks.sh, with the reversal and
 * forced-transition rules of Documentation/livepatch/callbacks.rst. A thread
 * sleeps inside the patched function (the kernel's busymod_work_func), so
 * the transition stays pending; meanwhile a target function is registered
 * (the kernel's module loaded during the transition) and starts patched.
 * Then:
 *  - the enable is reversed: post_unpatch runs, pre_unpatch never does;
 *  - a second enable is forced: it completes as a normal one, post_patch
 *    runs once;
 *  - a disable is reversed: the patch ends enabled and post_patch runs.
 * Compared with busy_target.log by scripts/check-selftests.
 */
#include "selftest.h"

#include <pthread.h>

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int inside; /* the busy thread is parked inside the function */
    int release;
} park = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void park_inside(void)
{
    pthread_mutex_lock(&park.lock);
    park.inside = 1;
    pthread_cond_broadcast(&park.cond);
    while (!park.release)
        pthread_cond_wait(&park.cond, &park.lock);
    pthread_mutex_unlock(&park.lock);
}

static const char *busymod_work_func(void)
{
    park_inside();
    return "busymod_work_func: original";
}

static const char *livepatch_busymod_work_func(void)
{
    park_inside();
    return "busymod_work_func: patched";
}

static const char *mod_show(void) { return "test_klp_callbacks_mod: original"; }
static const char *demo_mod(void) { return "test_klp_callbacks_mod: patched by test_klp_callbacks_demo"; }

static lp_func_t *busy;
static const char *busy_result;

static void *busy_thread(void *arg)
{
    (void)arg;
    EXPECT(lp_thread_register("busymod_work") == 0);
    busy_result = ((show_fn)lp_func_enter(busy))();
    lp_func_exit(busy);
    return NULL;
}

/* Starts the busy thread and returns once it is parked inside the function. */
static pthread_t start_busy(void)
{
    pthread_t t;
    park.inside = park.release = 0;
    EXPECT(pthread_create(&t, NULL, busy_thread, NULL) == 0);
    pthread_mutex_lock(&park.lock);
    while (!park.inside)
        pthread_cond_wait(&park.cond, &park.lock);
    pthread_mutex_unlock(&park.lock);
    printf("test_klp_callbacks_busy: busymod_work_func enter\n");
    return t;
}

static void finish_busy(pthread_t t, show_fn want)
{
    pthread_mutex_lock(&park.lock);
    park.release = 1;
    pthread_cond_broadcast(&park.cond);
    pthread_mutex_unlock(&park.lock);
    EXPECT(pthread_join(t, NULL) == 0);
    printf("test_klp_callbacks_busy: %s, exit\n", busy_result);
    EXPECT(busy_result == want());
}

static int print_stalled(const lp_thread_info_t *info, void *ctx)
{
    (void)ctx;
    static const char *const reasons[] = {"?", "inside a kernel section", "inside the patched set",
                                          "its activation predates the transition"};
    int r = info->reason >= 1 && info->reason <= 3 ? info->reason : 0;
    printf("stalled: %s (%s)\n", info->name, reasons[r]);
    return 0;
}

/* One completion step must find the transition still pending. */
static void expect_pending(void)
{
    printf("%% try to complete the transition\n");
    EXPECT(lp_transition_try_complete() == 0);
    EXPECT(lp_transition_for_each_stalled(print_stalled, NULL) == 0);
}

static int pre_patch(lp_patch_t *p, void *ctx)
{
    (void)p;
    printf("%s: pre_patch_callback\n", (const char *)ctx);
    return 0;
}

static void post_patch(lp_patch_t *p, void *ctx)
{
    (void)p;
    printf("%s: post_patch_callback\n", (const char *)ctx);
}

static void pre_unpatch(lp_patch_t *p, void *ctx)
{
    (void)p;
    printf("%s: pre_unpatch_callback\n", (const char *)ctx);
}

static void post_unpatch(lp_patch_t *p, void *ctx)
{
    (void)p;
    printf("%s: post_unpatch_callback\n", (const char *)ctx);
}

int main(void)
{
    static const lp_callbacks_t cb = {pre_patch, post_patch, pre_unpatch, post_unpatch};
    const char *name = "test_klp_callbacks_demo";
    selftest_begin();
    busy = lp_func_register("busymod_work_func", busymod_work_func);
    EXPECT(busy != NULL);
    lp_patch_t *p = new_patch(name, 0, busy, livepatch_busymod_work_func);
    EXPECT(lp_patch_set_callbacks(p, &cb, (void *)name) == 0);
    EXPECT(lp_patch_add_func_by_name(p, "test_klp_callbacks_mod_show", demo_mod) == 0);

    printf("%% TEST: busy target function, enable reversed\n");
    pthread_t t = start_busy();
    printf("%% enable %s\n", name);
    EXPECT(lp_patch_enable(p) == 0);
    expect_pending();
    printf("%% register test_klp_callbacks_mod_show\n");
    lp_func_t *mod = lp_func_register("test_klp_callbacks_mod_show", mod_show);
    EXPECT(mod != NULL);
    expect_show(mod, "test_klp_callbacks_mod", demo_mod);
    printf("%% reverse\n");
    EXPECT(lp_transition_reverse() == 0);
    EXPECT(lp_transition_wait(0) == 0);
    expect_show(mod, "test_klp_callbacks_mod", mod_show);
    finish_busy(t, busymod_work_func);

    printf("%% TEST: busy target function, enable forced\n");
    t = start_busy();
    printf("%% enable %s\n", name);
    EXPECT(lp_patch_enable(p) == 0);
    expect_pending();
    printf("%% force\n");
    EXPECT(lp_transition_force() == 0);
    EXPECT(lp_transition_wait(0) == 0); /* nothing left to complete: no second post_patch */
    expect_show(mod, "test_klp_callbacks_mod", demo_mod);
    finish_busy(t, busymod_work_func);

    printf("%% TEST: busy target function, disable reversed\n");
    t = start_busy();
    printf("%% disable %s\n", name);
    EXPECT(lp_patch_disable(p) == 0);
    expect_pending();
    printf("%% reverse\n");
    EXPECT(lp_transition_reverse() == 0);
    EXPECT(lp_transition_wait(0) == 0);
    expect_show(mod, "test_klp_callbacks_mod", demo_mod);
    finish_busy(t, livepatch_busymod_work_func);

    disable(p, name);
    expect_show(mod, "test_klp_callbacks_mod", mod_show);
    EXPECT(lp_patch_destroy(p) == 0);
    return 0;
}
