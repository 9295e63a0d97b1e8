/*
 * lp_torture.h — the torture harness, in the spirit of rcutorture: many real
 * pthreads call patched functions while a driver runs random transitions
 * over every consistency model, and a checker verifies invariants I0-I3
 * (DESIGN.md section 2) on what the threads recorded.
 *
 * It uses only the public C ABI (<livepatch.h>), so it runs the same linked
 * into the `livepatch` CLI (livepatch torture ...) and as a bare C program
 * against liblivepatch.a (standalone/torture_main.c).
 *
 * Two front ends fill one lp_torture_options_t: the bare program's argv
 * parser (lp_torture_main) and the CLI's swift-argument-parser command. Both
 * then call lp_torture_check, so every range and every combination of
 * options is judged in one place, before anything runs.
 */
#ifndef LP_TORTURE_H
#define LP_TORTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The process exit status of a usage error (sysexits.h's EX_USAGE), the same
 * as swift-argument-parser's. */
#define LP_TORTURE_EX_USAGE 64

/* Bits of lp_torture_options_t.given: the options the user gave. An option
 * that is not given takes its default; one that is given must be in range
 * and must apply to the mode (--sim or not). */
enum {
    LP_TORTURE_THREADS = 1 << 0,
    LP_TORTURE_DURATION = 1 << 1,
    LP_TORTURE_BOUND_MS = 1 << 2,
    LP_TORTURE_SEED = 1 << 3,
    LP_TORTURE_RUNS = 1 << 4,
    LP_TORTURE_PCT_DEPTH = 1 << 5,
    LP_TORTURE_PCT_HORIZON = 1 << 6,
    LP_TORTURE_SIM_THREADS = 1 << 7,
    LP_TORTURE_STEPS = 1 << 8,
    LP_TORTURE_WORKLOAD_SEED = 1 << 9,
    LP_TORTURE_REPLAY = 1 << 10,
};

#define LP_TORTURE_SIM_THREADS_MAX 16

typedef struct lp_torture_options {
    /* ---- what the user gave (see lp_torture_main's --help for each); numbers
     * are as wide as a parser can read them, so that lp_torture_check, not a
     * narrowing conversion, judges the range ---- */
    const char *prog;        /* names the command in replay hints: "livepatch torture" */
    unsigned given;          /* LP_TORTURE_* bits */
    uint64_t threads;        /* 16..4096, default 256 */
    double duration;         /* seconds, finite, > 0 and at most a year, default 30 */
    uint64_t bound_ms;       /* 1..3600000, default 5000 (raised to 5 ms per thread) */
    uint64_t seed;           /* default: from the clock (threaded), 1 (--sim) */
    const char *models;      /* NULL or "all": every cell and preset; else a comma list */
    const char *inject_bug;  /* NULL, a bug name, or "list" */
    const char *json;        /* NULL, a path, or "-" (stdout; the text then goes to stderr) */
    int no_nudges, no_progress;
    int sim;                 /* the options below need it, and --threads, --duration, --bound-ms, --json exclude it */
    uint64_t runs;           /* 1..10000000, default 200 */
    const char *strategy;    /* NULL (both), "random", "pct", "both" */
    uint64_t pct_depth;      /* 1..16, default 3 */
    uint64_t pct_horizon;    /* >= 1, default 250 */
    uint64_t sim_threads;    /* 1..LP_TORTURE_SIM_THREADS_MAX, default 4 */
    uint64_t steps;          /* >= 1, default 200000 */
    uint64_t workload_seed;
    uint64_t replay;         /* the seed to replay; needs --strategy random or pct */
    int verbose;

    /* ---- filled by lp_torture_check ---- */
    int strategies;          /* bit 1 << LP_SIM_RANDOM, 1 << LP_SIM_PCT */
    int inject;              /* LP_BUG_* */
    size_t nmodels;
    uint32_t model_ids[18];  /* lp_model_t (this header stays importable without livepatch.h) */
    const char *model_names[18];
    FILE *json_out;          /* opened before the run: an unwritable path is a usage error */
    FILE *text;              /* the tables: stdout, or stderr when the JSON goes to stdout */
} lp_torture_options_t;

/* Applies the defaults, judges every given option, resolves names and opens
 * the JSON output. 0, or LP_TORTURE_EX_USAGE with a one-line reason (no
 * newline) in msg. `--inject-bug list` is for lp_torture_main; here it is an
 * unknown bug. */
int lp_torture_check(lp_torture_options_t *o, char *msg, size_t len);

/* Runs a checked configuration and prints its summary (on `text`, the JSON
 * on json_out, closed then unless it is stdout); returns the process exit
 * status: 0 clean, 1 violations, unexplained hangs or a failure to set up. */
int lp_torture_run(lp_torture_options_t *o);

/* The bare program: parses argv strictly (see --help), checks, runs. A usage
 * error prints one line on stderr and returns LP_TORTURE_EX_USAGE. */
int lp_torture_main(int argc, char **argv);

/* The injectable bugs, for --inject-bug list: name and what it breaks; NULL
 * past the last. */
const char *lp_torture_bug_name(unsigned i, const char **what);

#endif
