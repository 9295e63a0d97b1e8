/*
 * The bare torture program's front end (lp_torture_main, see lp_torture.h):
 * a strict argv parser that fills the options for lp_torture_check.
 */
#include "torture.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [options]\n"
            "  --threads N        pthreads running workloads, 16..4096 (default 256)\n"
            "  --duration S       seconds to run, at most a year (default 30)\n"
            "  --seed N           PRNG seed (default: from the clock; printed)\n"
            "  --models LIST      all (default), or presets/cells, each once: KGRAFT,RENEW,patched_set-thread,...\n"
            "  --inject-bug KIND  break the protocol on purpose; 'list' names the kinds\n"
            "  --no-nudges        do not nudge stalled sleepers (no long sleeps either)\n"
            "  --bound-ms N       a transition that takes longer is a hang, 1..3600000\n"
            "                     (default 5000; at least 5 ms per thread)\n"
            "  --json FILE        also write the results as JSON ('-': stdout, the tables then go to stderr)\n"
            "  --no-progress      no progress bar, even on a TTY\n"
            "Simulation (deterministic interleavings: one thread runs at a time, virtual time):\n"
            "  --sim              one transition per run under lp_sim_*, seeds --seed (default 1) onwards\n"
            "  --runs N           runs per strategy, 1..10000000 (default 200)\n"
            "  --strategy S       random, pct or both (default both)\n"
            "  --pct-depth D      PCT bug depth: D-1 priority change points, 1..16 (default 3)\n"
            "  --pct-horizon N    PCT: steps over which change points fall (default 250)\n"
            "  --sim-threads N    workload threads besides the patcher, 1..16 (default 4)\n"
            "  --steps N          step budget of a run (default 200000)\n"
            "  --workload-seed W  draw every run's workload and transition from W: only the schedule varies\n"
            "  --replay SEED      rerun one seed (same other flags) and print its hash and result\n"
            "  --verbose          print every run\n"
            "Numbers are decimal. A bad option prints one line and exits 64.\n"
            "Records: each thread keeps its last N calls of a round (N from a 256 MiB budget);\n"
            "older ones are overwritten and reported as lost, never judged.\n",
            prog);
}

/* A whole decimal number: no sign, no blank, no trailing text, no overflow. */
static int parse_u64(const char *s, uint64_t *v)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return *end || errno ? -1 : 0;
}

static int parse_double(const char *s, double *v)
{
    if (!*s || *s == ' ' || (*s >= '\t' && *s <= '\r'))
        return -1;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *end || errno ? -1 : 0;
}

/* --inject-bug list */
static int list_bugs(void)
{
    const char *what;
    for (unsigned i = 0; lp_torture_bug_name(i, &what); i++)
        printf("%-20s %s\n", lp_torture_bug_name(i, NULL), what);
    return 0;
}

int lp_torture_main(int argc, char **argv)
{
    lp_torture_options_t o = { .prog = argv[0] };
    static const struct option opts[] = {
        { "threads", required_argument, 0, 't' }, { "duration", required_argument, 0, 'd' },
        { "seed", required_argument, 0, 's' },    { "models", required_argument, 0, 'm' },
        { "inject-bug", required_argument, 0, 'i' }, { "no-nudges", no_argument, 0, 'n' },
        { "bound-ms", required_argument, 0, 'b' }, { "json", required_argument, 0, 'j' },
        { "no-progress", no_argument, 0, 'p' },    { "help", no_argument, 0, 'h' },
        { "sim", no_argument, 0, 'S' },           { "runs", required_argument, 0, 'R' },
        { "strategy", required_argument, 0, 'T' }, { "pct-depth", required_argument, 0, 'D' },
        { "pct-horizon", required_argument, 0, 'H' }, { "sim-threads", required_argument, 0, 'W' },
        { "steps", required_argument, 0, 'B' },   { "replay", required_argument, 0, 'P' },
        { "verbose", no_argument, 0, 'V' },      { "workload-seed", required_argument, 0, 'L' },
        { 0, 0, 0, 0 },
    };
    /* The numeric options: where each goes and its bit in `given`. */
    const struct { int c; uint64_t *v; unsigned bit; } numbers[] = {
        { 't', &o.threads, LP_TORTURE_THREADS },          { 'b', &o.bound_ms, LP_TORTURE_BOUND_MS },
        { 's', &o.seed, LP_TORTURE_SEED },                { 'R', &o.runs, LP_TORTURE_RUNS },
        { 'D', &o.pct_depth, LP_TORTURE_PCT_DEPTH },      { 'H', &o.pct_horizon, LP_TORTURE_PCT_HORIZON },
        { 'W', &o.sim_threads, LP_TORTURE_SIM_THREADS },  { 'B', &o.steps, LP_TORTURE_STEPS },
        { 'L', &o.workload_seed, LP_TORTURE_WORKLOAD_SEED }, { 'P', &o.replay, LP_TORTURE_REPLAY },
    };
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's message and the usage */
    for (int c, li = 0; (c = getopt_long(argc, argv, ":", opts, &li)) != -1;) {
        size_t k;
        for (k = 0; k < sizeof numbers / sizeof *numbers && numbers[k].c != c; k++)
            ;
        if (k < sizeof numbers / sizeof *numbers) {
            if (parse_u64(optarg, numbers[k].v) != 0) {
                fprintf(stderr, "torture: --%s: '%s' is not a whole number in 0..%" PRIu64 "\n", opts[li].name,
                        optarg, UINT64_MAX);
                return LP_TORTURE_EX_USAGE;
            }
            o.given |= numbers[k].bit;
            continue;
        }
        switch (c) {
        case 'd':
            if (parse_double(optarg, &o.duration) != 0) {
                fprintf(stderr, "torture: --duration: '%s' is not a number of seconds\n", optarg);
                return LP_TORTURE_EX_USAGE;
            }
            o.given |= LP_TORTURE_DURATION;
            break;
        case 'S': o.sim = 1; break;
        case 'T': o.strategy = optarg; break;
        case 'V': o.verbose = 1; break;
        case 'm': o.models = optarg; break;
        case 'i': o.inject_bug = optarg; break;
        case 'n': o.no_nudges = 1; break;
        case 'j': o.json = optarg; break;
        case 'p': o.no_progress = 1; break;
        case 'h': usage(stdout, argv[0]); return 0;
        case ':':
            fprintf(stderr, "torture: %s needs a value (--help lists the options)\n", argv[optind - 1]);
            return LP_TORTURE_EX_USAGE;
        default:
            fprintf(stderr, "torture: unknown option '%s' (--help lists the options)\n", argv[optind - 1]);
            return LP_TORTURE_EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "torture: unexpected argument '%s' (--help lists the options)\n", argv[optind]);
        return LP_TORTURE_EX_USAGE;
    }
    if (o.inject_bug && strcmp(o.inject_bug, "list") == 0)
        return list_bugs();
    char msg[512];
    if (lp_torture_check(&o, msg, sizeof msg) != 0) {
        fprintf(stderr, "torture: %s\n", msg);
        return LP_TORTURE_EX_USAGE;
    }
    return lp_torture_run(&o);
}
