/*
 * stackbench — counting against stack checking on one workload, per model
 * (UPSTREAM / UPSTREAM_STACK, KPATCH / KPATCH_STACK), in interleaved rounds
 * (each round measures every model once, so that a slow round cancels out
 * of the ratios):
 *  - hook cost: lp_func_enter + call + lp_func_exit of a set function while
 *    a transition is pending (a thread parked inside another set function
 *    keeps it so), as a ratio to the same call with no transition;
 *  - transition latency against thread count: lp_patch_enable to
 *    lp_transition_wait's return with N threads calling the set, as a ratio
 *    of the stack-checking model to its counting twin;
 *  - a sleeper inside the set: whether the transition stalls, and whether
 *    lp_transition_for_each_stalled names the sleeper and why.
 * Ratios are medians of per-round ratios with their 95% interval
 * (hb_util.c's ratio_spread); no figure is an absolute time. A transition
 * that does not complete within --bound-ms is forced and counted (kpatch's
 * stop_machine retries may keep missing a clean instant under load).
 *
 *   stackbench [--reps N] [--threads LIST] [--bound-ms MS] [--json FILE]
 *
 * scripts/bench builds it with frame pointers (the stack walker needs them);
 * `livepatch report` runs it.
 */
#include "hb_driver.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* hb_util.c's target() reads it; stackbench states no targets. */
hb_options_t opt = {.variant = "stackbench"};

#define MS 1000000ull
#define MAX_COUNTS 8
#define HOOK_CALLS 200000

enum { UPSTREAM, UPSTREAM_STACK, KPATCH, KPATCH_STACK, N_MODELS };
static const struct {
    const char *name;
    lp_model_t model;
    int twin; /* the counting model a stack-checking one is compared with; -1 for a counting one */
} models[N_MODELS] = {
    {"UPSTREAM", LP_MODEL_UPSTREAM, -1},
    {"UPSTREAM_STACK", LP_MODEL_UPSTREAM_STACK, UPSTREAM},
    {"KPATCH", LP_MODEL_KPATCH, -1},
    {"KPATCH_STACK", LP_MODEL_KPATCH_STACK, KPATCH},
};

static lp_func_t *g_f, *h_f;
static atomic_int hold, inside, stop;

__attribute__((noinline)) static int g_old(void)
{
    atomic_store(&inside, 1);
    while (atomic_load(&hold)) usleep(500);
    return 1;
}
__attribute__((noinline)) static int h_old(int x) { return x + 1; }
__attribute__((noinline)) static int x_new(int x) { return x + 2; }

static int call_h(int x)
{
    int (*impl)(int) = (int (*)(int))lp_func_enter(h_f);
    int v = impl(x);
    lp_func_exit(h_f);
    return v;
}

static void *sleeper(void *arg)
{
    (void)arg;
    lp_thread_register("sleeper");
    int (*impl)(void) = (int (*)(void))lp_func_enter(g_f);
    impl();
    lp_func_exit(g_f);
    lp_thread_unregister();
    return NULL;
}

static void *caller(void *arg)
{
    (void)arg;
    lp_thread_register("caller");
    for (int x = 0; !atomic_load(&stop); x++) {
        call_h(x);
        if ((x & 63) == 0) usleep(50);
    }
    lp_thread_unregister();
    return NULL;
}

/* ns per hooked call of h on this thread. */
static double hook_ns(void)
{
    volatile int sink = 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < HOOK_CALLS; i++) sink += call_h(i);
    return (double)(now_ns() - t0) / HOOK_CALLS;
}

static lp_patch_t *patch(lp_model_t model)
{
    static unsigned serial;
    char name[32];
    snprintf(name, sizeof name, "p%u", serial++);
    lp_patch_t *p = lp_patch_create(name, model, 0);
    if (!p) die("lp_patch_create", -errno);
    lp_patch_add_func(p, g_f, (const void *)x_new);
    lp_patch_add_func(p, h_f, (const void *)x_new);
    return p;
}

/* Waits for the transition in flight; forces it past the bound. Returns
 * whether it completed by itself. */
static int settle(uint64_t bound_ns)
{
    if (lp_transition_wait(bound_ns) == 0) return 1;
    lp_transition_force();
    lp_transition_wait(0);
    return 0;
}

static void undo(lp_patch_t *p, uint64_t bound_ns)
{
    lp_patch_disable(p);
    settle(bound_ns);
    lp_patch_destroy(p);
}

/* A sleeper parked inside g, a patch of the model enabled: the transition
 * stays pending while `during` runs (the hook cost), or for good. */
static void start_sleeper(pthread_t *s)
{
    atomic_store(&hold, 1);
    atomic_store(&inside, 0);
    pthread_create(s, NULL, sleeper, NULL);
    while (!atomic_load(&inside)) usleep(100);
}

static void stop_sleeper(pthread_t s)
{
    atomic_store(&hold, 0);
    pthread_join(s, NULL);
}

/* One round's hook figures of a model: steady, then pending. */
static void hook_round(int m, uint64_t bound_ns, double *steady, double *pending)
{
    pthread_t s;
    *steady = hook_ns();
    start_sleeper(&s);
    lp_patch_t *p = patch(models[m].model);
    lp_patch_enable(p);
    *pending = lp_transition_wait(50 * MS) == -ETIMEDOUT ? hook_ns() : NAN; /* NAN: it did not stay pending */
    stop_sleeper(s);
    settle(bound_ns);
    undo(p, bound_ns);
}

struct stall_seen {
    int named;
    int reason;
};

static int on_stalled(const lp_thread_info_t *t, void *arg)
{
    struct stall_seen *seen = arg;
    if (strcmp(t->name, "sleeper") == 0) {
        seen->named = 1;
        seen->reason = t->reason;
    }
    return 0;
}

static const char *reason_name(int reason)
{
    switch (reason) {
    case LP_STALL_IN_SET: return "inside the set";
    case LP_STALL_UNRELIABLE_STACK: return "unreliable stack";
    case LP_STALL_NO_SWITCH_POINT: return "no switch point";
    case LP_STALL_IN_KERNEL: return "in a kernel section";
    default: return "other";
    }
}

/* Whether a sleeper inside g stalls the transition, and what the stall
 * report says of it. */
static void sleeper_probe(int m, uint64_t bound_ns, int *stalls, struct stall_seen *seen)
{
    pthread_t s;
    start_sleeper(&s);
    lp_patch_t *p = patch(models[m].model);
    lp_patch_enable(p);
    *stalls = lp_transition_wait(200 * MS) == -ETIMEDOUT;
    seen->named = 0;
    if (*stalls) lp_transition_for_each_stalled(on_stalled, seen);
    stop_sleeper(s);
    settle(bound_ns);
    undo(p, bound_ns);
}

int main(int argc, char **argv)
{
    int reps = 9, counts[MAX_COUNTS] = {1, 16, 64}, n_counts = 3;
    uint64_t bound_ns = 2000 * MS;
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--bound-ms") && i + 1 < argc) {
            bound_ns = strtoull(argv[++i], NULL, 10) * MS;
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            n_counts = 0;
            for (char *tok = strtok(argv[++i], ","); tok && n_counts < MAX_COUNTS; tok = strtok(NULL, ","))
                counts[n_counts++] = atoi(tok);
        } else {
            fprintf(stderr, "usage: stackbench [--reps N] [--threads LIST] [--bound-ms MS] [--json FILE]\n");
            return 64;
        }
    }
    if (reps < 1 || reps > MAX_REPS || n_counts == 0 || bound_ns == 0) {
        fprintf(stderr, "stackbench: --reps 1..%d, --threads a list of counts, --bound-ms above 0\n", MAX_REPS);
        return 64;
    }
    read_machine();
    lp_thread_register("patcher");
    g_f = lp_func_register("g", (const void *)g_old);
    h_f = lp_func_register("h", (const void *)h_old);

    static double steady[N_MODELS][MAX_REPS], pending[N_MODELS][MAX_REPS];
    for (int r = 0; r < reps; r++)
        for (int m = 0; m < N_MODELS; m++) hook_round(m, bound_ns, &steady[m][r], &pending[m][r]);

    /* Latency: per thread count, each round enables (and disables) one
     * patch of every model in turn under the same callers. */
    static double lat[MAX_COUNTS][N_MODELS][MAX_REPS];
    static int timeouts[MAX_COUNTS][N_MODELS];
    for (int c = 0; c < n_counts; c++) {
        pthread_t th[256];
        int n = counts[c] < 256 ? counts[c] : 256;
        atomic_store(&stop, 0);
        for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, caller, NULL);
        usleep(20000);
        for (int r = 0; r < reps; r++)
            for (int m = 0; m < N_MODELS; m++) {
                lp_patch_t *q = patch(models[m].model);
                uint64_t t0 = now_ns();
                lp_patch_enable(q);
                int done = settle(bound_ns);
                lat[c][m][r] = done ? (double)(now_ns() - t0) : NAN;
                timeouts[c][m] += !done;
                undo(q, bound_ns);
            }
        atomic_store(&stop, 1);
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    }

    int stalls[N_MODELS];
    struct stall_seen seen[N_MODELS];
    for (int m = 0; m < N_MODELS; m++) sleeper_probe(m, bound_ns, &stalls[m], &seen[m]);

    sbuf_t js = {0};
    sb_printf(&js, "{\"cpu_model\": \"%s\", \"nproc\": %ld, \"load_at_start\": ", cpu_model, sysconf(_SC_NPROCESSORS_ONLN));
    sb_num(&js, load_at_start);
    sb_printf(&js, ", \"reps\": %d, \"bound_ms\": %llu, \"models\": [", reps, (unsigned long long)(bound_ns / MS));
    printf("stackbench: %d rounds; ratios are medians of per-round ratios [95%% CI]\n", reps);
    for (int m = 0; m < N_MODELS; m++) {
        char a[64], b[64];
        int twin = models[m].twin;
        spread_t hook = ratio_spread(pending[m], steady[m], reps);
        printf("%-15s hook pending x steady %s", models[m].name, fmt_spread(a, sizeof a, hook));
        sb_printf(&js, "%s\n  {\"name\": \"%s\", \"twin\": \"%s\"", m ? "," : "", models[m].name, twin < 0 ? "" : models[twin].name);
        sb_spread(&js, "hook_pending_x_steady", hook);
        if (twin >= 0) {
            spread_t x = ratio_spread(pending[m], pending[twin], reps);
            printf(" | x %s %s", models[twin].name, fmt_spread(b, sizeof b, x));
            sb_spread(&js, "hook_x_twin", x);
        }
        printf(" | sleeper in set: %s", stalls[m] ? "stalls" : "completes");
        if (stalls[m]) printf(seen[m].named ? ", named (%s)" : ", not named", reason_name(seen[m].reason));
        sb_printf(&js, ", \"sleeper_stalls\": %s, \"sleeper_named\": %s, \"sleeper_reason\": \"%s\", \"latency\": [",
                  stalls[m] ? "true" : "false", stalls[m] && seen[m].named ? "true" : "false",
                  stalls[m] && seen[m].named ? reason_name(seen[m].reason) : "");
        for (int c = 0; c < n_counts; c++) {
            sb_printf(&js, "%s{\"threads\": %d, \"timeouts\": %d", c ? ", " : "", counts[c], timeouts[c][m]);
            if (twin >= 0) {
                spread_t x = ratio_spread(lat[c][m], lat[c][twin], reps);
                printf(" | lat@%d x %s %s", counts[c], models[twin].name, fmt_spread(a, sizeof a, x));
                sb_spread(&js, "x_twin", x);
            }
            if (timeouts[c][m]) printf(" | %d of %d over %llu ms at %d thr", timeouts[c][m], reps,
                                       (unsigned long long)(bound_ns / MS), counts[c]);
            sb_printf(&js, "}");
        }
        sb_printf(&js, "]}");
        printf("\n");
    }
    sb_printf(&js, "\n]}\n");
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f || fwrite(js.p, 1, js.len, f) != js.len || fclose(f) != 0) {
            fprintf(stderr, "stackbench: cannot write %s\n", json);
            return 2;
        }
    }
    free(js.p);
    return 0;
}
