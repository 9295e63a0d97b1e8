/*
 * snapshot.c — lp_status_snapshot and lp_status_json through a transition.
 *
 * Before (idle), during (a thread asleep inside the patched function holds
 * the transition: its patch_state is "unpatched" and it blocks, the others
 * are "patched"), after, and after disabling; a SWITCH_KERNEL transition
 * (every thread stays unpatched until the switch); the truncation rule;
 * misuse; and the JSON, checked with python3 -m json.tool, with a thread
 * name that needs escaping.
 *
 * Deterministic: threads are stepped with condition variables.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)
#define FN(fn) ((const void *)(uintptr_t)(fn))
#define MAXP 8
#define MAXT 16

static void impl_old(void) {}
static void impl_new(void) {}
static lp_func_t *f, *g;

/* A registered thread that sleeps inside f (cmd 1) or outside (cmd 0). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inside, go, ready;
    int tid;
} sl = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

static const char sleeper_name[] = "snap \"q\" \xc3\xa9"; /* a quote and a UTF-8 byte pair to escape */

static void *sleeper_main(void *arg)
{
    (void)arg;
    lp_thread_register(sleeper_name);
    sl.tid = (int)syscall(SYS_gettid);
    ((void (*)(void))(uintptr_t)lp_func_enter(f))();
    pthread_mutex_lock(&sl.mu);
    sl.inside = 1;
    pthread_cond_broadcast(&sl.cv);
    while (!sl.go) pthread_cond_wait(&sl.cv, &sl.mu);
    pthread_mutex_unlock(&sl.mu);
    lp_func_exit(f);
    return NULL;
}

static pthread_t start_sleeper(void)
{
    pthread_t th;
    sl.inside = sl.go = 0;
    pthread_create(&th, NULL, sleeper_main, NULL);
    pthread_mutex_lock(&sl.mu);
    while (!sl.inside) pthread_cond_wait(&sl.cv, &sl.mu);
    pthread_mutex_unlock(&sl.mu);
    return th;
}

static void stop_sleeper(pthread_t th)
{
    pthread_mutex_lock(&sl.mu);
    sl.go = 1;
    pthread_cond_broadcast(&sl.cv);
    pthread_mutex_unlock(&sl.mu);
    pthread_join(th, NULL);
}

static lp_patch_info_t pinfo[MAXP];
static lp_thread_state_t tstate[MAXT];

static lp_snapshot_t snap(void)
{
    lp_snapshot_t s = {.patches = pinfo, .patches_cap = MAXP, .threads = tstate, .threads_cap = MAXT};
    int rc = lp_status_snapshot(&s);
    check_rc("lp_status_snapshot", rc, 0);
    return s;
}

static const lp_patch_info_t *patch_named(const lp_snapshot_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_patches && i < s->patches_cap; i++)
        if (!strcmp(s->patches[i].name, name)) return &s->patches[i];
    return NULL;
}

static const lp_thread_state_t *thread_tid(const lp_snapshot_t *s, int tid)
{
    for (uint32_t i = 0; i < s->n_threads && i < s->threads_cap; i++)
        if (s->threads[i].tid == tid) return &s->threads[i];
    return NULL;
}

static void check_patch(const lp_snapshot_t *s, const char *name, int enabled, int transition, int stack_index,
                        const char *when)
{
    const lp_patch_info_t *p = patch_named(s, name);
    char what[200];
    snprintf(what, sizeof what, "%s: %s enabled %d transition %d stack_index %d (got %d %d %d)", when, name, enabled,
             transition, stack_index, p ? p->enabled : -9, p ? p->transition : -9, p ? p->stack_index : -9);
    check(p && p->enabled == enabled && p->transition == transition && p->stack_index == stack_index, what);
}

static void check_thread(const lp_snapshot_t *s, int tid, int patch_state, int blocking, const char *who,
                         const char *when)
{
    const lp_thread_state_t *t = thread_tid(s, tid);
    char what[200];
    snprintf(what, sizeof what, "%s: %s patch_state %d blocking %d (got %d %d)", when, who, patch_state, blocking,
             t ? t->patch_state : -9, t ? t->blocking : -9);
    check(t && t->patch_state == patch_state && t->blocking == blocking, what);
}

/* The JSON document, checked by python3 -m json.tool. */
static void check_json(const char *when)
{
    int n = lp_status_json(NULL, 0);
    char what[160];
    snprintf(what, sizeof what, "%s: lp_status_json(NULL, 0) gives the length (%d)", when, n);
    check(n > 0, what);
    char *buf = malloc((size_t)n + 1);
    int m = lp_status_json(buf, (size_t)n + 1);
    snprintf(what, sizeof what, "%s: a buffer of that length holds it all", when);
    check(m == n && (int)strlen(buf) == n, what);
    FILE *py = popen("python3 -m json.tool > /dev/null", "w");
    check(py != NULL, "popen(python3 -m json.tool)");
    if (py) {
        fputs(buf, py);
        int status = pclose(py);
        snprintf(what, sizeof what, "%s: python3 -m json.tool accepts the document", when);
        check(status == 0, what);
    }
    free(buf);
}

int main(void)
{
    check_rc("lp_thread_register", lp_thread_register("snap-main"), 0);
    int me = (int)syscall(SYS_gettid);
    f = lp_func_register("snap_f", FN(impl_old));
    g = lp_func_register("snap_g", FN(impl_old));

    /* Misuse. */
    check_rc("lp_status_snapshot(NULL): -EINVAL", lp_status_snapshot(NULL), -EINVAL);
    lp_snapshot_t bad = {.patches = NULL, .patches_cap = 2};
    check_rc("a NULL patch array with a capacity: -EINVAL", lp_status_snapshot(&bad), -EINVAL);
    bad = (lp_snapshot_t){.threads = NULL, .threads_cap = 2};
    check_rc("a NULL thread array with a capacity: -EINVAL", lp_status_snapshot(&bad), -EINVAL);
    char small[16];
    check_rc("lp_status_json(NULL, 16): -EINVAL", lp_status_json(NULL, sizeof small), -EINVAL);

    lp_patch_t *a = lp_patch_create("snap-a", LP_MODEL_UPSTREAM, 0);
    lp_patch_add_func(a, g, FN(impl_new));
    check_rc("enable snap-a", lp_patch_enable(a), 0);
    check_rc("snap-a's transition completes", lp_transition_wait(HANG_BOUND), 0);
    lp_patch_t *b = lp_patch_create("snap-b", lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD), 0);
    lp_patch_add_func(b, f, FN(impl_new));
    lp_patch_extend_set(b, g);

    /* Before. */
    pthread_t th = start_sleeper();
    lp_snapshot_t s = snap();
    check(s.transition.state == LP_TRANSITION_IDLE, "before: no transition");
    check(s.n_patches == 2 && s.n_threads == 2, "before: 2 patches, 2 threads");
    check(!strcmp(pinfo[0].name, "snap-a"), "the enabled patch comes first");
    check_patch(&s, "snap-a", 1, 0, 0, "before");
    check_patch(&s, "snap-b", 0, 0, -1, "before");
    const lp_patch_info_t *pb = patch_named(&s, "snap-b");
    check(pb && pb->functions == 1 && pb->extended == 1 && pb->replace == 0 &&
              pb->model == lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD),
          "before: snap-b replaces 1 function, counts 1 more, its model");
    check_thread(&s, me, LP_PATCH_STATE_NONE, 0, "main", "before");
    check_thread(&s, sl.tid, LP_PATCH_STATE_NONE, 0, "sleeper", "before");
    const lp_thread_state_t *ts = thread_tid(&s, sl.tid);
    check(ts && !strcmp(ts->name, sleeper_name) && ts->function_depth == 1 && ts->offline == 0,
          "before: the sleeper's name, function depth 1, online");

    /* During: the sleeper's activation predates the transition. */
    check_rc("enable snap-b", lp_patch_enable(b), 0);
    check_rc("snap-b is pending", lp_transition_try_complete(), 0);
    s = snap();
    check(s.transition.state == LP_TRANSITION_PATCHING && !strcmp(s.transition.patch, "snap-b"),
          "during: patching snap-b");
    check_patch(&s, "snap-b", 0, 1, -1, "during");
    check_patch(&s, "snap-a", 1, 0, 0, "during");
    check_thread(&s, sl.tid, LP_PATCH_STATE_UNPATCHED, LP_STALL_NO_SWITCH_POINT, "sleeper", "during");
    check_thread(&s, me, LP_PATCH_STATE_PATCHED, 0, "main", "during");
    check_json("during");

    /* Truncation: totals always, only `cap` entries written. */
    lp_patch_info_t p2[2];
    lp_thread_state_t t2[2];
    memset(p2, 0x5a, sizeof p2);
    memset(t2, 0x5a, sizeof t2);
    lp_snapshot_t cut = {.patches = p2, .patches_cap = 1, .threads = t2, .threads_cap = 1};
    check_rc("a snapshot into arrays of 1 says truncated", lp_status_snapshot(&cut), 1);
    check(cut.n_patches == 2 && cut.n_threads == 2, "truncated: the totals are still 2 and 2");
    check(!strcmp(p2[0].name, "snap-a") && ((unsigned char *)&p2[1])[0] == 0x5a &&
              ((unsigned char *)&t2[1])[0] == 0x5a,
          "truncated: the first entry written, the second untouched");
    lp_snapshot_t counts_only = {0};
    check_rc("a count-only snapshot (NULL arrays, capacity 0) says truncated", lp_status_snapshot(&counts_only), 1);
    check(counts_only.n_patches == 2 && counts_only.n_threads == 2 &&
              counts_only.transition.state == LP_TRANSITION_PATCHING,
          "count-only: totals and the transition");
    int need = lp_status_json(small, sizeof small);
    check(need > (int)sizeof small && strlen(small) == sizeof small - 1,
          "lp_status_json into 16 bytes: 15 bytes and a NUL, returns the whole length");

    /* After. */
    stop_sleeper(th);
    check_rc("snap-b's transition completes once the sleeper left f", lp_transition_wait(HANG_BOUND), 0);
    s = snap();
    check(s.transition.state == LP_TRANSITION_IDLE && s.n_threads == 1, "after: idle, the sleeper has exited");
    check_patch(&s, "snap-b", 1, 0, 1, "after");
    check_thread(&s, me, LP_PATCH_STATE_NONE, 0, "main", "after");

    /* A SWITCH_KERNEL transition: nobody has switched until the instant. */
    lp_patch_t *k = lp_patch_create("snap-k", LP_MODEL_KPATCH, 0);
    lp_patch_add_func(k, f, FN(impl_old));
    th = start_sleeper();
    check_rc("lp_set_switch_policy(1 ms, 1 ms)", lp_set_switch_policy(1 * MS, 1 * MS), 0);
    check_rc("enable snap-k (KPATCH)", lp_patch_enable(k), 0);
    check_rc("snap-k is pending", lp_transition_try_complete(), 0);
    s = snap();
    check_thread(&s, me, LP_PATCH_STATE_UNPATCHED, 0, "main", "KPATCH pending");
    check_thread(&s, sl.tid, LP_PATCH_STATE_UNPATCHED, LP_STALL_NO_SWITCH_POINT, "sleeper", "KPATCH pending");
    check_patch(&s, "snap-k", 0, 1, -1, "KPATCH pending");
    stop_sleeper(th);
    check_rc("snap-k's transition completes", lp_transition_wait(HANG_BOUND), 0);
    s = snap();
    check_patch(&s, "snap-k", 1, 0, 2, "KPATCH done");

    /* After disabling. */
    check_rc("disable snap-k", lp_patch_disable(k), 0);
    check_rc("wait", lp_transition_wait(HANG_BOUND), 0);
    th = start_sleeper();
    check_rc("disable snap-b", lp_patch_disable(b), 0);
    check_rc("snap-b's disable is pending while the sleeper is inside f", lp_transition_try_complete(), 0);
    s = snap();
    check(s.transition.state == LP_TRANSITION_UNPATCHING, "disabling: unpatching");
    check_patch(&s, "snap-b", 1, 1, 1, "disabling");
    check_thread(&s, sl.tid, LP_PATCH_STATE_PATCHED, LP_STALL_NO_SWITCH_POINT, "sleeper", "disabling");
    check_thread(&s, me, LP_PATCH_STATE_UNPATCHED, 0, "main", "disabling");
    check_json("disabling");
    stop_sleeper(th);
    check_rc("the disable completes", lp_transition_wait(HANG_BOUND), 0);
    s = snap();
    check_patch(&s, "snap-b", 0, 0, -1, "after disable");
    check_patch(&s, "snap-a", 1, 0, 0, "after disable");
    check(s.n_patches == 3, "after disable: 3 patches exist");
    check_json("after disable");
    return check_summary();
}
