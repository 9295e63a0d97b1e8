/*
 * hookbench — swift-livepatch's hooks next to their baselines, in one run.
 *
 * docs/DESIGN.md section 6 states speed as ratios measured in one run on one
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
 *   funcs    the hook pair cycling over 1..4096 hot functions, 1 and 2 threads
 *   scaling  per-thread throughput at 1, 2, nproc and 2*nproc threads
 *   latency  lp_patch_enable + lp_transition_wait per preset, next to one
 *            urcu_memb_synchronize_rcu(), under 16..1024 busy threads
 *
 * Each section lives in a folder of its own (hooks/, scaling/ for funcs and
 * scaling, latency/, memory/); this file parses the options, runs the
 * sections in order and writes the JSON and TSV.
 *
 * This is a benchmark, not a test: it asserts nothing about time. It exits
 * non-zero only when the library misbehaves (an API call fails).
 */
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

#include "hb.h"

/* ---- options --------------------------------------------------------------- */

const char *load_names[] = {"inside", "outside", "busy"};

hb_options_t opt;

static void usage(int rc)
{
    fprintf(rc ? stderr : stdout,
            "usage: hookbench [--quick] [--json FILE] [--tsv FILE] [--variant NAME]\n"
            "                 [--sections memory,hooks,funcs,scaling,latency] [--reps N] [--rep-ms MS]\n"
            "                 [--lat-threads 16,64,...] [--lat-reps N] [--lat-budget-s S]\n"
            "                 [--lat-load inside|outside|busy] [--lat-burst-us US] [--lat-work SPINS]\n"
            "       hookbench --count ROW [--count-iters N]   (one row's loop, for callgrind)\n"
            "See Benchmarks/README.md.\n");
    exit(rc);
}

static void parse_args(int argc, char **argv)
{
    opt.variant = "static";
    opt.do_memory = opt.do_hooks = opt.do_funcs = opt.do_scaling = opt.do_latency = 1;
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
            opt.do_funcs = strstr(v, "funcs") != NULL;
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
    if (opt.do_funcs) section_funcs();
    if (opt.do_scaling) section_scaling();
    if (opt.do_latency) section_latency();

    printf("\n== targets (docs/DESIGN.md section 6), %s library ==\n", opt.variant);
    if (opt.do_hooks) targets_hooks();
    if (opt.do_funcs) targets_funcs();
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
        fprintf(f, "  \"funcs\": [\n    %s\n  ],\n", js_funcs.p ? js_funcs.p : "");
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
