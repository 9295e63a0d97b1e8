/*
 * The torture harness's options (see lp_torture.h): the one judge of
 * ranges, combinations, model and bug names and output paths that both
 * front ends (argv.c, the CLI) call before anything runs.
 */
#include "torture.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- bugs and models ----------------------------------------------------------- */

static const struct { const char *name; int kind; const char *what; } bugs[] = {
    { "skip-grace-period", LP_BUG_SKIP_GRACE_PERIOD, "no fence after publishing; activations that predate the transition are ignored" },
    { "switch-busy-thread", LP_BUG_SWITCH_BUSY_THREAD, "a thread inside an old activation counts as switched" },
    { "flip-busy-kernel", LP_BUG_FLIP_BUSY_KERNEL, "SWITCH_KERNEL flips the kernel-wide universe while the count is not zero" },
    { "handler-steady", LP_BUG_HANDLER_STEADY, "a signal handler that lands inside an outermost entry, before its epoch read, runs the steady implementation" },
    { "pad-not-written", LP_BUG_PAD_NOT_WRITTEN, "user-space ftrace: arming a pad reports success but leaves its NOPs (pad threads' calls neither counted nor redirected)" },
    { "stack-skip-frame", LP_BUG_STACK_SKIP_FRAME, "the stack walker skips the innermost hooked frame and the first frame above the interrupted one" },
};

const char *lp_torture_bug_name(unsigned i, const char **what)
{
    if (i >= sizeof bugs / sizeof *bugs)
        return NULL;
    if (what)
        *what = bugs[i].what;
    return bugs[i].name;
}

static int fail(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return LP_TORTURE_EX_USAGE;
}

/* Each model at most once, so the list never outgrows the NMODELS slots. */
static int pick_models(lp_torture_options_t *o, char *msg, size_t len)
{
    lp_model_t every[NMODELS];
    const char *every_names[NMODELS];
    size_t total = torture_models(every, every_names);
    o->nmodels = 0;
    if (!o->models || strcmp(o->models, "all") == 0) {
        /* The stack-checking presets only by name: they need the workload
         * built with frame pointers, and KPATCH_STACK's stop_machine never
         * finds every thread of this workload outside the set at once. */
        for (size_t i = 0; i < total; i++) {
            lp_model_info_t info;
            if (lp_model_describe(every[i], &info) == 0 && (info.switch_points & LP_MODEL_F_STACK_CHECK))
                continue;
            o->model_ids[o->nmodels] = every[i];
            o->model_names[o->nmodels++] = every_names[i];
        }
        return 0;
    }
    char known[384];
    model_name_list(every_names, total, known, sizeof known);
    int named[NMODELS] = { 0 };
    for (const char *tok = o->models;; tok++) {
        size_t tlen = strcspn(tok, ","), i;
        if (tlen == 0)
            return fail(msg, len, "--models: an empty name in '%s' (models: %s)", o->models, known);
        for (i = 0; i < total && !model_name_matches(every_names[i], tok, tlen); i++)
            ;
        if (i == total)
            return fail(msg, len, "--models: unknown model '%.*s' (models: %s; a cell's ' x ' may be written '-')",
                        (int)tlen, tok, known);
        if (named[i]++)
            return fail(msg, len, "--models: '%.*s' is named twice", (int)tlen, tok);
        o->model_ids[o->nmodels] = every[i];
        o->model_names[o->nmodels++] = every_names[i];
        tok += tlen;
        if (!*tok)
            return 0;
    }
}

/* ---- the judge ------------------------------------------------------------------ */

static const struct { unsigned bit; const char *name; } numeric[] = {
    { LP_TORTURE_THREADS, "--threads" },         { LP_TORTURE_DURATION, "--duration" },
    { LP_TORTURE_BOUND_MS, "--bound-ms" },       { LP_TORTURE_SEED, "--seed" },
    { LP_TORTURE_RUNS, "--runs" },               { LP_TORTURE_PCT_DEPTH, "--pct-depth" },
    { LP_TORTURE_PCT_HORIZON, "--pct-horizon" }, { LP_TORTURE_SIM_THREADS, "--sim-threads" },
    { LP_TORTURE_STEPS, "--steps" },             { LP_TORTURE_WORKLOAD_SEED, "--workload-seed" },
    { LP_TORTURE_REPLAY, "--replay" },
};
#define THREADED_ONLY (LP_TORTURE_THREADS | LP_TORTURE_DURATION | LP_TORTURE_BOUND_MS)
#define SIM_ONLY (LP_TORTURE_RUNS | LP_TORTURE_PCT_DEPTH | LP_TORTURE_PCT_HORIZON | LP_TORTURE_SIM_THREADS | \
                  LP_TORTURE_STEPS | LP_TORTURE_WORKLOAD_SEED | LP_TORTURE_REPLAY)
#define PCT_ONLY (LP_TORTURE_PCT_DEPTH | LP_TORTURE_PCT_HORIZON)

/* The first given option among `bits`, by name. */
static const char *first_given(const lp_torture_options_t *o, unsigned bits)
{
    for (size_t i = 0; i < sizeof numeric / sizeof *numeric; i++)
        if (o->given & bits & numeric[i].bit)
            return numeric[i].name;
    return NULL;
}

/* A given value must lie in [lo, hi]; one not given takes `def`. */
static int in_range(const lp_torture_options_t *o, unsigned bit, uint64_t *v, uint64_t lo, uint64_t hi, uint64_t def,
                    char *msg, size_t len)
{
    if (!(o->given & bit)) {
        *v = def;
        return 0;
    }
    if (*v >= lo && *v <= hi)
        return 0;
    return fail(msg, len, "%s must be %" PRIu64 "..%" PRIu64 " (got %" PRIu64 ")", first_given(o, bit), lo, hi, *v);
}

int lp_torture_check(lp_torture_options_t *o, char *msg, size_t len)
{
    const char *name;
    int rc;
    if (!o->sim && ((name = first_given(o, SIM_ONLY)) || (o->strategy && (name = "--strategy")) ||
                    (o->verbose && (name = "--verbose"))))
        return fail(msg, len, "%s needs --sim", name);
    if (o->sim && ((name = first_given(o, THREADED_ONLY)) || (o->json && (name = "--json"))))
        return fail(msg, len, "%s does not apply to --sim", name);

    if ((rc = in_range(o, LP_TORTURE_THREADS, &o->threads, 16, 4096, 256, msg, len)) ||
        (rc = in_range(o, LP_TORTURE_BOUND_MS, &o->bound_ms, 1, 3600000, 5000, msg, len)) ||
        (rc = in_range(o, LP_TORTURE_RUNS, &o->runs, 1, 10000000, 200, msg, len)) ||
        (rc = in_range(o, LP_TORTURE_PCT_DEPTH, &o->pct_depth, 1, 16, 3, msg, len)) ||
        (rc = in_range(o, LP_TORTURE_PCT_HORIZON, &o->pct_horizon, 1, UINT64_MAX, 250, msg, len)) ||
        (rc = in_range(o, LP_TORTURE_SIM_THREADS, &o->sim_threads, 1, LP_TORTURE_SIM_THREADS_MAX, 4, msg, len)) ||
        (rc = in_range(o, LP_TORTURE_STEPS, &o->steps, 1, UINT64_MAX, 200000, msg, len)))
        return rc;
    /* A year at most: the run's end, in nanoseconds, must fit in 64 bits. */
    if (!(o->given & LP_TORTURE_DURATION))
        o->duration = 30;
    else if (!(isfinite(o->duration) && o->duration > 0 && o->duration <= 365 * 86400.0))
        return fail(msg, len, "--duration must be a number of seconds above 0 and at most 31536000 (got %g)", o->duration);
    if (!(o->given & LP_TORTURE_SEED)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        o->seed = o->sim ? 1 : (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }

    o->strategies = !o->strategy || strcmp(o->strategy, "both") == 0 ? 1 << LP_SIM_RANDOM | 1 << LP_SIM_PCT
                  : strcmp(o->strategy, "random") == 0           ? 1 << LP_SIM_RANDOM
                  : strcmp(o->strategy, "pct") == 0              ? 1 << LP_SIM_PCT
                                                                  : 0;
    if (!o->strategies)
        return fail(msg, len, "--strategy must be random, pct or both (got '%s')", o->strategy);
    if (!(o->strategies & 1 << LP_SIM_PCT) && (name = first_given(o, PCT_ONLY)))
        return fail(msg, len, "%s needs --strategy pct or both", name);
    if (o->given & LP_TORTURE_REPLAY) {
        if (o->strategies != 1 << LP_SIM_RANDOM && o->strategies != 1 << LP_SIM_PCT)
            return fail(msg, len, "--replay needs --strategy random or pct");
        if ((name = first_given(o, LP_TORTURE_RUNS | LP_TORTURE_SEED)) || (o->verbose && (name = "--verbose")))
            return fail(msg, len, "%s does not apply to --replay (it reruns one seed)", name);
    }

    o->inject = 0;
    if (o->inject_bug) {
        size_t i, nb = sizeof bugs / sizeof *bugs;
        for (i = 0; i < nb && strcmp(o->inject_bug, bugs[i].name) != 0; i++)
            ;
        if (i == nb)
            return fail(msg, len, "--inject-bug: unknown bug '%s' (--inject-bug list names them)", o->inject_bug);
        o->inject = bugs[i].kind;
    }
    if ((rc = pick_models(o, msg, len)))
        return rc;

    /* Last, so that no earlier refusal leaves a file open: the path is
     * created now, and a run never ends in "cannot write". */
    o->text = stdout;
    o->json_out = NULL;
    if (o->json && strcmp(o->json, "-") == 0) {
        o->json_out = stdout;
        o->text = stderr;
    } else if (o->json && !(o->json_out = fopen(o->json, "w"))) {
        return fail(msg, len, "--json %s: %s", o->json, strerror(errno));
    }
    return 0;
}
