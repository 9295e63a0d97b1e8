/* hookbench section "latency": lp_patch_enable + lp_transition_wait per
 * preset, beside one urcu_memb_synchronize_rcu(), under busy threads. */
#include "hb_driver.h"

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

#include <urcu/urcu-memb.h>

static lp_patch_t *p_lat[N_PRESETS];

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

void section_latency(void)
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

void targets_latency(void)
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
