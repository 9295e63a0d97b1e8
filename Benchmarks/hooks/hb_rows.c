/* hookbench section "hooks": its rows, each a loop of hb_loops.c with the
 * fixture it runs under (a urcu registration, a transition kept in flight
 * by the parker thread). */
#include "hb_pairs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include "hb.h"

static lp_patch_t *p_steady, *p_tx[N_PRESETS];

/* The parker: a registered thread that enters a kernel section and a patched
 * function, then blocks on a condition variable inside both, so that a
 * transition it predates cannot complete (except under IMMEDIATE, which
 * counts nothing; there the transition stays in flight only because nobody
 * calls lp_transition_try_complete or _wait while the hooks are measured). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int cmd;   /* 0 none, 1 park, 2 release, 3 quit */
    int state; /* 0 idle, 1 parked */
    lp_func_t *f;
    pthread_t th;
} parker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, 0};

static void *parker_main(void *arg)
{
    (void)arg;
    int rc = lp_thread_register("hb-parker");
    if (rc) die("lp_thread_register(parker)", rc);
    pthread_mutex_lock(&parker.mu);
    for (;;) {
        while (parker.cmd == 0) pthread_cond_wait(&parker.cv, &parker.mu);
        if (parker.cmd == 3) break;
        if (parker.cmd != 1) {
            parker.cmd = 0;
            continue;
        }
        parker.cmd = 0;
        lp_func_t *f = parker.f;
        pthread_mutex_unlock(&parker.mu);
        lp_kernel_enter();
        ((void (*)(void))(uintptr_t)lp_func_enter(f))();
        pthread_mutex_lock(&parker.mu);
        parker.state = 1;
        pthread_cond_broadcast(&parker.cv);
        while (parker.cmd != 2) pthread_cond_wait(&parker.cv, &parker.mu);
        parker.cmd = 0;
        pthread_mutex_unlock(&parker.mu);
        lp_func_exit(f);
        lp_kernel_exit();
        pthread_mutex_lock(&parker.mu);
        parker.state = 0;
        pthread_cond_broadcast(&parker.cv);
    }
    pthread_mutex_unlock(&parker.mu);
    lp_thread_unregister();
    return NULL;
}

static void parker_cmd(int cmd, int want_state, lp_func_t *f)
{
    pthread_mutex_lock(&parker.mu);
    parker.f = f;
    parker.cmd = cmd;
    pthread_cond_broadcast(&parker.cv);
    while (want_state >= 0 && parker.state != want_state) pthread_cond_wait(&parker.cv, &parker.mu);
    pthread_mutex_unlock(&parker.mu);
}

/* ---- the rows' fixtures ---- */

static int setup_memb(bench_t *b)
{
    (void)b;
    urcu_memb_register_thread();
    return 0;
}
static void teardown_memb(bench_t *b)
{
    (void)b;
    /* The engine registers this thread with urcu_memb itself when it scans
     * (lp_transition_wait): never leave it registered. */
    urcu_memb_unregister_thread();
}
/* lp_shadow_get uses the thread's own urcu_memb registration when it has
 * one; without it the first lp_shadow_* call would register this thread for
 * good, and setup_memb's registration in the next round would be a second. */
static char shadow_obj;
static int setup_shadow(bench_t *b)
{
    setup_memb(b);
    if (lp_shadow_get_or_alloc(&shadow_obj, 1, 64, NULL, NULL)) return 0;
    fprintf(stderr, "hookbench: lp_shadow_get_or_alloc failed\n");
    teardown_memb(b);
    return -1;
}
static int setup_qsbr(bench_t *b)
{
    (void)b;
    hb_qsbr_register();
    return 0;
}
static void teardown_qsbr(bench_t *b)
{
    (void)b;
    hb_qsbr_unregister();
}

static int setup_tx(bench_t *b)
{
    parker_cmd(1, 1, f_tx);
    int rc = lp_patch_enable(p_tx[b->preset]);
    if (rc) {
        fprintf(stderr, "hookbench: lp_patch_enable(%s): %s\n", presets[b->preset].name, lp_strerror(rc));
        parker_cmd(2, 0, NULL);
        return -1;
    }
    b->state_before = transition_state();
    return 0;
}

static void teardown_tx(bench_t *b)
{
    int after = transition_state();
    if (b->state_before == LP_TRANSITION_PATCHING && after == LP_TRANSITION_PATCHING) b->inflight++;
    parker_cmd(2, 0, NULL);
    finish_transition(presets[b->preset].name);
    int rc = lp_patch_disable(p_tx[b->preset]);
    if (rc) die("lp_patch_disable", rc);
    finish_transition(presets[b->preset].name);
}

bench_t benches[32];
int n_benches;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t c;
    char pad[56];
} __attribute__((aligned(64))) private_line;
char tx_keys[N_PRESETS][32];
static char tx_labels[N_PRESETS][64];

static bench_t *add_bench(const char *key, const char *label, int hook, loop_fn loop, void *arg)
{
    bench_t *b = &benches[n_benches++];
    memset(b, 0, sizeof *b);
    b->key = key;
    b->label = label;
    b->hook = hook;
    b->loop = loop;
    b->arg = arg;
    b->preset = -1;
    return b;
}

bench_t *find_bench(const char *key)
{
    for (int i = 0; i < n_benches; i++)
        if (!strcmp(benches[i].key, key)) return &benches[i];
    return NULL;
}

void hooks_prepare(void)
{
    int rc;
    p_steady = make_patch("hb-steady", LP_MODEL_KGRAFT, f_steady);
    if ((rc = lp_patch_enable(p_steady))) die("lp_patch_enable(hb-steady)", rc);
    finish_transition("hb-steady");
    for (int i = 0; i < N_PRESETS; i++) {
        char name[48];
        snprintf(name, sizeof name, "hb-tx-%.31s", presets[i].name);
        p_tx[i] = make_patch(name, presets[i].model, f_tx);
    }
    pthread_create(&parker.th, NULL, parker_main, NULL);

    add_bench("empty", "empty loop (loop overhead)", 0, loop_empty, NULL);
    add_bench("calls", "2 non-inlined empty calls", 0, loop_calls, NULL);
    add_bench("floor", "FLOOR: 2 non-inlined calls, ++ IE __thread", 0, loop_floor, NULL);
    add_bench("floor_plt", "floor through a .so's PLT", 0, loop_floor_so, NULL);
    add_bench("xadd_private", "lock xadd pair, private line", 0, loop_xadd, &private_line.c);
    add_bench("rwlock", "pthread_rwlock rdlock+unlock", 0, loop_rwlock, &rwlock);
    add_bench("mutex", "pthread_mutex lock+unlock", 0, loop_mutex, &mutex);
    bench_t *b = add_bench("memb", "urcu_memb lock+unlock, inlined, noinline", 0, loop_memb_inline, NULL);
    b->setup = setup_memb, b->teardown = teardown_memb;
    b = add_bench("memb_so", "urcu_memb lock+unlock, calls into .so", 0, loop_memb_so, NULL);
    b->setup = setup_memb, b->teardown = teardown_memb;
    add_bench("bp", "urcu_bp lock+unlock, inlined, noinline", 0, loop_bp, NULL);
    b = add_bench("qsbr_qs1", "urcu_qsbr pair + quiescent every call", 0, loop_qsbr_qs1, NULL);
    b->setup = setup_qsbr, b->teardown = teardown_qsbr;
    b = add_bench("qsbr_qs1024", "urcu_qsbr pair + quiescent every 1024", 0, loop_qsbr_qs1024, NULL);
    b->setup = setup_qsbr, b->teardown = teardown_qsbr;
    add_bench("ref", "the hook pair's algorithm in C (hb_ref.c)", 0, loop_ref, hb_ref_setup(IMPL(impl_old)));
    add_bench("hook", "lp_func_enter+exit, in no patch", 1, loop_hook, f_plain);
    add_bench("hook_steady", "lp_func_enter+exit, patched, steady", 1, loop_hook, f_steady);
    for (int i = 0; i < N_PRESETS; i++) {
        snprintf(tx_keys[i], sizeof tx_keys[i], "hook_tx_%.23s", presets[i].name);
        snprintf(tx_labels[i], sizeof tx_labels[i], "lp_func_enter+exit, in transition, %.28s", presets[i].name);
        b = add_bench(tx_keys[i], tx_labels[i], 1, loop_hook, f_tx);
        b->setup = setup_tx, b->teardown = teardown_tx, b->preset = i;
    }
    add_bench("kernel", "lp_kernel_enter+exit", 1, loop_kernel, NULL);
    b = add_bench("shadow_get", "lp_shadow_get, hit (one call)", 1, loop_shadow_get, &shadow_obj);
    b->setup = setup_shadow, b->teardown = teardown_memb;
    /* -finstrument-functions: one call of an empty instrumented function. */
    if (!lp_func_register_auto("hb-cyg", (const void *)(uintptr_t)hb_cyg_registered)) die("hb-cyg", -errno);
    add_bench("cyg_unregistered", "cyg hooks, unregistered function", 1, loop_cyg_unregistered, NULL);
    add_bench("cyg_registered", "cyg hooks, registered function", 1, loop_cyg_registered, NULL);
}

void hooks_finish(void)
{
    int rc;
    parker_cmd(3, -1, NULL);
    pthread_join(parker.th, NULL);
    if ((rc = lp_patch_disable(p_steady))) die("lp_patch_disable(hb-steady)", rc);
    finish_transition("hb-steady");
}
