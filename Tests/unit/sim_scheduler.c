/*
 * The simulation scheduler on its own (lp_sim_*): the same seed gives the
 * same order and hash, different seeds give different orders, waits block
 * and wake in virtual time, a deadlock and a spent budget are reported and
 * let go, and misuse is answered with errors.
 */
#include "check.h"
#include <livepatch/sim.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define NT 3
#define POINTS 20

static int trace[NT * POINTS + 8];
static int ntrace;

struct run {
    uint64_t hash;
    int outcome;
    int trace[NT * POINTS + 8];
    int n;
};

static void *tracer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    if (lp_sim_thread_join(id) != 0)
        return NULL;
    for (int i = 0; i < POINTS; i++) {
        trace[ntrace++] = (int)id; /* one thread at a time: no lock */
        lp_sim_point(LP_SIM_OTHER);
    }
    lp_sim_thread_leave();
    return NULL;
}

static int run_threads(const lp_sim_config_t *cfg, void *(*fn)(void *), lp_sim_result_t *res)
{
    pthread_t th[LP_SIM_MAX_THREADS];
    ntrace = 0;
    int rc = lp_sim_start(cfg);
    if (rc != 0)
        return rc;
    for (unsigned i = 0; i < cfg->threads; i++)
        pthread_create(&th[i], NULL, fn, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < cfg->threads; i++)
        pthread_join(th[i], NULL);
    return lp_sim_stop(res);
}

static struct run trace_run(uint64_t seed, int strategy)
{
    lp_sim_config_t cfg = { .seed = seed, .strategy = strategy, .pct_depth = 3, .threads = NT, .pct_horizon = NT * POINTS };
    lp_sim_result_t res = { 0 };
    struct run r = { 0 };
    if (run_threads(&cfg, tracer, &res) != 0)
        r.outcome = -1;
    else
        r.outcome = res.outcome;
    r.hash = res.hash;
    r.n = ntrace;
    memcpy(r.trace, trace, sizeof trace);
    return r;
}

static void check_strategy(int strategy, const char *name)
{
    char what[128];
    struct run a = trace_run(42, strategy), b = trace_run(42, strategy);
    snprintf(what, sizeof what, "%s: a run completes with every point traced", name);
    check(a.outcome == LP_SIM_DONE && a.n == NT * POINTS, what);
    snprintf(what, sizeof what, "%s: the same seed gives the same order and hash", name);
    check(a.hash == b.hash && a.n == b.n && memcmp(a.trace, b.trace, sizeof a.trace) == 0, what);
    int distinct_order = 0, distinct_hash = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct run c = trace_run(seed, strategy);
        distinct_order |= memcmp(a.trace, c.trace, sizeof a.trace) != 0;
        distinct_hash |= c.hash != a.hash;
    }
    snprintf(what, sizeof what, "%s: other seeds give other orders and hashes", name);
    check(distinct_order && distinct_hash, what);
}

/* Thread 0 waits for a flag that thread 1 sets; thread 2 waits out a timeout. */
static uint32_t flag;
static int wait_rc[3];
static uint64_t waited_ns;

static void *waiter(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    lp_sim_thread_join(id);
    if (id == 0) {
        wait_rc[0] = 0;
        while (__atomic_load_n(&flag, __ATOMIC_RELAXED) == 0 && wait_rc[0] == 0)
            wait_rc[0] = lp_sim_wait(&flag, 0, 0);
    } else if (id == 1) {
        for (int i = 0; i < 5; i++)
            lp_sim_point(LP_SIM_OTHER);
        __atomic_store_n(&flag, 1, __ATOMIC_RELAXED);
        lp_sim_wake(&flag);
    } else {
        uint32_t never = 0;
        uint64_t t0 = lp_sim_now();
        wait_rc[2] = lp_sim_wait(&never, 0, 5000000);
        waited_ns = lp_sim_now() - t0;
    }
    lp_sim_thread_leave();
    return NULL;
}

/* Both wait for a word nobody sets: a deadlock, let go. */
static uint32_t stuck;
static void *deadlocker(void *arg)
{
    lp_sim_thread_join((unsigned)(uintptr_t)arg);
    lp_sim_wait(&stuck, 0, 0);
    lp_sim_thread_leave();
    return NULL;
}

static void *spinner(void *arg)
{
    lp_sim_thread_join((unsigned)(uintptr_t)arg);
    for (int i = 0; i < 100; i++)
        lp_sim_point(LP_SIM_OTHER);
    lp_sim_thread_leave();
    return NULL;
}

int main(void)
{
    lp_sim_result_t res;
    lp_sim_config_t bad = { .threads = 0 };
    check_rc("lp_sim_start(NULL)", lp_sim_start(NULL), -EINVAL);
    check_rc("lp_sim_start: 0 threads", lp_sim_start(&bad), -EINVAL);
    bad.threads = LP_SIM_MAX_THREADS + 1;
    check_rc("lp_sim_start: too many threads", lp_sim_start(&bad), -EINVAL);
    bad.threads = 2;
    bad.strategy = 7;
    check_rc("lp_sim_start: unknown strategy", lp_sim_start(&bad), -EINVAL);
    check_rc("lp_sim_thread_join with no run armed", lp_sim_thread_join(0), -ENOENT);
    check_rc("lp_sim_thread_leave on a thread that never joined", lp_sim_thread_leave(), -ENOENT);
    check_rc("lp_sim_stop with no run armed", lp_sim_stop(&res), -ENOENT);
    check_rc("lp_sim_wait(NULL)", lp_sim_wait(NULL, 0, 0), -EINVAL);
    lp_sim_point(LP_SIM_OTHER); /* outside a run: a no-op */
    uint32_t word = 1;
    check_rc("lp_sim_wait outside a run: a futex wait (value differs)", lp_sim_wait(&word, 0, 1000), -EAGAIN);

    lp_sim_config_t one = { .seed = 1, .threads = 1 };
    check_rc("lp_sim_start", lp_sim_start(&one), 0);
    check_rc("lp_sim_start while a run is armed", lp_sim_start(&one), -EBUSY);
    check_rc("lp_sim_stop before the threads left", lp_sim_stop(&res), -EBUSY);
    check_rc("lp_sim_thread_join: id out of range", lp_sim_thread_join(1), -EINVAL);
    check_rc("lp_sim_thread_join (the only thread: runs at once)", lp_sim_thread_join(0), 0);
    lp_sim_point(LP_SIM_OTHER);
    check_rc("lp_sim_thread_leave", lp_sim_thread_leave(), 0);
    check_rc("lp_sim_stop", lp_sim_stop(&res), 0);
    check(res.outcome == LP_SIM_DONE && res.steps == 3, "a one-thread run: join, point, leave");

    check_strategy(LP_SIM_RANDOM, "random");
    check_strategy(LP_SIM_PCT, "pct");

    lp_sim_config_t w = { .seed = 9, .threads = 3 };
    check_rc("a run with waits", run_threads(&w, waiter, &res), 0);
    check(res.outcome == LP_SIM_DONE, "waits: the run completes");
    check_rc("lp_sim_wait woken by lp_sim_wake", wait_rc[0], 0);
    check_rc("lp_sim_wait times out in virtual time", wait_rc[2], -ETIMEDOUT);
    check(waited_ns >= 5000000, "the virtual clock jumped to the timeout");

    lp_sim_config_t d = { .seed = 3, .threads = 2 };
    check_rc("a run that deadlocks", run_threads(&d, deadlocker, &res), 0);
    check(res.outcome == LP_SIM_DEADLOCK, "a deadlock is reported, and the threads let go");

    lp_sim_config_t b = { .seed = 3, .threads = 2, .max_steps = 10 };
    check_rc("a run over its budget", run_threads(&b, spinner, &res), 0);
    check(res.outcome == LP_SIM_BUDGET && res.steps == 11, "a spent budget is reported, and the threads let go");
    return check_summary();
}
