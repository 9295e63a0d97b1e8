/*
 * set_only_blocks.c — only the patched set (and the extended set) blocks.
 *
 * A thread lives inside a hooked function `loop` that is in no patch, and
 * every 100 us enters and leaves the set function `g`. A patch of {g} must
 * complete under every model whose area is the patched set or the kernel
 * (outside kernel sections the set calls count like PATCHED_SET), and each
 * call of g after the transition completed runs the new implementation.
 * Then the thread stays inside g: the transition must stall, the snapshot
 * must name g as the set function the thread is inside, and a reverse
 * must clean up once it leaves.
 *
 * Timeouts are "did not hang" bounds; no check depends on timing.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)

static int g_old(void) { return 1; }
static int g_new(void) { return 2; }

static lp_func_t *loop_f, *g_f;
static atomic_int stop, stay_in_g, in_g, last_g;

static int call_g(void)
{
    int (*impl)(void) = (int (*)(void))lp_func_enter(g_f);
    int v = impl();
    while (atomic_load(&stay_in_g)) {
        atomic_store(&in_g, 1);
        usleep(100);
    }
    lp_func_exit(g_f);
    return v;
}

static void *liver(void *arg)
{
    (void)arg;
    lp_thread_register("liver");
    lp_func_enter(loop_f); /* and lives there */
    while (!atomic_load(&stop)) {
        atomic_store(&last_g, call_g());
        usleep(100);
    }
    lp_func_exit(loop_f);
    lp_thread_unregister();
    return NULL;
}

static void run_model(const char *name, lp_model_t model)
{
    char what[160];
    atomic_store(&stop, 0);
    atomic_store(&stay_in_g, 0);
    pthread_t th;
    pthread_create(&th, NULL, liver, NULL);
    while (atomic_load(&last_g) == 0) usleep(100);

    lp_patch_t *p = lp_patch_create(name, model, 0);
    lp_patch_add_func(p, g_f, (const void *)g_new);
    snprintf(what, sizeof what, "%s: enable {g} while a thread lives in non-set loop", name);
    int rc = lp_patch_enable(p);
    check_rc(what, rc < 0 ? rc : 0, 0);
    snprintf(what, sizeof what, "%s: the transition completes", name);
    check_rc(what, lp_transition_wait(HANG_BOUND), 0);
    atomic_store(&last_g, 0);
    while (atomic_load(&last_g) == 0) usleep(100);
    snprintf(what, sizeof what, "%s: g runs the new implementation after it", name);
    check(atomic_load(&last_g) == 2, what);

    /* Now the thread stays inside g: disabling must stall and say where. */
    atomic_store(&in_g, 0);
    atomic_store(&stay_in_g, 1);
    while (!atomic_load(&in_g)) usleep(100);
    rc = lp_patch_disable(p);
    snprintf(what, sizeof what, "%s: disable while the thread is inside g", name);
    check_rc(what, rc < 0 ? rc : 0, 0);
    snprintf(what, sizeof what, "%s: it stalls", name);
    check_rc(what, lp_transition_wait(20 * MS), -ETIMEDOUT);

    snprintf(what, sizeof what, "%s: the snapshot names g as the set function it is inside", name);
    check(snapshot_blocked_inside("liver", g_f), what);
    char json[4096];
    lp_status_json(json, sizeof json);
    snprintf(what, sizeof what, "%s: the JSON names g", name);
    check(strstr(json, "\"inside\": [\"g\"]") != NULL, what);

    check_rc("reverse", lp_transition_reverse(), 0);
    atomic_store(&stay_in_g, 0);
    snprintf(what, sizeof what, "%s: the reversed transition completes once it leaves g", name);
    check_rc(what, lp_transition_wait(HANG_BOUND), 0);
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    /* The reverse left the patch enabled. */
    snprintf(what, sizeof what, "%s: disable once the thread is gone", name);
    rc = lp_patch_disable(p);
    check_rc(what, rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    snprintf(what, sizeof what, "%s: destroy", name);
    check_rc(what, lp_patch_destroy(p), 0);
    atomic_store(&last_g, 0);
}

int main(void)
{
    lp_thread_register("main");
    loop_f = lp_func_register("loop", (const void *)g_old);
    g_f = lp_func_register("g", (const void *)g_old);
    run_model("UPSTREAM", LP_MODEL_UPSTREAM);
    run_model("KPATCH", LP_MODEL_KPATCH);
    run_model("HIRAMATSU", LP_MODEL_HIRAMATSU);
    run_model("KGRAFT", LP_MODEL_KGRAFT);
    run_model("PATCHED_SET x THREAD", LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD));
    run_model("PATCHED_SET x FUNCTION", LP_MODEL_CELL(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION));
    return check_summary();
}
