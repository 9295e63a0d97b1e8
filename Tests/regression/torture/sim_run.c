/*
 * One run of the torture's simulation mode (--sim; sim.c explores and
 * replays). A run is one transition. The driver (the calling thread) draws
 * the operation, the model and the patch stack below it from the run's seed and
 * prepares the stack with the engine in plain mode, while no hooked thread
 * exists; then a patcher and a few workload threads run under lp_sim_*, one
 * at a time, offering the baton next to every hook (SIM_POINT), sleeping in
 * virtual time; the checker judges their records as in a round; the driver
 * empties the stack again. The seed fixes the workload, the operation and
 * the schedule, so --replay SEED repeats a run bit for bit.
 */
#include "torture.h"

#include <errno.h>
#include <string.h>

int sim_on;

#define SIM_BOUND_NS 100000000ull /* virtual: a transition that takes longer is a hang */

static const enum kind sim_kinds[] = { K_WORKER, K_WORKER, K_KTHREAD, K_BLOCK_FN, K_BLOCK_KERNEL, K_OFFLINE, K_LIVER };

struct sim_state SIM;

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
    x->reversals = (unsigned)(status.reversed - reversed_before);
    x->final_new = x->reversals % 2 == 0;
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
void sim_run(uint64_t seed, const lp_model_t *models, const char *const *names, size_t nmodels, struct sim_outcome *o)
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
