/*
 * The --sim driver: explores seeds with each scheduling strategy, or
 * replays one, and prints each strategy's tally and a failing run's
 * replay command (one run is sim_run.c's).
 */
#include "torture.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "deadline_reverse.h"

#define SIM_DEADLINE_NS 150000ull /* virtual: the example model's deadline (DEADLINE_REVERSE) */

static const char *sim_strategy_name(int s) { return s == LP_SIM_PCT ? "pct" : "random"; }
static const char *sim_outcome_name(int o) { return o == LP_SIM_DONE ? "done" : o == LP_SIM_DEADLOCK ? "deadlock" : "budget spent"; }

static void sim_print(FILE *out, uint64_t seed, const struct sim_outcome *o)
{
    fprintf(out, "sim seed %" PRIu64 " (%s): %s under %s, hash %016" PRIx64 ", %" PRIu64 " steps, %" PRIu64
                 " switches, %.3f ms virtual, %s; I0 %" PRIu64 " I1 %" PRIu64 " I2 %" PRIu64 " I3 %" PRIu64
                 " poison %" PRIu64 " counts %" PRIu64 "%s%s\n",
            seed, sim_strategy_name(SIM.strategy), op_names[o->op], o->model ? o->model : "?", o->res.hash, o->res.steps,
            o->res.switches, (double)(o->res.virtual_ns - 1000000000ull) / 1e6, sim_outcome_name(o->res.outcome),
            o->i0, o->i1, o->i2, o->i3, o->poison, o->counts, o->hang ? ", HANG" : "", o->failed ? ", FAILED" : "");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One word of the replay command, quoted only where a shell needs it:
 * scripts/test runs the words after the program's name as arguments,
 * without a shell, and refuses a line with quotes. */
static void print_word(const char *w)
{
    static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_,.+-/=:";
    if (*w && strspn(w, plain) == strlen(w)) {
        printf(" %s", w);
        return;
    }
    fputs(" '", stdout);
    for (; *w; w++) {
        if (*w == '\'')
            fputs("'\\''", stdout); /* close, an escaped quote, reopen */
        else
            putchar(*w);
    }
    putchar('\'');
}

/* The replay command of a failing run: the same flags, --replay SEED. */
static void sim_replay_hint(const char *prog, const char *models, const char *bug, uint64_t seed)
{
    printf("replay: %s --sim --strategy %s", prog, sim_strategy_name(SIM.strategy));
    if (SIM.strategy == LP_SIM_PCT)
        printf(" --pct-depth %u --pct-horizon %" PRIu64, SIM.depth, SIM.horizon);
    printf(" --sim-threads %u --steps %" PRIu64, SIM.workers, SIM.max_steps);
    if (SIM.fixed_workload)
        printf(" --workload-seed %" PRIu64, SIM.workload_seed);
    if (models) {
        printf(" --models");
        print_word(models);
    }
    if (bug) {
        printf(" --inject-bug");
        print_word(bug);
    }
    printf(" --replay %" PRIu64 "\n", seed);
}

/* What the exploration of one strategy adds up. */
struct sim_tally {
    unsigned failed, hangs, first;
    uint64_t first_seed, steps, v[6];
    uint64_t model_reversals_before, handler_calls;
    lp_transition_status_t st0;
};

/* Adds run r (seed `seed`) to the tally, shows progress and prints what a
 * run prints: every run with --verbose, else the first failed one, and the
 * first failed one's replay command. */
static void sim_count_run(const lp_torture_options_t *opt, struct sim_tally *ta, unsigned r, uint64_t seed,
                          const struct sim_outcome *o, uint64_t t0, unsigned *done, unsigned total)
{
    ta->steps += o->res.steps;
    ta->v[0] += o->i0, ta->v[1] += o->i1, ta->v[2] += o->i2, ta->v[3] += o->i3, ta->v[4] += o->poison, ta->v[5] += o->counts;
    ta->hangs += o->hang;
    if (G.progress) {
        char what[64];
        snprintf(what, sizeof what, "sim %s: run %u of %u", sim_strategy_name(SIM.strategy), r + 1, (unsigned)opt->runs);
        show_progress((double)++*done / total, t0, what);
        if (SIM.verbose || o->failed)
            clear_progress();
    }
    if (SIM.verbose)
        sim_print(stdout, seed, o);
    if (!o->failed)
        return;
    if (ta->failed++ == 0) {
        ta->first = r + 1;
        ta->first_seed = seed;
        if (!SIM.verbose)
            sim_print(stdout, seed, o);
        sim_replay_hint(opt->prog, opt->models, opt->inject_bug, seed);
    }
}

/* The strategy's closing line. */
static void sim_print_tally(const struct sim_tally *ta, uint64_t seed, unsigned runs, uint64_t *hashes)
{
    lp_transition_status_t st1;
    lp_transition_status(&st1);
    uint64_t handler_calls = ta->handler_calls;
    for (size_t i = 0; i < G.nstats; i++)
        handler_calls += G.stats[i].handler_calls;
    qsort(hashes, runs, sizeof *hashes, cmp_u64);
    unsigned distinct = runs ? 1 : 0;
    for (unsigned r = 1; r < runs; r++)
        distinct += hashes[r] != hashes[r - 1];
    printf("sim %s: %u runs (seeds %" PRIu64 "..%" PRIu64 "), %u distinct interleavings, %.0f steps per run; "
           "%u failed runs (I0 %" PRIu64 " I1 %" PRIu64 " I2 %" PRIu64 " I3 %" PRIu64 " poison %" PRIu64
           " counts %" PRIu64 ", hangs %u); %" PRIu64 " holds, %" PRIu64 " nudges (%" PRIu64
           " handler calls checked), %" PRIu64 " reversals by the model's own policy",
           sim_strategy_name(SIM.strategy), runs, seed, seed + runs - 1, distinct, runs ? (double)ta->steps / runs : 0.0,
           ta->failed, ta->v[0], ta->v[1], ta->v[2], ta->v[3], ta->v[4], ta->v[5], ta->hangs,
           st1.hold_attempts - ta->st0.hold_attempts, st1.nudges_sent - ta->st0.nudges_sent, handler_calls,
           SIM.model_reversals - ta->model_reversals_before);
    if (ta->failed)
        printf(", first at run %u (seed %" PRIu64 ")", ta->first, ta->first_seed);
    printf("\n");
}

/* Explores `runs` seeds from `seed` under SIM.strategy; 1 if a run failed. */
static int sim_explore(const lp_torture_options_t *o, uint64_t *hashes, uint64_t t0, unsigned *done, unsigned total)
{
    unsigned runs = (unsigned)o->runs;
    struct sim_tally ta = { .model_reversals_before = SIM.model_reversals };
    lp_transition_status(&ta.st0);
    for (size_t i = 0; i < G.nstats; i++)
        ta.handler_calls -= G.stats[i].handler_calls;
    for (unsigned r = 0; r < runs; r++) {
        struct sim_outcome out;
        sim_run(o->seed + r, o->model_ids, o->model_names, o->nmodels, &out);
        hashes[r] = out.res.hash;
        sim_count_run(o, &ta, r, o->seed + r, &out, t0, done, total);
    }
    if (G.progress)
        clear_progress();
    sim_print_tally(&ta, o->seed, runs, hashes);
    return ta.failed != 0;
}

/* The simulation's parameters from the checked options. */
void sim_configure(const lp_torture_options_t *o)
{
    SIM.workers = (unsigned)o->sim_threads;
    SIM.depth = (unsigned)o->pct_depth;
    SIM.horizon = o->pct_horizon;
    SIM.max_steps = o->steps;
    SIM.verbose = o->verbose;
    SIM.fixed_workload = !!(o->given & LP_TORTURE_WORKLOAD_SEED);
    SIM.workload_seed = o->workload_seed;
}

/* --sim: explores `runs` seeds from `seed` with each strategy, or replays one. */
int sim_main(const lp_torture_options_t *o)
{
    sim_on = 1;
    uint32_t cap = 4096;
    for (unsigned k = 0; k <= SIM.workers; k++) {
        SIM.ctx[k].cap = cap;
        SIM.ctx[k].recs = calloc(cap, sizeof(struct rec));
        SIM.ctx[k].scap = cap / 2;
        SIM.ctx[k].sects = calloc(cap / 2, sizeof(struct sect));
    }
    /* Holds and pauses in virtual time: a step is 1 us. */
    lp_set_switch_policy(200000, 100000);
    /* The example model's deadline too, so that some of its transitions
     * still reverse themselves. */
    deadline_reverse_model(SIM_DEADLINE_NS);
    if (o->given & LP_TORTURE_REPLAY) {
        struct sim_outcome out;
        SIM.strategy = o->strategies == 1 << LP_SIM_PCT ? LP_SIM_PCT : LP_SIM_RANDOM;
        sim_run(o->replay, o->model_ids, o->model_names, o->nmodels, &out);
        sim_print(stdout, o->replay, &out);
        return out.failed ? 1 : 0;
    }
    unsigned runs = (unsigned)o->runs;
    uint64_t *hashes = calloc(runs, sizeof *hashes);
    if (!hashes) {
        fprintf(stderr, "torture: out of memory for %u runs\n", runs);
        return 1;
    }
    uint64_t t0 = wall_ns();
    unsigned total = o->strategies == 3 ? 2 * runs : runs, done = 0;
    int status = 0;
    for (int s = LP_SIM_RANDOM; s <= LP_SIM_PCT; s++) {
        if (!(o->strategies & (1 << s)))
            continue;
        SIM.strategy = s;
        status |= sim_explore(o, hashes, t0, &done, total);
    }
    free(hashes);
    return status;
}
