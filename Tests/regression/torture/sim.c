/*
 * The torture's simulation mode (--sim). A run is one transition. The driver (the calling thread) draws the
 * operation, the model and the patch stack below it from the run's seed and
 * prepares the stack with the engine in plain mode, while no hooked thread
 * exists; then a patcher and a few workload threads run under lp_sim_*, one
 * at a time, offering the baton next to every hook (SIM_POINT), sleeping in
 * virtual time; the checker judges their records as in a round; the driver
 * empties the stack again. The seed fixes the workload, the operation and
 * the schedule, so --replay SEED repeats a run bit for bit.
 */
#include "torture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "deadline_reverse.h"

int sim_on;

#define SIM_MAX_WORKERS LP_TORTURE_SIM_THREADS_MAX
#define SIM_BOUND_NS 100000000ull /* virtual: a transition that takes longer is a hang */
#define SIM_DEADLINE_NS 150000ull /* virtual: the example model's deadline (DEADLINE_REVERSE) */

static const enum kind sim_kinds[] = { K_WORKER, K_WORKER, K_KTHREAD, K_BLOCK_FN, K_BLOCK_KERNEL, K_OFFLINE, K_LIVER };

static struct {
    unsigned workers;
    int strategy, verbose;
    int fixed_workload;     /* --workload-seed: every run draws its workload from it, only the schedule varies */
    uint64_t workload_seed;
    unsigned depth;
    uint64_t max_steps, horizon;
    struct tctx ctx[SIM_MAX_WORKERS + 1]; /* 0 is the patcher */
    /* the run's transition: set by the driver, completed by the patcher */
    struct txinfo x;
    struct hpatch h;
    enum op op;
    int disabling, hang, rc;
    uint64_t model_reversals; /* reversals the model's own policy made, over all runs */
    uint32_t done; /* the patcher finished: kthreads leave (a futex word) */
} SIM;

struct sim_outcome {
    lp_sim_result_t res;
    uint64_t i0, i1, i2, i3, poison, counts;
    int hang, failed, bad_op;
    const char *model;
    enum op op;
};

static void sim_patcher(struct tctx *t)
{
    for (unsigned k = rnd(&t->rng, 16); k > 0; k--)
        lp_sim_point(LP_SIM_PATCHER);
    struct txinfo *x = &SIM.x;
    lp_transition_status_t status;
    lp_transition_status(&status);
    uint64_t reversed_before = status.reversed;
    int turned = 0;
    x->S = now_ns();
    SIM.rc = SIM.disabling ? lp_patch_disable(SIM.h.p) : lp_patch_enable(SIM.h.p);
    if (SIM.rc == 0) {
        if (SIM.op == OP_REVERSE || SIM.op == OP_FORCE)
            for (unsigned k = rnd(&t->rng, 12); k > 0; k--)
                lp_sim_point(LP_SIM_PATCHER);
        if (SIM.op == OP_REVERSE) {
            turned = lp_transition_reverse() == 0; /* -EINVAL if it had completed already */
        } else if (SIM.op == OP_FORCE) {
            lp_transition_force();
            x->forced = 1;
        }
        if (lp_transition_wait(SIM_BOUND_NS) == -ETIMEDOUT) {
            SIM.hang = 1;
            lp_transition_force();
            x->forced = 1;
        }
    }
    x->D = now_ns();
    /* Reversed by the harness, by the model's own policy, or both (as in run_round). */
    lp_transition_status(&status);
    x->final_new = (status.reversed - reversed_before) % 2 == 0;
    SIM.model_reversals += status.reversed - reversed_before - (uint64_t)turned;
    retire_unreachable(x);
    SIM.done = 1;
    lp_sim_wake(&SIM.done);
}

static void sim_worker(struct tctx *t)
{
    lp_thread_register(t->name);
    t->signalable = 1;
    if (t->kind == K_KTHREAD) {
        kernel_enter(t); /* and leaves only once the transition is over */
        while (!SIM.done) {
            work_once(t);
            lp_sim_wait(&SIM.done, 0, 20000 + rnd(&t->rng, 80000)); /* sleeps between rounds of work */
        }
        kernel_exit(t);
    } else {
        if (t->kind == K_LIVER)
            live_enter(t);
        for (unsigned i = 2 + rnd(&t->rng, 4); i > 0; i--)
            work_once(t);
        if (t->kind == K_LIVER)
            live_exit(t);
    }
    t->signalable = 0;
    lp_thread_unregister(); /* inside the run: its counts flush at a fixed point */
}

static void *sim_thread(void *arg)
{
    struct tctx *t = arg;
    self = t;
    if (lp_sim_thread_join((unsigned)t->idx) != 0)
        return NULL;
    if (t->idx == 0)
        sim_patcher(t);
    else
        sim_worker(t);
    lp_sim_thread_leave();
    return NULL;
}

/* Prepares the patch stack and the transition of the run; 0 on success. */
static int sim_prepare(uint64_t *rng, const lp_model_t *models, const char *const *names, size_t nmodels, struct sim_outcome *o)
{
    enum op op = (enum op)rnd(rng, OP_COUNT);
    int below = op == OP_DISABLE ? 1 : op == OP_STACK ? 1 + (int)rnd(rng, MAX_STACK - 1) : op == OP_REVERSE ? (int)rnd(rng, 2) : 0;
    for (int b = 0; b < below; b++) {
        struct hpatch hb;
        if (new_patch(rng, models[rnd(rng, nmodels)], 0, &hb) != 0)
            return -1;
        if (lp_patch_enable(hb.p) != 0 || lp_transition_wait(1000000000ull) != 0) {
            lp_patch_destroy(hb.p);
            return -1;
        }
        stack[depth++] = hb;
    }
    int disabling = op == OP_DISABLE || (op == OP_REVERSE && depth > 0);
    size_t mi = rnd(rng, nmodels);
    struct hpatch h;
    if (disabling) {
        h = stack[depth - 1];
        for (mi = 0; mi < nmodels && models[mi] != h.model; mi++)
            ;
    } else if (new_patch(rng, models[mi], op == OP_EXTEND || rnd(rng, 5) == 0, &h) != 0) {
        return -1;
    }
    describe_transition(&SIM.x, &h, disabling);
    SIM.h = h;
    SIM.op = op;
    SIM.disabling = disabling;
    o->op = op;
    o->model = mi < nmodels ? names[mi] : "?";
    return 0;
}

/* The run's threads, fresh: 0 the patcher, then the workload's kinds in turn. */
static void sim_reset_threads(uint64_t *rng, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        struct tctx *t = &SIM.ctx[k];
        struct rec *recs = t->recs;
        struct sect *sects = t->sects;
        uint32_t cap = t->cap, scap = t->scap;
        memset(t, 0, sizeof *t);
        t->recs = recs, t->sects = sects, t->cap = cap, t->scap = scap;
        t->idx = (int)k;
        t->kind = k == 0 ? K_WORKER : sim_kinds[(k - 1) % (sizeof sim_kinds / sizeof *sim_kinds)];
        snprintf(t->name, sizeof t->name, "%s-%u", k == 0 ? "patcher" : kind_names[t->kind], k);
        t->rng = splitmix(rng);
        t->hrng = splitmix(rng);
        t->cur_parent = NONE;
    }
}

/* Judges the run's records as a round's, and its counts: what
 * lp_func_counts() gained since base_e and base_x. */
static void sim_judge(unsigned n, const uint64_t *base_e, const uint64_t *base_x, struct sim_outcome *o)
{
    struct model_stats *m = stats_for(SIM.x.model);
    uint64_t before[6] = { m->i0, m->i1, m->i2, m->i3, m->poison, m->counts };
    struct tctx *all[SIM_MAX_WORKERS];
    for (unsigned k = 1; k < n; k++)
        all[k - 1] = &SIM.ctx[k];
    check_round(&SIM.x, m, all, n - 1);
    for (int fn = 0; fn < NF; fn++) {
        uint64_t e = 0, x = 0, le, lx;
        for (unsigned k = 1; k < n; k++) {
            e += SIM.ctx[k].enters[fn] + SIM.ctx[k].hcalls[fn];
            x += SIM.ctx[k].exits[fn] + SIM.ctx[k].hcalls[fn];
        }
        if (lp_func_counts(G.f[fn], &le, &lx) != 0 || le - base_e[fn] != e || lx - base_x[fn] != x || le != lx)
            m->counts++;
    }
    o->i0 = m->i0 - before[0], o->i1 = m->i1 - before[1], o->i2 = m->i2 - before[2], o->i3 = m->i3 - before[3];
    o->poison = m->poison - before[4], o->counts = m->counts - before[5];
    o->hang = SIM.hang || o->res.outcome != LP_SIM_DONE || SIM.rc != 0;
    o->failed = o->hang || o->i0 || o->i1 || o->i2 || o->i3 || o->poison || o->counts;
}

/* One run under the simulation; fills o. */
static void sim_run(uint64_t seed, const lp_model_t *models, const char *const *names, size_t nmodels, struct sim_outcome *o)
{
    memset(o, 0, sizeof *o);
    patch_seq = 0; /* a patch's variant follows from its number: the same in every run of a seed */
    memset(G.retired_at, 0, sizeof G.retired_at);
    uint64_t rng = (SIM.fixed_workload ? SIM.workload_seed : seed) ^ 0x5eedull;
    if (sim_prepare(&rng, models, names, nmodels, o) != 0) {
        o->bad_op = o->failed = 1;
        empty_stack(1000000000ull); /* in plain mode */
        return;
    }
    SIM.done = 0;
    SIM.hang = SIM.rc = 0;
    unsigned n = SIM.workers + 1;
    sim_reset_threads(&rng, n);
    uint64_t base_e[NF], base_x[NF];
    for (int fn = 0; fn < NF; fn++)
        lp_func_counts(G.f[fn], &base_e[fn], &base_x[fn]);
    lp_sim_config_t cfg = { .seed = seed, .strategy = SIM.strategy, .pct_depth = SIM.depth, .threads = n,
                            .max_steps = SIM.max_steps, .pct_horizon = SIM.horizon };
    if (lp_sim_start(&cfg) != 0) {
        o->failed = 1;
        return;
    }
    for (unsigned k = 0; k < n; k++)
        pthread_create(&SIM.ctx[k].th, NULL, sim_thread, &SIM.ctx[k]);
    for (unsigned k = 0; k < n; k++)
        pthread_join(SIM.ctx[k].th, NULL);
    lp_sim_stop(&o->res);
    sim_judge(n, base_e, base_x, o);
    /* The harness's stack follows the outcome, then is emptied. */
    follow_outcome(SIM.x.final_new && SIM.rc == 0, SIM.disabling, SIM.h.p);
    empty_stack(1000000000ull); /* in plain mode */
}

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
