/*
 * hookbench — swift-livepatch's hooks next to their baselines, in one run.
 *
 * DESIGN.md section 6 states speed as ratios measured in one run on one
 * machine; this program measures every baseline and every hook interleaved
 * (round r measures each of them once, in the same order), so that a ratio
 * compares figures taken seconds apart, and reports the median of the
 * per-round ratios. See Benchmarks/README.md for the method, every choice
 * made, and how to read the output; scripts/bench builds and runs it
 * against the static and the shared library.
 *
 * Sections (--sections, default all):
 *   memory   RSS delta of 1000 registered threads, of their SWITCH_FUNCTION
 *            counter rows, and of 10000 registered functions
 *   hooks    single-thread pairs: baselines, the hook pair outside and during
 *            a transition (each preset), the kernel-section pair
 *   scaling  per-thread throughput at 1, 2, nproc and 2*nproc threads
 *   latency  lp_patch_enable + lp_transition_wait per preset, next to one
 *            urcu_memb_synchronize_rcu(), under 16..1024 busy threads
 *
 * This is a benchmark, not a test: it asserts nothing about time. It exits
 * non-zero only when the library misbehaves (an API call fails).
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <livepatch.h>
/* No _LGPL_SOURCE here: urcu_memb_read_lock() below is the library's
 * exported function, a call into liburcu-memb.so. */
#include <urcu/urcu-memb.h>

#include "hb.h"
#include "deadline_reverse.h"

/* Every measured loop starts on a 64-byte boundary, so that editing this file
 * does not move a loop across a fetch line and change its figure. */
#define HB_NOINLINE __attribute__((noinline, aligned(64)))
#define CLOBBER() __asm__ volatile("" ::: "memory")
#define KEEP(v) __asm__ volatile("" ::"r"(v) : "memory")
#define MAX_REPS 64
#define MAX_T 16
#define SEC 1000000000ull

/* ---- small utilities ------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the finite values; NAN when there are none. */
static double median(const double *v, int n)
{
    double tmp[MAX_REPS * 2];
    int m = 0;
    for (int i = 0; i < n && m < (int)(sizeof tmp / sizeof tmp[0]); i++)
        if (isfinite(v[i])) tmp[m++] = v[i];
    if (m == 0) return NAN;
    qsort(tmp, (size_t)m, sizeof tmp[0], cmp_double);
    return m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2;
}

/* The per-round ratios a[r] / b[r] of one row: their median, the 95%
 * distribution-free confidence interval of that median (order statistics
 * k and n+1-k, k the largest with P(Binomial(n, 1/2) < k) <= 2.5%; min and
 * max when n is too small for one, under 6 rounds), and min and max. */
typedef struct {
    double med, lo, hi, min, max;
    int n;
} spread_t;

static spread_t ratio_spread(const double *a, const double *b, int n)
{
    double r[MAX_REPS];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i]) && b[i] > 0) r[m++] = a[i] / b[i];
    spread_t s = {NAN, NAN, NAN, NAN, NAN, m};
    if (m == 0) return s;
    qsort(r, (size_t)m, sizeof r[0], cmp_double);
    s.med = m % 2 ? r[m / 2] : (r[m / 2 - 1] + r[m / 2]) / 2;
    s.min = r[0], s.max = r[m - 1];
    double p = pow(0.5, m), cdf = 0; /* P(B = 0), then P(B < k) */
    int k = 0;
    for (int j = 0; j < m && cdf + p <= 0.025; j++) {
        cdf += p;
        k = j + 1;
        p = p * (m - j) / (j + 1);
    }
    s.lo = r[k > 0 ? k - 1 : 0], s.hi = r[k > 0 ? m - k : m - 1];
    return s;
}

/* Median over rounds of a[r] / b[r]: the ratio of two figures taken in the
 * same round, so that a slow round (frequency, a neighbour) cancels out. */
static double ratio_median(const double *a, const double *b, int n) { return ratio_spread(a, b, n).med; }

/* MET when the whole interval is within the limit, MISSED when it is all
 * beyond, UNSURE when it straddles the limit. */
enum { V_MISSED = 0, V_MET = 1, V_NA = -1, V_UNSURE = 2 };
static int verdict(spread_t s, double limit)
{
    if (!isfinite(s.med)) return V_MISSED;
    return s.hi <= limit ? V_MET : s.lo > limit ? V_MISSED : V_UNSURE;
}
/* Several conditions: the worst of their verdicts. */
static int verdict_and(int a, int b)
{
    if (a == V_MISSED || b == V_MISSED) return V_MISSED;
    return a == V_UNSURE || b == V_UNSURE ? V_UNSURE : V_MET;
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* The machine a run was measured on: the CPU model and the 1-minute load
 * average when the run began (the report prints both beside its figures). */
static char cpu_model[128] = "unknown";
static double load_at_start = -1;

static void read_machine(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        snprintf(cpu_model, sizeof cpu_model, "%s", colon + 2);
        cpu_model[strcspn(cpu_model, "\n\"\\")] = 0;
        break;
    }
    if (f) fclose(f);
    f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &load_at_start) != 1) load_at_start = -1;
    if (f) fclose(f);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "hookbench: %s: %s (%d)\n", what, lp_strerror(rc), rc);
    exit(2);
}

/* A growing string, for the JSON and TSV written at the end. */
typedef struct {
    char *p;
    size_t len, cap;
} sbuf_t;

static void sb_printf(sbuf_t *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = s->cap - s->len;
        int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (s->p && (size_t)n < room) {
            s->len += (size_t)n;
            return;
        }
        s->cap = (s->cap + (size_t)n + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (!s->p) abort();
    }
}

/* A JSON number: null for NaN/inf. */
static void sb_num(sbuf_t *s, double v)
{
    if (isfinite(v)) sb_printf(s, "%.6g", v);
    else sb_printf(s, "null");
}

static void sb_array(sbuf_t *s, const double *v, int n)
{
    sb_printf(s, "[");
    for (int i = 0; i < n; i++) {
        if (i) sb_printf(s, ",");
        sb_num(s, v[i]);
    }
    sb_printf(s, "]");
}

/* ---- options --------------------------------------------------------------- */

/* --lat-load: the busy threads never sleep; every burst of calls ends with a
 * sched_yield() taken inside the sections (in the patched function's body,
 * like a system call that reschedules inside the kernel), or outside them,
 * or never (pure busy loop: preempted only by the scheduler's tick). */
enum { LOAD_INSIDE = 0, LOAD_OUTSIDE = 1, LOAD_BUSY = 2 };
static const char *load_names[] = {"inside", "outside", "busy"};

static struct {
    int quick;
    const char *json, *tsv, *variant;
    int do_memory, do_hooks, do_scaling, do_latency;
    int reps;             /* single-thread and scaling repetitions */
    double rep_ms;        /* target length of one repetition */
    int lat_reps;         /* transition-latency repetitions */
    int lat_threads[8], n_lat_threads;
    double lat_budget_s;  /* soft cap on the latency section */
    uint64_t timeout_ns;  /* one transition's lp_transition_wait bound */
    int mem_threads, mem_funcs;
    int lat_load;         /* LOAD_*: where the busy threads give the CPU up (--lat-load) */
    double lat_burst_us;  /* a burst of calls between two sched_yield() */
    int lat_work;         /* spins inside each section (the patched function's body), and as many outside */
    const char *count_key; /* --count: run this row's loop only (scripts/count-instructions) */
    uint64_t count_iters;
} opt;

static void usage(int rc)
{
    fprintf(rc ? stderr : stdout,
            "usage: hookbench [--quick] [--json FILE] [--tsv FILE] [--variant NAME]\n"
            "                 [--sections memory,hooks,scaling,latency] [--reps N] [--rep-ms MS]\n"
            "                 [--lat-threads 16,64,...] [--lat-reps N] [--lat-budget-s S]\n"
            "                 [--lat-load inside|outside|busy] [--lat-burst-us US] [--lat-work SPINS]\n"
            "       hookbench --count ROW [--count-iters N]   (one row's loop, for callgrind)\n"
            "See Benchmarks/README.md.\n");
    exit(rc);
}

static void parse_args(int argc, char **argv)
{
    opt.variant = "static";
    opt.do_memory = opt.do_hooks = opt.do_scaling = opt.do_latency = 1;
    int reps = 0, lat_reps = 0, lat_threads_given = 0;
    double rep_ms = 0, budget = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(0);
        else if (!strcmp(a, "--quick")) opt.quick = 1;
        else if (!strcmp(a, "--json") && v) opt.json = v, i++;
        else if (!strcmp(a, "--tsv") && v) opt.tsv = v, i++;
        else if (!strcmp(a, "--variant") && v) opt.variant = v, i++;
        else if (!strcmp(a, "--reps") && v) reps = atoi(v), i++;
        else if (!strcmp(a, "--rep-ms") && v) rep_ms = atof(v), i++;
        else if (!strcmp(a, "--lat-reps") && v) lat_reps = atoi(v), i++;
        else if (!strcmp(a, "--lat-budget-s") && v) budget = atof(v), i++;
        else if (!strcmp(a, "--lat-load") && v) {
            opt.lat_load = !strcmp(v, "busy") ? LOAD_BUSY : !strcmp(v, "outside") ? LOAD_OUTSIDE : LOAD_INSIDE;
            i++;
        }
        else if (!strcmp(a, "--lat-burst-us") && v) opt.lat_burst_us = atof(v), i++;
        else if (!strcmp(a, "--lat-work") && v) opt.lat_work = atoi(v), i++;
        else if (!strcmp(a, "--count") && v) opt.count_key = v, i++;
        else if (!strcmp(a, "--count-iters") && v) opt.count_iters = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--sections") && v) {
            opt.do_memory = strstr(v, "memory") != NULL;
            opt.do_hooks = strstr(v, "hooks") != NULL;
            opt.do_scaling = strstr(v, "scaling") != NULL;
            opt.do_latency = strstr(v, "latency") != NULL;
            i++;
        } else if (!strcmp(a, "--lat-threads") && v) {
            char *copy = strdup(v), *save = NULL;
            opt.n_lat_threads = 0;
            for (char *t = strtok_r(copy, ",", &save); t && opt.n_lat_threads < 8; t = strtok_r(NULL, ",", &save))
                if (atoi(t) > 0) opt.lat_threads[opt.n_lat_threads++] = atoi(t);
            free(copy);
            lat_threads_given = 1;
            i++;
        } else usage(2);
    }
    opt.reps = reps > 0 ? reps : opt.quick ? 5 : 7;
    if (opt.reps > MAX_REPS) opt.reps = MAX_REPS;
    opt.rep_ms = rep_ms > 0 ? rep_ms : opt.quick ? 10 : 30;
    opt.lat_reps = lat_reps > 0 ? lat_reps : opt.quick ? 5 : 9;
    if (opt.lat_reps > MAX_REPS) opt.lat_reps = MAX_REPS;
    opt.lat_budget_s = budget > 0 ? budget : opt.quick ? 10 : 60;
    opt.timeout_ns = 5 * SEC;
    if (!lat_threads_given) {
        static const int full[] = {16, 64, 256, 1024}, quick[] = {16, 64};
        const int *src = opt.quick ? quick : full;
        opt.n_lat_threads = opt.quick ? 2 : 4;
        for (int i = 0; i < opt.n_lat_threads; i++) opt.lat_threads[i] = src[i];
    }
    if (opt.lat_burst_us <= 0) opt.lat_burst_us = 50;
    if (opt.lat_work <= 0) opt.lat_work = 2048;
    if (opt.count_iters == 0) opt.count_iters = 1000000;
    opt.mem_threads = 1000;
    opt.mem_funcs = 10000;
}

/* ---- the loops: one noinline function per measured body ---------------------
 * Every loop runs `n` pairs; the clobber keeps the compiler from deleting or
 * merging iterations. The loop overhead itself is the "empty loop" row. */

typedef void (*loop_fn)(uint64_t n, void *arg);

HB_NOINLINE static void loop_empty(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) CLOBBER();
}

HB_NOINLINE static void loop_calls(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_empty_enter(arg);
        hb_empty_exit(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_floor(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_floor_enter(arg);
        KEEP(p);
        hb_floor_exit(arg);
    }
}

HB_NOINLINE static void loop_floor_so(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_so_floor_enter(arg);
        KEEP(p);
        hb_so_floor_exit(arg);
    }
}

HB_NOINLINE static void loop_xadd(uint64_t n, void *arg)
{
    uint64_t *c = arg;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = hb_xadd(c);
        KEEP(v);
        v = hb_xadd(c);
        KEEP(v);
    }
}

HB_NOINLINE static void loop_rwlock(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_rwlock_rdlock(arg);
        pthread_rwlock_unlock(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_mutex(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(arg);
        pthread_mutex_unlock(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_memb_inline(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_memb_lock();
        hb_memb_unlock();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_memb_so(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        urcu_memb_read_lock();
        urcu_memb_read_unlock();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_bp(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_bp_lock();
        hb_bp_unlock();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_qsbr_qs1(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_qsbr_lock();
        hb_qsbr_unlock();
        hb_qsbr_quiescent();
    }
}

HB_NOINLINE static void loop_qsbr_qs1024(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        hb_qsbr_lock();
        hb_qsbr_unlock();
        if ((i & 1023) == 1023) hb_qsbr_quiescent();
        CLOBBER();
    }
}

HB_NOINLINE static void loop_ref(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        const void *p = hb_ref_enter(arg);
        KEEP(p);
        hb_ref_exit(arg);
    }
}

HB_NOINLINE static void loop_hook(uint64_t n, void *arg)
{
    lp_func_t *f = arg;
    for (uint64_t i = 0; i < n; i++) {
        const void *p = lp_func_enter(f);
        KEEP(p);
        lp_func_exit(f);
    }
}

/* One call of an instrumented empty function: its call, plus the two cyg
 * hooks around its body. */
HB_NOINLINE static void loop_cyg_unregistered(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_cyg_unregistered(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_cyg_registered(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        hb_cyg_registered(arg);
        CLOBBER();
    }
}

HB_NOINLINE static void loop_kernel(uint64_t n, void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < n; i++) {
        lp_kernel_enter();
        CLOBBER();
        lp_kernel_exit();
    }
}

/* One lp_shadow_get that finds its shadow (a lock-free rculfhash lookup in
 * a memb read section): one call per iteration, against the floor's two. */
HB_NOINLINE static void loop_shadow_get(uint64_t n, void *arg)
{
    for (uint64_t i = 0; i < n; i++) {
        void *p = lp_shadow_get(arg, 1);
        KEEP(p);
    }
}

/* The implementations behind the registered functions. Their body is the
 * work a busy thread of the latency section does inside the area, and where
 * it yields the CPU under --lat-load inside; elsewhere (the parker, the memory
 * section) hb_work is 0 and hb_yield_here never set. */
static int hb_work;
static __thread int hb_yield_here;
HB_NOINLINE static void spin_work(int n)
{
    for (int i = 0; i < n; i++) CLOBBER();
}
static void impl_body(void)
{
    spin_work(hb_work);
    if (hb_yield_here) {
        hb_yield_here = 0;
        sched_yield();
    }
}
HB_NOINLINE static void impl_old(void) { impl_body(); }
HB_NOINLINE static void impl_new(void) { impl_body(); }
#define IMPL(fn) ((const void *)(uintptr_t)(fn))

/* ---- the engine's fixtures -------------------------------------------------- */

/* The models measured: the six presets and the worked example of a
 * user-defined model (Examples/models/deadline_reverse.c), named by the
 * library. The example's deadline is far beyond any transition here, so it
 * runs as PATCHED_SET x THREAD with its policy asked at every check. */
#define HB_DEADLINE_NS 60000000000ull
static struct {
    char name[LP_MODEL_NAME_MAX];
    lp_model_t model;
} presets[7];
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

static void describe_models(void)
{
    const lp_model_t ids[N_PRESETS] = {LP_MODEL_IMMEDIATE, LP_MODEL_KGRAFT,    LP_MODEL_KPATCH, LP_MODEL_UPSTREAM,
                                       LP_MODEL_HIRAMATSU, LP_MODEL_RENEW, deadline_reverse_model(HB_DEADLINE_NS)};
    for (int i = 0; i < N_PRESETS; i++) {
        lp_model_info_t info;
        int rc = lp_model_describe(ids[i], &info);
        if (rc) die("lp_model_describe", rc);
        presets[i].model = ids[i];
        snprintf(presets[i].name, sizeof presets[i].name, "%s", info.name);
    }
}

static lp_func_t *f_plain;  /* in no patch, ever */
static lp_func_t *f_steady; /* in hb-steady, enabled and complete during the hooks section */
static lp_func_t *f_tx;     /* in hb-tx-<preset>, each enabled in turn and kept in transition */
static lp_func_t *f_lat;    /* in hb-lat-<preset>: the latency section's function */
static lp_patch_t *p_steady, *p_tx[N_PRESETS], *p_lat[N_PRESETS];

static lp_func_t *reg_func(const char *name)
{
    lp_func_t *f = lp_func_register(name, IMPL(impl_old));
    if (!f) die(name, -errno);
    return f;
}

static lp_patch_t *make_patch(const char *name, lp_model_t model, lp_func_t *f)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    if (!p) die(name, -errno);
    int rc = lp_patch_add_func(p, f, IMPL(impl_new));
    if (rc) die("lp_patch_add_func", rc);
    return p;
}

static int transition_state(void)
{
    lp_transition_status_t st;
    return lp_transition_status(&st) == 0 ? st.state : -1;
}

/* Waits for the transition in flight; forces it (and says so) past the bound. */
static int finish_transition(const char *what)
{
    int rc = lp_transition_wait(opt.timeout_ns);
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "hookbench: %s: transition still pending after %.0f s, forced\n", what,
                (double)opt.timeout_ns / SEC);
        lp_transition_force();
    } else if (rc) die(what, rc);
    return rc;
}

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

/* ---- figures kept for the targets, the JSON and the TSV ---------------------- */

static sbuf_t js_hooks, js_cyg, js_scaling, js_latency, js_memory, js_targets, tsv;
static int n_targets, n_met, n_unsure;

/* met: a V_* verdict. */
static void target(const char *id, int met, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const char *status = met == V_MET ? "MET" : met == V_MISSED ? "MISSED" : met == V_UNSURE ? "UNSURE" : "N/A";
    printf("%-6s [%s] %s %s\n", status, opt.variant, id, text);
    if (js_targets.len) sb_printf(&js_targets, ",\n    ");
    sb_printf(&js_targets, "{\"id\": \"%s\", \"status\": \"%s\", \"text\": \"%s\"}", id, status, text);
    if (met != V_NA) {
        n_targets++;
        n_met += met == V_MET;
        n_unsure += met == V_UNSURE;
    }
}

/* "1.23x [1.10-1.40]": a median of per-round ratios and its 95% interval. */
static const char *fmt_spread(char *buf, size_t size, spread_t s)
{
    snprintf(buf, size, "%.2fx [%.2f-%.2f]", s.med, s.lo, s.hi);
    return buf;
}

static void sb_spread(sbuf_t *sb, const char *name, spread_t s)
{
    sb_printf(sb, ", \"%s\": ", name);
    sb_num(sb, s.med);
    sb_printf(sb, ", \"%s_ci95\": [", name);
    sb_num(sb, s.lo);
    sb_printf(sb, ",");
    sb_num(sb, s.hi);
    sb_printf(sb, "], \"%s_range\": [", name);
    sb_num(sb, s.min);
    sb_printf(sb, ",");
    sb_num(sb, s.max);
    sb_printf(sb, "]");
}

/* ---- section: single-thread pairs ------------------------------------------ */

typedef struct bench {
    const char *key, *label;
    int hook;   /* 0 baseline, 1 the project's hook */
    loop_fn loop;
    void *arg;
    int (*setup)(struct bench *);
    void (*teardown)(struct bench *);
    int preset; /* transition benches: index in presets[], else -1 */
    uint64_t iters;
    double ns[MAX_REPS];
    int inflight; /* transition benches: rounds verified in flight before and after */
    uint64_t allocs; /* heap allocations by this thread during the timed loops */
    int state_before;
} bench_t;

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

/* Runs one repetition with the stack moved down by `offset` bytes. The hooks
 * push registers, then load their records; a record whose address agrees
 * with a pushed slot in its low 12 bits makes the load wait for the store (4K
 * aliasing), and which one does depends on the stack's offset within its page,
 * which Linux draws at random per process: the same row measured 5.8 ns in one
 * run and 6.8 or 8.1 ns in others (stable with setarch -R). Each round uses
 * another offset, the same for every row of that round, so that the median
 * over rounds is the typical placement rather than one process's draw. */
HB_NOINLINE static uint64_t run_at_offset(bench_t *b, size_t offset)
{
    volatile char *pad = alloca(offset + 16);
    pad[0] = 0;
    uint64_t t0 = now_ns();
    b->loop(b->iters, b->arg);
    uint64_t dt = now_ns() - t0;
    __asm__ volatile("" ::"r"(pad) : "memory");
    return dt;
}

static uint64_t calibrate(bench_t *b, double target_ns)
{
    uint64_t n = 256;
    for (;;) {
        uint64_t t0 = now_ns();
        b->loop(n, b->arg);
        uint64_t dt = now_ns() - t0;
        if (dt >= 2000000 || n >= (1ull << 36)) {
            double it = (double)n * target_ns / (double)(dt ? dt : 1);
            return it < 1000 ? 1000 : (uint64_t)it;
        }
        n *= dt < 100000 ? 8 : 2;
    }
}

static bench_t benches[32];
static int n_benches;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t c;
    char pad[56];
} __attribute__((aligned(64))) private_line;
static char tx_keys[N_PRESETS][32], tx_labels[N_PRESETS][64];

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

static bench_t *find_bench(const char *key)
{
    for (int i = 0; i < n_benches; i++)
        if (!strcmp(benches[i].key, key)) return &benches[i];
    return NULL;
}

/* The rows of the hooks section, with their fixtures: hb-steady enabled and
 * complete, the parker thread started. */
static void hooks_prepare(void)
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

static void hooks_finish(void)
{
    int rc;
    parker_cmd(3, -1, NULL);
    pthread_join(parker.th, NULL);
    if ((rc = lp_patch_disable(p_steady))) die("lp_patch_disable(hb-steady)", rc);
    finish_transition("hb-steady");
}

/* --count KEY: one row's loop, run --count-iters times and nothing else
 * timed, for scripts/count-instructions (callgrind collects inside the
 * loop's function only: --toggle-collect). */
static void count_one(void)
{
    hooks_prepare();
    bench_t *b = find_bench(opt.count_key);
    if (!b) {
        fprintf(stderr, "hookbench: --count: no row %s\n", opt.count_key);
        exit(2);
    }
    if (b->setup && b->setup(b)) exit(2);
    b->loop(opt.count_iters, b->arg);
    if (b->teardown) b->teardown(b);
    hooks_finish();
    if (hb_ref_slow_calls) {
        fprintf(stderr, "hookbench: the C transcription left its fast path %llu times\n",
                (unsigned long long)hb_ref_slow_calls);
        exit(2);
    }
    printf("%s: %llu pairs\n", b->key, (unsigned long long)opt.count_iters);
}

static void section_hooks(void)
{
    hooks_prepare();
    bench_t *b;
    double target_ns = opt.rep_ms * 1e6;
    for (int r = 0; r < opt.reps; r++) {
        for (int i = 0; i < n_benches; i++) {
            b = &benches[i];
            b->ns[r] = NAN;
            if (b->setup && b->setup(b)) continue;
            if (r == 0) b->iters = calibrate(b, target_ns); /* also the warm-up */
            uint64_t a0 = hb_alloc_count;
            hb_alloc_counting = 1;
            uint64_t dt = run_at_offset(b, (size_t)(r * 1040) % 4096); /* 1040: a quarter page + 16 */
            hb_alloc_counting = 0;
            b->allocs += hb_alloc_count - a0;
            b->ns[r] = (double)dt / (double)b->iters;
            if (b->teardown) b->teardown(b);
        }
    }

    hooks_finish();
    /* A figure of the C transcription is its fast path's only. */
    if (hb_ref_slow_calls) {
        fprintf(stderr, "hookbench: the C transcription left its fast path %llu times: its row is void\n",
                (unsigned long long)hb_ref_slow_calls);
        bench_t *ref = find_bench("ref");
        for (int r = 0; r < opt.reps; r++) ref->ns[r] = NAN;
    }

    bench_t *floor = find_bench("floor");
    printf("\n== single-thread pairs, %s library: %d rounds x ~%.0f ms; ns/pair = median over rounds; "
           "x floor = median of per-round ratios to the floor [its 95%% confidence interval] ==\n",
           opt.variant, opt.reps, opt.rep_ms);
    printf("  %-46s %9s %22s %7s\n", "", "ns/pair", "x floor [95% CI]", "allocs");
    for (int i = 0; i < n_benches; i++) {
        b = &benches[i];
        if (i > 0 && b->hook && !benches[i - 1].hook) printf("  %s\n", "-- the project's hooks --");
        double med = median(b->ns, opt.reps);
        spread_t sp = ratio_spread(b->ns, floor->ns, opt.reps);
        char note[64] = "", cell[48];
        if (b->preset >= 0) snprintf(note, sizeof note, "  (in flight %d/%d)", b->inflight, opt.reps);
        char allocs[24];
        if (hb_alloc_supported) snprintf(allocs, sizeof allocs, "%llu", (unsigned long long)b->allocs);
        else snprintf(allocs, sizeof allocs, "?");
        printf("  %-46s %9.2f %22s %7s%s\n", b->label, med, fmt_spread(cell, sizeof cell, sp), allocs, note);
        if (js_hooks.len) sb_printf(&js_hooks, ",\n    ");
        sb_printf(&js_hooks, "{\"key\": \"%s\", \"label\": \"%s\", \"hook\": %s, \"ns_per_pair\": ", b->key, b->label,
                  b->hook ? "true" : "false");
        sb_num(&js_hooks, med);
        sb_spread(&js_hooks, "ratio_floor", sp);
        sb_printf(&js_hooks, ", \"iters_per_rep\": %llu, \"samples_ns\": ", (unsigned long long)b->iters);
        sb_array(&js_hooks, b->ns, opt.reps);
        if (b->preset >= 0) sb_printf(&js_hooks, ", \"in_flight_rounds\": %d", b->inflight);
        if (hb_alloc_supported) sb_printf(&js_hooks, ", \"allocations\": %llu", (unsigned long long)b->allocs);
        sb_printf(&js_hooks, "}");
        sb_printf(&tsv, "%s\t%s\t%.3f\t%.3f\n", b->key, b->label, med, sp.med);
    }
}

/* The cyg rows against the floor and the plain hook pair (in no patch). */
static void report_cyg(void)
{
    bench_t *floor = find_bench("floor"), *hook = find_bench("hook");
    printf("\n== -finstrument-functions hooks, %s library: an empty instrumented function's call, "
           "median of per-round ratios ==\n", opt.variant);
    printf("  %-46s %9s %22s %22s\n", "", "ns/call", "x floor [95% CI]", "x hook pair [95% CI]");
    const char *keys[] = {"cyg_unregistered", "cyg_registered"};
    for (int i = 0; i < 2; i++) {
        bench_t *b = find_bench(keys[i]);
        spread_t xf = ratio_spread(b->ns, floor->ns, opt.reps), xh = ratio_spread(b->ns, hook->ns, opt.reps);
        char c1[48], c2[48];
        printf("  %-46s %9.2f %22s %22s\n", b->label, median(b->ns, opt.reps), fmt_spread(c1, sizeof c1, xf),
               fmt_spread(c2, sizeof c2, xh));
        if (js_cyg.len) sb_printf(&js_cyg, ",\n    ");
        sb_printf(&js_cyg, "{\"key\": \"%s\", \"label\": \"%s\"", b->key, b->label);
        sb_spread(&js_cyg, "ratio_floor", xf);
        sb_spread(&js_cyg, "ratio_hook_pair", xh);
        sb_printf(&js_cyg, "}");
    }
}

static void targets_hooks(void)
{
    bench_t *floor = find_bench("floor"), *hook = find_bench("hook"), *steady = find_bench("hook_steady");
    bench_t *memb = find_bench("memb");
    char c1[48], c2[48];
    spread_t r1 = ratio_spread(hook->ns, floor->ns, opt.reps), r2 = ratio_spread(steady->ns, floor->ns, opt.reps);
    target("hook<=1.25xfloor", verdict_and(verdict(r1, 1.25), verdict(r2, 1.25)),
           "hook pair <= 1.25x floor: no patch %s, patched steady %s", fmt_spread(c1, sizeof c1, r1),
           fmt_spread(c2, sizeof c2, r2));
    spread_t m1 = ratio_spread(hook->ns, memb->ns, opt.reps), m2 = ratio_spread(steady->ns, memb->ns, opt.reps);
    target("hook<=urcu_memb", verdict_and(verdict(m1, 1.0), verdict(m2, 1.0)),
           "hook pair <= urcu_memb pair (inlined, each half a noinline call): no patch %s, steady %s",
           fmt_spread(c1, sizeof c1, m1), fmt_spread(c2, sizeof c2, m2));
    if (!strcmp(opt.variant, "shared")) {
        bench_t *plt = find_bench("floor_plt");
        target("hook-vs-plt-floor", V_NA,
               "(not a section 6 target) hook pair against the floor called through a PLT, as the shared library's "
               "hooks are: %s",
               fmt_spread(c1, sizeof c1, ratio_spread(hook->ns, plt->ns, opt.reps)));
    }
    if (hb_alloc_supported) {
        uint64_t allocs = 0, pairs = 0;
        for (int i = 0; i < n_benches; i++)
            if (benches[i].hook) allocs += benches[i].allocs, pairs += benches[i].iters * (uint64_t)opt.reps;
        target("no-alloc", allocs == 0, "zero heap allocations on the hot path: %llu allocations in %.3g timed hook pairs",
               (unsigned long long)allocs, (double)pairs);
    }
    for (int i = 0; i < N_PRESETS; i++) {
        bench_t *b = find_bench(tx_keys[i]);
        spread_t r = ratio_spread(b->ns, steady->ns, opt.reps);
        char id[48];
        snprintf(id, sizeof id, "transition<=2xsteady:%s", presets[i].name);
        target(id, b->inflight == opt.reps ? verdict(r, 2.0) : V_MISSED,
               "hook pair during a %s transition <= 2x steady: %s (in flight %d/%d rounds)", presets[i].name,
               fmt_spread(c1, sizeof c1, r), b->inflight, opt.reps);
    }
}

/* ---- section: scaling ------------------------------------------------------- */

enum { SC_FLOOR, SC_HOOK, SC_XADD_PRIVATE, SC_XADD_SHARED, SC_N };
static const char *sc_names[SC_N] = {"floor", "hook", "xadd_private", "xadd_shared"};
static const char *sc_labels[SC_N] = {"floor (TLS calls)", "hook pair (no patch)", "lock xadd, private line",
                                      "lock xadd, shared line"};

static struct {
    uint64_t c;
    char pad[56];
} __attribute__((aligned(64))) shared_line;

typedef struct {
    pthread_t th;
    int idx;
    uint64_t ops;
    struct {
        uint64_t c;
        char pad[56];
    } __attribute__((aligned(64))) priv;
} __attribute__((aligned(64))) sc_worker_t;

/* One pool of T threads per thread count, all alive for the whole section
 * (idle pools sleep in a barrier), so that every round measures every thread
 * count and the ratio to 1 thread is taken within a round. */
typedef struct {
    pthread_barrier_t start, end;
    int kind, quit, threads;
    sc_worker_t *w;
    int stop __attribute__((aligned(64)));
} sc_pool_t;

typedef struct {
    sc_pool_t *pool;
    sc_worker_t *w;
} sc_arg_t;

static void *sc_main(void *arg)
{
    sc_pool_t *pool = ((sc_arg_t *)arg)->pool;
    sc_worker_t *w = ((sc_arg_t *)arg)->w;
    free(arg);
    char name[24];
    snprintf(name, sizeof name, "hb-scale-%d-%d", pool->threads, w->idx);
    int rc = lp_thread_register(name);
    if (rc) die("lp_thread_register(scaling)", rc);
    for (;;) {
        pthread_barrier_wait(&pool->start);
        if (pool->quit) break;
        loop_fn fn;
        void *a;
        switch (pool->kind) {
        case SC_FLOOR: fn = loop_floor, a = NULL; break;
        case SC_HOOK: fn = loop_hook, a = f_plain; break;
        case SC_XADD_PRIVATE: fn = loop_xadd, a = &w->priv.c; break;
        default: fn = loop_xadd, a = &shared_line.c; break;
        }
        uint64_t ops = 0;
        while (!__atomic_load_n(&pool->stop, __ATOMIC_RELAXED)) {
            fn(256, a);
            ops += 256;
        }
        w->ops = ops;
        pthread_barrier_wait(&pool->end);
    }
    lp_thread_unregister();
    return NULL;
}

static double sc_ns[MAX_T][SC_N][MAX_REPS]; /* per-thread ns per pair */
static int sc_threads[MAX_T], n_sc;

static void section_scaling(void)
{
    long np = sysconf(_SC_NPROCESSORS_ONLN);
    int cand[4] = {1, 2, (int)np, (int)(2 * np)};
    n_sc = 0;
    for (int i = 0; i < 4; i++) {
        int dup = 0;
        for (int j = 0; j < n_sc; j++) dup |= sc_threads[j] == cand[i];
        if (!dup && cand[i] > 0 && n_sc < MAX_T) sc_threads[n_sc++] = cand[i];
    }
    for (int i = 1; i < n_sc; i++)
        for (int j = i; j > 0 && sc_threads[j] < sc_threads[j - 1]; j--) {
            int t = sc_threads[j];
            sc_threads[j] = sc_threads[j - 1];
            sc_threads[j - 1] = t;
        }
    sc_pool_t *pools = aligned_alloc(64, sizeof(sc_pool_t) * (size_t)n_sc);
    memset(pools, 0, sizeof(sc_pool_t) * (size_t)n_sc);
    for (int ti = 0; ti < n_sc; ti++) {
        sc_pool_t *p = &pools[ti];
        int T = p->threads = sc_threads[ti];
        p->w = aligned_alloc(64, sizeof(sc_worker_t) * (size_t)T);
        memset(p->w, 0, sizeof(sc_worker_t) * (size_t)T);
        pthread_barrier_init(&p->start, NULL, (unsigned)T + 1);
        pthread_barrier_init(&p->end, NULL, (unsigned)T + 1);
        for (int i = 0; i < T; i++) {
            sc_arg_t *a = malloc(sizeof *a);
            a->pool = p, a->w = &p->w[i];
            p->w[i].idx = i;
            pthread_create(&p->w[i].th, NULL, sc_main, a);
        }
    }
    uint64_t window = (uint64_t)(opt.rep_ms * 1e6);
    for (int r = -1; r < opt.reps; r++) { /* round -1: warm-up, not kept */
        for (int ti = 0; ti < n_sc; ti++) {
            sc_pool_t *p = &pools[ti];
            for (int k = 0; k < SC_N; k++) {
                p->kind = k;
                __atomic_store_n(&p->stop, 0, __ATOMIC_RELAXED);
                pthread_barrier_wait(&p->start);
                uint64_t t0 = now_ns();
                sleep_ns(r < 0 ? window / 4 : window);
                __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
                uint64_t dt = now_ns() - t0;
                pthread_barrier_wait(&p->end);
                if (r < 0) continue;
                /* Per-thread throughput: all the pairs done in the window,
                 * divided by the threads and the window (a descheduled
                 * thread counts as a slow one, as it should). */
                uint64_t ops = 0;
                for (int i = 0; i < p->threads; i++) ops += p->w[i].ops;
                sc_ns[ti][k][r] = ops ? (double)dt * p->threads / (double)ops : NAN;
            }
        }
    }
    for (int ti = 0; ti < n_sc; ti++) {
        sc_pool_t *p = &pools[ti];
        p->quit = 1;
        pthread_barrier_wait(&p->start);
        for (int i = 0; i < p->threads; i++) pthread_join(p->w[i].th, NULL);
        pthread_barrier_destroy(&p->start);
        pthread_barrier_destroy(&p->end);
        free(p->w);
    }
    free(pools);

    printf("\n== scaling: per-thread ns per pair, and (per-thread throughput / 1 thread, median of per-round "
           "ratios); %d rounds x ~%.0f ms; nproc %ld ==\n",
           opt.reps, opt.rep_ms, np);
    printf("  %-26s", "threads");
    for (int ti = 0; ti < n_sc; ti++) printf(" %17d", sc_threads[ti]);
    printf("\n");
    for (int k = 0; k < SC_N; k++) {
        printf("  %-26s", sc_labels[k]);
        for (int ti = 0; ti < n_sc; ti++) {
            double m = median(sc_ns[ti][k], opt.reps);
            /* throughput ratio = ns(1 thread) / ns(T threads), per round */
            double rr = ratio_median(sc_ns[0][k], sc_ns[ti][k], opt.reps);
            printf(" %8.2f (%5.2fx)", m, rr);
            if (js_scaling.len) sb_printf(&js_scaling, ",\n    ");
            sb_printf(&js_scaling, "{\"bench\": \"%s\", \"threads\": %d, \"ns_per_pair_per_thread\": ", sc_names[k],
                      sc_threads[ti]);
            sb_num(&js_scaling, m);
            sb_printf(&js_scaling, ", \"throughput_ratio_to_1\": ");
            sb_num(&js_scaling, rr);
            sb_printf(&js_scaling, ", \"samples_ns\": ");
            sb_array(&js_scaling, sc_ns[ti][k], opt.reps);
            sb_printf(&js_scaling, "}");
        }
        printf("\n");
    }
}

static void targets_scaling(void)
{
    int t2 = -1;
    for (int ti = 0; ti < n_sc; ti++)
        if (sc_threads[ti] == 2) t2 = ti;
    if (t2 < 0 || sc_threads[0] != 1) return;
    double hook = ratio_median(sc_ns[0][SC_HOOK], sc_ns[t2][SC_HOOK], opt.reps);
    double xadd = ratio_median(sc_ns[0][SC_XADD_SHARED], sc_ns[t2][SC_XADD_SHARED], opt.reps);
    double flr = ratio_median(sc_ns[0][SC_FLOOR], sc_ns[t2][SC_FLOOR], opt.reps);
    double priv = ratio_median(sc_ns[0][SC_XADD_PRIVATE], sc_ns[t2][SC_XADD_PRIVATE], opt.reps);
    int hook_ok = hook >= 0.9, premise = xadd <= 0.5;
    if (flr < 0.9 || priv < 0.9) {
        /* The floor and the private-line xadd share nothing: if either does
         * not scale, two threads did not get two CPUs for the whole section
         * (a loaded or single-CPU machine), and the hook's figure says
         * nothing about the engine. Not counted either way. */
        target("scaling@2", -1,
               "no verdict: what shares nothing did not scale at 2 threads (floor %.2fx, private lock xadd %.2fx): "
               "the machine did not give 2 CPUs; hook %.2fx, shared lock xadd %.2fx",
               flr, priv, hook, xadd);
        return;
    }
    target("scaling@2", hook_ok && premise,
           "2-thread per-thread throughput >= 0.9x 1-thread while a shared atomic loses >= 2x: hook %.2fx (%s), "
           "shared lock xadd %.2fx (%s); floor %.2fx, private lock xadd %.2fx",
           hook, hook_ok ? "ok" : "too low", xadd, premise ? "loses >= 2x" : "does NOT lose 2x here", flr, priv);
}

/* ---- section: transition latency under load --------------------------------- */

typedef struct {
    pthread_t th;
    int idx, kern, ok;
    uint64_t loops;
} busy_t;

static struct {
    int stop __attribute__((aligned(64)));
    int ready;
    uint64_t burst_ns;
} lat;

static void *busy_main(void *arg)
{
    busy_t *b = arg;
    char name[24];
    snprintf(name, sizeof name, "hb-busy-%d", b->idx);
    /* A reader of urcu_memb too: the read-side section spans exactly what the
     * engine counts (the kernel section, or the function activation), so
     * that synchronize_rcu has readers to wait for, as the transition does. */
    urcu_memb_register_thread();
    int rc = lp_thread_register(name);
    b->ok = rc == 0;
    __atomic_fetch_add(&lat.ready, 1, __ATOMIC_RELEASE);
    uint64_t loops = 0;
    while (!__atomic_load_n(&lat.stop, __ATOMIC_RELAXED)) {
        /* One burst of calls, then the CPU is handed on (--lat-load): the
         * thread stays runnable and busy, and one waiting inside a section
         * runs again after one turn of the run queue (about T x burst /
         * nproc) rather than after T scheduler time slices. */
        uint64_t end = now_ns() + lat.burst_ns;
        do {
            for (int k = 0; k < 4; k++) {
                urcu_memb_read_lock();
                if (b->kern) lp_kernel_enter();
                ((void (*)(void))(uintptr_t)lp_func_enter(f_lat))(); /* may yield inside */
                lp_func_exit(f_lat);
                if (b->kern) lp_kernel_exit();
                urcu_memb_read_unlock();
                spin_work(hb_work); /* as long outside the area as inside */
            }
            loops += 4;
        } while ((opt.lat_load == LOAD_BUSY || now_ns() < end) && !__atomic_load_n(&lat.stop, __ATOMIC_RELAXED));
        if (opt.lat_load == LOAD_OUTSIDE) sched_yield();
        else if (opt.lat_load == LOAD_INSIDE) hb_yield_here = 1; /* the next call yields inside */
    }
    b->loops = loops;
    /* In this order: the engine registers an exiting thread with urcu_memb
     * itself (for call_rcu), which must not find it registered already. */
    urcu_memb_unregister_thread();
    if (b->ok) lp_thread_unregister();
    return NULL;
}

#define LAT_ITEMS (N_PRESETS + 1) /* 0: synchronize_rcu, 1..: presets */
typedef struct {
    int threads, rounds, timeouts[LAT_ITEMS];
    double en[LAT_ITEMS][MAX_REPS];
    double holds[LAT_ITEMS], hold_timeouts[LAT_ITEMS], checks[LAT_ITEMS];
    double loops_per_s;
    int cut; /* the hard deadline cut a round short */
} lat_row_t;
static lat_row_t lat_rows[8];
static double lat_loop_us; /* CPU time of one busy loop, from the first row: nproc / loops per second */
static int n_lat_rows;

static void lat_one(lat_row_t *row, int item, int r)
{
    if (item == 0) {
        uint64_t t0 = now_ns();
        urcu_memb_synchronize_rcu();
        row->en[0][r] = (double)(now_ns() - t0);
        return;
    }
    int p = item - 1;
    lp_transition_status_t s0, s1;
    lp_transition_status(&s0);
    uint64_t t0 = now_ns();
    int rc = lp_patch_enable(p_lat[p]);
    if (rc) die("lp_patch_enable(latency)", rc);
    rc = lp_transition_wait(opt.timeout_ns);
    uint64_t t1 = now_ns();
    if (rc == -ETIMEDOUT) {
        row->timeouts[item]++;
        lp_transition_force();
    } else if (rc) die("lp_transition_wait(latency)", rc);
    lp_transition_status(&s1);
    /* A timed-out sample counts as its (lower-bound) time, not as missing:
     * dropping it would bias the median down. */
    row->en[item][r] = (double)(t1 - t0);
    row->holds[item] += (double)(s1.hold_attempts - s0.hold_attempts);
    row->hold_timeouts[item] += (double)(s1.hold_timeouts - s0.hold_timeouts);
    row->checks[item] += (double)(s1.checks - s0.checks);
    /* Back to the start for the next round: disable, untimed, and forced
     * rather than waited for. The busy threads check no invariant, and a
     * wait would double the section's time (DESIGN's latency is the
     * enabling one); whatever activations the force cut short only make the
     * next transition wait for them, as a normal completion would. */
    if ((rc = lp_patch_disable(p_lat[p]))) die("lp_patch_disable(latency)", rc);
    if ((rc = lp_transition_force())) die("lp_transition_force(latency)", rc);
}

static void section_latency(void)
{
    for (int i = 0; i < N_PRESETS; i++) {
        char name[48];
        snprintf(name, sizeof name, "hb-lat-%.31s", presets[i].name);
        p_lat[i] = make_patch(name, presets[i].model, f_lat);
    }
    uint64_t section_start = now_ns(), budget = (uint64_t)(opt.lat_budget_s * 1e9);
    for (int ti = 0; ti < opt.n_lat_threads; ti++) {
        int T = opt.lat_threads[ti];
        lat_row_t *row = &lat_rows[n_lat_rows++];
        memset(row, 0, sizeof *row);
        row->threads = T;
        busy_t *bt = calloc((size_t)T, sizeof *bt);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        __atomic_store_n(&lat.stop, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&lat.ready, 0, __ATOMIC_RELAXED);
        lat.burst_ns = (uint64_t)(opt.lat_burst_us * 1000);
        hb_work = opt.lat_work;
        int started = 0;
        uint64_t t_load = now_ns();
        for (int i = 0; i < T; i++) {
            bt[i].idx = i;
            bt[i].kern = i % 2;
            if (pthread_create(&bt[i].th, &attr, busy_main, &bt[i]) != 0) break;
            started++;
        }
        pthread_attr_destroy(&attr);
        if (started < T) fprintf(stderr, "hookbench: only %d of %d busy threads started\n", started, T);
        row->threads = started;
        while (__atomic_load_n(&lat.ready, __ATOMIC_ACQUIRE) < started) sleep_ns(1000000);
        sleep_ns(50000000); /* let the load settle */

        /* Rounds: every item once per round. The budget is soft: the minimum
         * number of rounds always runs; more only while time is left. The
         * share of the budget grows with the thread count (more threads,
         * slower transitions). */
        uint64_t share_start = now_ns();
        int weight_total = 0, weight_here = 0;
        for (int k = ti; k < opt.n_lat_threads; k++) weight_total += k + 1;
        weight_here = ti + 1;
        uint64_t left = now_ns() - section_start < budget ? budget - (now_ns() - section_start) : 0;
        uint64_t share = left / (uint64_t)weight_total * (uint64_t)weight_here;
        int min_rounds = opt.lat_reps < 5 ? opt.lat_reps : 5;
        for (int item = 0; item < LAT_ITEMS; item++)
            for (int k = 0; k < MAX_REPS; k++) row->en[item][k] = NAN;
        int r, cut = 0;
        for (r = 0; r < opt.lat_reps && !cut; r++) {
            if (r >= min_rounds && now_ns() - share_start > share) break;
            /* rotated, so that no item always follows the same one */
            for (int k = 0; k < LAT_ITEMS; k++) {
                /* Hard stop at 1.5x the budget, even inside the minimum
                 * rounds (a pathologically slow engine must not hold CI). */
                if (now_ns() - section_start > budget + budget / 2) {
                    cut = 1;
                    break;
                }
                lat_one(row, (k + r) % LAT_ITEMS, r);
            }
        }
        row->rounds = r;
        row->cut = cut;
        if (cut) fprintf(stderr, "hookbench: latency budget exhausted at %d threads, after %d rounds\n", started, r);
        __atomic_store_n(&lat.stop, 1, __ATOMIC_RELAXED);
        double span = (double)(now_ns() - t_load);
        uint64_t loops = 0;
        for (int i = 0; i < started; i++) {
            pthread_join(bt[i].th, NULL);
            loops += bt[i].loops;
        }
        row->loops_per_s = (double)loops / (span / 1e9);
        if (ti == 0) lat_loop_us = 1e6 * (double)sysconf(_SC_NPROCESSORS_ONLN) / row->loops_per_s;
        hb_work = 0;
        free(bt);
    }

    printf("\n== transition latency under load: ms, median of the rounds; busy threads call the hook in a loop, half "
           "of them inside kernel sections, all inside urcu_memb read sections; load: %s ==\n",
           load_names[opt.lat_load]);
    if (opt.lat_load != LOAD_BUSY)
        printf("  (no thread sleeps; each yields the CPU after every %.0f us of calls, %s its sections)\n",
               opt.lat_burst_us, opt.lat_load == LOAD_INSIDE ? "inside" : "outside");
    printf("  (each call: %d spins inside the section, as many outside; ~%.2f us per loop = nproc / loops per second)\n",
           opt.lat_work, lat_loop_us);
    printf("  %-22s", "busy threads");
    for (int i = 0; i < n_lat_rows; i++) printf(" %19d", lat_rows[i].threads);
    printf("\n");
    for (int item = 0; item < LAT_ITEMS; item++) {
        char label[64];
        if (item == 0) snprintf(label, sizeof label, "synchronize_rcu");
        else snprintf(label, sizeof label, "enable+wait %s", presets[item - 1].name);
        printf("  %-22s", label);
        for (int i = 0; i < n_lat_rows; i++) {
            lat_row_t *row = &lat_rows[i];
            double m = median(row->en[item], row->rounds) / 1e6;
            double rr = item ? ratio_median(row->en[item], row->en[0], row->rounds) : 1.0;
            char cell[40];
            if (row->timeouts[item]) snprintf(cell, sizeof cell, "%.2f x%.1f T/O%d", m, rr, row->timeouts[item]);
            else if (item) snprintf(cell, sizeof cell, "%.3f (x%.1f)", m, rr);
            else snprintf(cell, sizeof cell, "%.3f", m);
            printf(" %19s", cell);
        }
        printf("\n");
    }
    printf("  %-22s", "rounds / busy Mloop/s");
    for (int i = 0; i < n_lat_rows; i++) {
        char cell[40];
        snprintf(cell, sizeof cell, "%d%s / %.1f", lat_rows[i].rounds, lat_rows[i].cut ? " (cut)" : "",
                 lat_rows[i].loops_per_s / 1e6);
        printf(" %19s", cell);
    }
    printf("\n  (x = median of the per-round ratios enable+wait / synchronize_rcu at the same load; T/O = timeouts, "
           "forced)\n");

    for (int i = 0; i < n_lat_rows; i++) {
        lat_row_t *row = &lat_rows[i];
        for (int item = 0; item < LAT_ITEMS; item++) {
            if (js_latency.len) sb_printf(&js_latency, ",\n    ");
            sb_printf(&js_latency, "{\"threads\": %d, \"item\": \"%s\", \"rounds\": %d, \"enable_wait_ns\": ",
                      row->threads, item ? presets[item - 1].name : "synchronize_rcu", row->rounds);
            sb_num(&js_latency, median(row->en[item], row->rounds));
            sb_spread(&js_latency, "ratio_rcu", ratio_spread(row->en[item], row->en[0], row->rounds));
            sb_printf(&js_latency, ", \"timeouts\": %d, \"hold_attempts\": %.0f, \"hold_timeouts\": %.0f, "
                                   "\"checks\": %.0f, \"busy_loops_per_s\": %.0f, "
                                   "\"samples_ns\": ",
                      row->timeouts[item], row->holds[item], row->hold_timeouts[item], row->checks[item],
                      row->loops_per_s);
            sb_array(&js_latency, row->en[item], row->rounds);
            sb_printf(&js_latency, "}");
        }
    }
}

static void targets_latency(void)
{
    for (int item = 1; item < LAT_ITEMS; item++) {
        int v = V_MET, timeouts = 0;
        char detail[320] = "", cell[48];
        size_t len = 0;
        for (int i = 0; i < n_lat_rows && len < sizeof detail; i++) {
            lat_row_t *row = &lat_rows[i];
            spread_t rr = ratio_spread(row->en[item], row->en[0], row->rounds);
            timeouts += row->timeouts[item];
            v = verdict_and(v, verdict(rr, 2.0));
            len += (size_t)snprintf(detail + len, sizeof detail - len, "%s%d: %s", i ? ", " : "", row->threads,
                                    fmt_spread(cell, sizeof cell, rr));
        }
        char id[48];
        snprintf(id, sizeof id, "latency<=2xrcu:%.31s", presets[item - 1].name);
        target(id, timeouts ? V_MISSED : v,
               "%s enable+wait <= 2x synchronize_rcu under the same load, by busy threads: %s%s",
               presets[item - 1].name, detail, timeouts ? "; with timeouts" : "");
    }
}

/* ---- section: memory ---------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int phase, done;
    lp_func_t *f;
    uint64_t lazy_allocs; /* heap allocations made by the first hooks that registered lazily */
} mem = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, 0};

enum { MEM_REGISTER_NAMED = 1, MEM_REGISTER_NULL = 2, MEM_CALL = 3, MEM_QUIT = 4 };

/* A parked thread of the memory section: arg 1 registers under a name of its
 * own, arg 0 lazily, through its first lp_func_enter (the engine's default
 * name "tid-N"). */
static void *mem_main(void *arg)
{
    int named = arg != NULL;
    /* Touch the stack the registration will use before the baseline, so that
     * its pages are not counted as the engine's. */
    volatile char stack_touch[16384];
    memset((char *)stack_touch, 1, sizeof stack_touch);
    int seen = 0, registered = 0;
    pthread_mutex_lock(&mem.mu);
    mem.done++;
    pthread_cond_broadcast(&mem.cv);
    for (;;) {
        while (mem.phase == seen) pthread_cond_wait(&mem.cv, &mem.mu);
        seen = mem.phase;
        pthread_mutex_unlock(&mem.mu);
        if (seen == MEM_REGISTER_NAMED && named) {
            char name[LP_THREAD_NAME_MAX];
            snprintf(name, sizeof name, "hb-mem-%p", (void *)&name);
            registered = lp_thread_register(name) == 0;
        } else if (seen == MEM_REGISTER_NULL && !named) {
            uint64_t a0 = hb_alloc_count;
            hb_alloc_counting = 1;
            ((void (*)(void))(uintptr_t)lp_func_enter(f_plain))(); /* registers */
            lp_func_exit(f_plain);
            hb_alloc_counting = 0;
            __atomic_fetch_add(&mem.lazy_allocs, hb_alloc_count - a0, __ATOMIC_RELAXED);
            registered = 1;
        } else if (seen == MEM_CALL && registered) {
            ((void (*)(void))(uintptr_t)lp_func_enter(mem.f))();
            lp_func_exit(mem.f);
        }
        pthread_mutex_lock(&mem.mu);
        if (seen == MEM_QUIT) break;
        mem.done++;
        pthread_cond_broadcast(&mem.cv);
    }
    pthread_mutex_unlock(&mem.mu);
    if (registered) lp_thread_unregister();
    return NULL;
}

static void mem_phase(int phase, int n)
{
    pthread_mutex_lock(&mem.mu);
    mem.done = 0;
    mem.phase = phase;
    pthread_cond_broadcast(&mem.cv);
    while (phase != MEM_QUIT && mem.done < n) pthread_cond_wait(&mem.cv, &mem.mu);
    pthread_mutex_unlock(&mem.mu);
}

static long settled_rss(void)
{
    sleep_ns(20000000);
    return rss_bytes();
}

static void section_memory(void)
{
    /* 1. Functions, first, while the heap has no freed memory to reuse:
     * register opt.mem_funcs of them. */
    int F = opt.mem_funcs;
    long f0 = settled_rss();
    for (int i = 0; i < F; i++) {
        char name[32];
        snprintf(name, sizeof name, "hb_memfn_%05d", i);
        reg_func(name);
    }
    long f1 = settled_rss();
    double per_func = (double)(f1 - f0) / F;

    /* 2. Threads: opt.mem_threads registering under a name, as many with
     * NULL, all created and parked before the baseline; each half registers
     * in its own phase, so each touches thread slots never used before. */
    int N = opt.mem_threads;
    pthread_t *th = calloc((size_t)(2 * N), sizeof *th);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    mem.done = 0;
    int started = 0;
    for (int i = 0; i < 2 * N; i++) {
        if (pthread_create(&th[i], &attr, mem_main, i < N ? (void *)1 : NULL) != 0) break;
        started++;
    }
    pthread_attr_destroy(&attr);
    if (started < 2 * N) die("pthread_create(memory)", -EAGAIN);
    pthread_mutex_lock(&mem.mu);
    while (mem.done < started) pthread_cond_wait(&mem.cv, &mem.mu);
    pthread_mutex_unlock(&mem.mu);

    long r0 = settled_rss();
    mem_phase(MEM_REGISTER_NAMED, started);
    long r1 = settled_rss();
    mem_phase(MEM_REGISTER_NULL, started);
    long r2 = settled_rss();
    double per_named = (double)(r1 - r0) / N, per_null = (double)(r2 - r1) / N;

    /* 3. Per-transition counters: a PATCHED_SET x FUNCTION transition counts
     * per thread and function; each parked thread calls the function once
     * while it is in flight, which touches its counter row. */
    mem.f = reg_func("hb_mem_counted");
    lp_patch_t *pc = make_patch("hb-mem-counted", lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION), mem.f);
    int rc = lp_patch_enable(pc);
    if (rc) die("lp_patch_enable(memory)", rc);
    long r3 = settled_rss();
    mem_phase(MEM_CALL, started);
    long r4 = settled_rss();
    finish_transition("memory");
    if ((rc = lp_patch_disable(pc))) die("lp_patch_disable(memory)", rc);
    finish_transition("memory");
    double per_row = (double)(r4 - r3) / started;

    mem_phase(MEM_QUIT, started);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);

    printf("\n== memory: RSS deltas, page-granular (documented: 256 B per thread record, 128 B per function "
           "record + its name) ==\n");
    printf("  %-58s %8.0f B/thread   (%ld KiB for %d)\n", "registering parked threads, with a name", per_named,
           (r1 - r0) / 1024, N);
    printf("  %-58s %8.0f B/thread   (%ld KiB for %d)\n", "registering parked threads lazily, by a first hook",
           per_null, (r2 - r1) / 1024, N);
    if (hb_alloc_supported)
        printf("  %-58s %8.1f per thread\n", "  heap allocations made by that first hook",
               (double)mem.lazy_allocs / N);
    printf("  %-58s %8.0f B/thread   (%ld KiB for %d)\n", "SWITCH_FUNCTION counter row touched (1-function patch)",
           per_row, (r4 - r3) / 1024, started);
    printf("  %-58s %8.0f B/function (%ld KiB for %d)\n", "registering functions", per_func, (f1 - f0) / 1024, F);
    sb_printf(&js_memory,
              "{\"threads\": %d, \"bytes_per_thread_named\": %.1f, \"rss_delta_named\": %ld, "
              "\"bytes_per_thread_lazy\": %.1f, \"rss_delta_lazy\": %ld, \"allocations_per_lazy_registration\": %.2f, "
              "\"counter_row_bytes_per_thread\": %.1f, \"rss_delta_counter_rows\": %ld, "
              "\"functions\": %d, \"bytes_per_function\": %.1f, \"rss_delta_functions\": %ld, "
              "\"documented_thread_record_bytes\": 256, \"documented_function_record_bytes\": 128}",
              N, per_named, r1 - r0, per_null, r2 - r1, hb_alloc_supported ? (double)mem.lazy_allocs / N : -1.0,
              per_row, r4 - r3, F, per_func, f1 - f0);
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t t_start = now_ns();
    if (lp_abi_version() != LP_ABI_VERSION) {
        fprintf(stderr, "hookbench: library ABI %d, header %d\n", lp_abi_version(), LP_ABI_VERSION);
        return 2;
    }
    int rc = lp_thread_register("hb-main");
    if (rc) die("lp_thread_register(main)", rc);
    describe_models();
    f_plain = reg_func("hb_plain");
    f_steady = reg_func("hb_steady");
    f_tx = reg_func("hb_tx");
    f_lat = reg_func("hb_lat");
    if (opt.count_key) {
        count_one();
        lp_thread_unregister();
        return 0;
    }
    read_machine();
    printf("hookbench (%s library): %s, nproc %ld, load average %.2f at start%s\n", opt.variant, cpu_model,
           sysconf(_SC_NPROCESSORS_ONLN), load_at_start, opt.quick ? ", --quick" : "");

    /* Memory first: its RSS deltas need thread slots never touched before. */
    if (opt.do_memory) section_memory();
    if (opt.do_hooks) section_hooks();
    if (opt.do_hooks) report_cyg();
    if (opt.do_scaling) section_scaling();
    if (opt.do_latency) section_latency();

    printf("\n== targets (DESIGN.md section 6), %s library ==\n", opt.variant);
    if (opt.do_hooks) targets_hooks();
    if (opt.do_scaling) targets_scaling();
    if (opt.do_latency) targets_latency();
    printf("%d of %d targets met, %d unsure (%s library)\n", n_met, n_targets, n_unsure, opt.variant);
    double total_s = (double)(now_ns() - t_start) / 1e9;
    printf("total %.1f s\n", total_s);

    if (opt.json) {
        FILE *f = fopen(opt.json, "w");
        if (!f) {
            perror(opt.json);
            return 2;
        }
        fprintf(f,
                "{\n  \"variant\": \"%s\", \"nproc\": %ld, \"cpu_model\": \"%s\", \"load_at_start\": %.2f, "
                "\"quick\": %s, \"reps\": %d, \"rep_ms\": %.1f, \"latency_reps\": %d, \"seconds\": %.2f,\n",
                opt.variant, sysconf(_SC_NPROCESSORS_ONLN), cpu_model, load_at_start, opt.quick ? "true" : "false",
                opt.reps, opt.rep_ms, opt.lat_reps, total_s);
        fprintf(f, "  \"hooks\": [\n    %s\n  ],\n", js_hooks.p ? js_hooks.p : "");
        fprintf(f, "  \"cyg\": [\n    %s\n  ],\n", js_cyg.p ? js_cyg.p : "");
        fprintf(f, "  \"scaling\": [\n    %s\n  ],\n", js_scaling.p ? js_scaling.p : "");
        fprintf(f, "  \"latency\": [\n    %s\n  ],\n", js_latency.p ? js_latency.p : "");
        fprintf(f, "  \"memory\": %s,\n", js_memory.p ? js_memory.p : "null");
        fprintf(f, "  \"targets\": [\n    %s\n  ],\n", js_targets.p ? js_targets.p : "");
        fprintf(f, "  \"targets_met\": %d, \"targets_unsure\": %d, \"targets_counted\": %d\n}\n", n_met, n_unsure,
                n_targets);
        fclose(f);
    }
    if (opt.tsv) {
        FILE *f = fopen(opt.tsv, "w");
        if (!f) {
            perror(opt.tsv);
            return 2;
        }
        fputs(tsv.p ? tsv.p : "", f);
        fclose(f);
    }
    lp_thread_unregister();
    return 0;
}
