/*
 * The torture's driver: the patch stack as the harness models it, and the
 * rounds of a threaded run, each one transition between a pause and a check
 * (see torture.h). sim.c drives one transition per run with the same parts.
 */
#include "torture.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

struct hpatch stack[MAX_STACK];
int depth;
unsigned patch_seq;

static int effective_version(int fn, int levels)
{
    for (int i = levels - 1; i >= 0; i--)
        for (int r = 0; r < stack[i].nrep; r++)
            if (stack[i].rep[r] == fn)
                return stack[i].variant;
    return 0;
}

/* What the transition of patch h (enabled, or disabled when `disabling`)
 * leads from and to, with the stack before it; pushes an enabled patch. */
void describe_transition(struct txinfo *x, const struct hpatch *h, int disabling)
{
    *x = (struct txinfo){ .model = h->model };
    for (int fn = 0; fn < NF; fn++)
        x->before[fn] = effective_version(fn, depth);
    if (!disabling)
        stack[depth] = *h;
    for (int fn = 0; fn < NF; fn++)
        x->after[fn] = effective_version(fn, disabling ? depth - 1 : depth + 1);
    for (int i = 0; i < h->nrep; i++)
        x->in_set[h->rep[i]] = 1;
    for (int i = 0; i < h->next; i++)
        x->in_set[h->ext[i]] = 1;
}

/* Retires what is no longer reachable once transition x ended: calls into
 * it from now on are poison. */
void retire_unreachable(const struct txinfo *x)
{
    for (int fn = 0; fn < NF; fn++) {
        int from = x->final_new ? x->before[fn] : x->after[fn], to = x->final_new ? x->after[fn] : x->before[fn];
        if (from != to)
            atomic_store(&G.retired_at[fn][from], x->D);
    }
}

/* The harness's stack follows the outcome: reached_new, the transition
 * ended in the new universe. p is the transition's patch. */
void follow_outcome(int reached_new, int disabling, lp_patch_t *p)
{
    if (reached_new) {
        if (disabling)
            lp_patch_destroy(stack[--depth].p);
        else
            depth++;
    } else if (!disabling) {
        lp_patch_destroy(p);
    }
}

/* Disables and destroys what the stack holds, forcing a transition that
 * takes longer than bound_ns. */
void empty_stack(uint64_t bound_ns)
{
    while (depth > 0) {
        struct hpatch *h = &stack[--depth];
        if (lp_patch_disable(h->p) == 0 && lp_transition_wait(bound_ns) != 0)
            lp_transition_force();
        lp_patch_destroy(h->p);
    }
}

/* ---- rounds ------------------------------------------------------------------------- */

void pause_all(void)
{
    atomic_store(&G.wake_sleepers, 1);
    pthread_mutex_lock(&G.lock);
    atomic_store_explicit(&G.pause, 1, memory_order_release);
    while (G.parked < G.parties)
        pthread_cond_wait(&G.parked_cv, &G.lock);
    pthread_mutex_unlock(&G.lock);
    /* Pairs with handler_call's store of in_handler then load of closed. */
    atomic_store(&G.closed, 1);
    for (unsigned k = 0; k < G.nctx; k++)
        while (atomic_load(&G.ctx[k].in_handler))
            sched_yield();
    for (int s = 0; s < CHURN_SLOTS; s++)
        while (atomic_load(&G.churn[s].in_handler))
            sched_yield();
}

void resume_all(void)
{
    atomic_store(&G.closed, 0);
    atomic_store(&G.wake_sleepers, 0);
    pthread_mutex_lock(&G.lock);
    atomic_store(&G.pause, 0);
    pthread_cond_broadcast(&G.resume_cv);
    pthread_mutex_unlock(&G.lock);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    nanosleep(&ts, NULL);
}

static int collect_stalled(const lp_thread_info_t *info, void *ctx)
{
    int *lazy_named = ctx;
    size_t len = strlen(G.stalled_report);
    if (len < sizeof G.stalled_report - 64)
        snprintf(G.stalled_report + len, sizeof G.stalled_report - len, " %s(tid %d, %s%s)", info->name, info->tid,
                 info->reason == LP_STALL_IN_KERNEL ? "in kernel"
                 : info->reason == LP_STALL_IN_SET  ? "in set"
                 : info->reason == LP_STALL_UNRELIABLE_STACK ? "unreliable stack"
                                                    : "no switch point",
                 info->n_inside ? ", inside" : "");
    /* The set functions it is inside, as /proc/PID/stack would list them. */
    for (uint32_t i = 0; i < info->n_inside && i < LP_INSIDE_MAX; i++)
        for (int fn = 0; fn < NF; fn++) {
            len = strlen(G.stalled_report);
            if (info->inside[i] == G.f[fn] && len < sizeof G.stalled_report - 16)
                snprintf(G.stalled_report + len - 1, sizeof G.stalled_report - len + 1, " f%d)", fn);
        }
    if (strcmp(info->name, "kthread-0") == 0 && info->reason == LP_STALL_IN_KERNEL)
        *lazy_named = 1;
    return 0;
}

const char *const op_names[] = { "enable", "disable", "stack", "reverse", "force", "extend-set" };

/* Creates and fills a patch for an enable-like operation; 0 on success. */
int new_patch(uint64_t *rng, lp_model_t model, int extend, struct hpatch *out)
{
    char name[32];
    snprintf(name, sizeof name, "torture-%u", ++patch_seq);
    struct hpatch h = { .model = model, .variant = 1 + (int)(patch_seq % (NV - 1)) };
    h.p = lp_patch_create(name, model, 0);
    if (!h.p)
        return -errno;
    int want = 1 + (int)rnd(rng, 4);
    /* a stacked patch overlaps the one below it */
    if (depth > 0 && rnd(rng, 2))
        h.rep[h.nrep++] = stack[depth - 1].rep[0];
    while (h.nrep < want) {
        int fn = (int)rnd(rng, NPATCHABLE), dup = 0;
        for (int i = 0; i < h.nrep; i++)
            dup |= h.rep[i] == fn;
        if (!dup)
            h.rep[h.nrep++] = fn;
    }
    for (int i = 0; i < h.nrep; i++)
        if (lp_patch_add_func(h.p, G.f[h.rep[i]], (const void *)impls[h.rep[i]][h.variant]) != 0)
            return -EINVAL;
    for (int tries = 0; extend && h.next < 2 && tries < 8; tries++) {
        int fn = (int)rnd(rng, NPATCHABLE), dup = 0;
        for (int i = 0; i < h.nrep; i++)
            dup |= h.rep[i] == fn;
        for (int i = 0; i < h.next; i++)
            dup |= h.ext[i] == fn;
        if (!dup && lp_patch_extend_set(h.p, G.f[fn]) == 0)
            h.ext[h.next++] = fn;
    }
    *out = h;
    return 0;
}

struct model_stats *stats_for(lp_model_t model)
{
    for (size_t i = 0; i < G.nstats; i++)
        if (G.stats[i].model == model)
            return &G.stats[i];
    return &G.stats[0];
}

static void record_latency(struct model_stats *m, uint64_t ns)
{
    if (m->nlat == m->caplat) {
        m->caplat = m->caplat ? 2 * m->caplat : 256;
        m->lat = realloc(m->lat, m->caplat * sizeof *m->lat);
    }
    m->lat[m->nlat++] = ns;
}

/* A round's transition, from its choice to its check. */
struct round {
    unsigned number;
    enum op op;
    int disabling, lazy, turned, explained;
    struct hpatch h;
    struct model_stats *m;
    struct txinfo x;
};

/* Draws the operation, and the patch it enables or disables; 0, or -1 with
 * a line on stderr. */
static int choose_transition(uint64_t *rng, const lp_model_t *models, size_t nmodels, struct round *r)
{
    enum op op = depth == MAX_STACK ? OP_DISABLE : depth == 0 ? OP_ENABLE : (enum op)rnd(rng, OP_COUNT);
    if (op == OP_STACK && depth == 0)
        op = OP_ENABLE;
    static unsigned enables;
    lp_model_t model = models[enables % nmodels];
    r->op = op;
    r->disabling = op == OP_DISABLE || (op == OP_REVERSE && depth > 0 && rnd(rng, 2));
    if (r->disabling) {
        r->h = stack[depth - 1];
    } else if (enables++, new_patch(rng, model, op == OP_EXTEND || rnd(rng, 5) == 0, &r->h) != 0) {
        fprintf(stderr, "torture: cannot build a patch: %s\n", lp_strerror(-errno));
        return -1;
    }
    return 0;
}

/* Lets the threads run into the round. KGRAFT-like cells: now and then
 * kthread-0 stops taking safe points; the transition must stall and name it. */
static void start_round(uint64_t *rng, struct round *r, unsigned leave, unsigned sw)
{
    int lazy = leave == LP_LEAVE_KERNEL && sw == LP_SWITCH_THREAD && rnd(rng, 6) == 0 && r->op != OP_FORCE &&
               r->op != OP_REVERSE; /* turned around, the old universe owes kthread-0 nothing */
    atomic_store(&G.lazy_kthread, lazy);
    atomic_store(&G.long_sleep, G.nudges && rnd(rng, 12) == 0);
    atomic_store(&G.lazy_ack, 0);
    resume_all();
    sleep_ns(1000000 + rnd(rng, 2000000));
    /* The stall is only owed if kthread-0's section began before the start. */
    for (uint64_t until = now_ns() + 2000000000ull; lazy && !atomic_load(&G.lazy_ack) && now_ns() < until;)
        sleep_ns(100000);
    if (lazy && !atomic_load(&G.lazy_ack)) {
        lazy = 0;
        atomic_store(&G.lazy_kthread, 0);
    }
    r->lazy = lazy;
    /* Both ends of the transition are reachable while it runs. */
    for (int fn = 0; fn < NF; fn++) {
        atomic_store(&G.retired_at[fn][r->x.before[fn]], 0);
        atomic_store(&G.retired_at[fn][r->x.after[fn]], 0);
    }
}

/* Waits for the transition: a lazy round's must stall and name kthread-0;
 * one that outlives the bound is a hang, reported and forced. */
static int wait_transition(struct round *r)
{
    struct model_stats *m = r->m;
    int rc;
    r->explained = 1;
    G.stalled_report[0] = 0;
    if (r->lazy) {
        /* It must stall while kthread-0 skips its safe points, and say so. */
        int named = 0;
        rc = lp_transition_wait(100000000);
        if (rc == -ETIMEDOUT) {
            lp_transition_for_each_stalled(collect_stalled, &named);
            m->expected_stalls++;
            r->explained = named;
        }
        atomic_store(&G.lazy_kthread, 0);
    }
    rc = lp_transition_wait(G.bound_ns);
    if (rc == -ETIMEDOUT) {
        int ignored = 0;
        lp_transition_status_t st;
        lp_transition_status(&st);
        lp_transition_for_each_stalled(collect_stalled, &ignored);
        fprintf(stderr, "\ntorture: round %u (%s, %s) did not complete in %.1f s; stalled:%s\n", r->number, m->name,
                op_names[r->op], G.bound_ns / 1e9, G.stalled_report);
        /* What the engine saw, and whether it was about to finish: a hang
         * to diagnose, not to excuse (it still counts as one). */
        uint64_t t0 = now_ns();
        int late = lp_transition_wait(1000000000ull);
        fprintf(stderr, "torture: at the bound: %llu threads pending at the last of %llu checks, %llu nudges sent; "
                        "then %s %.1f ms later\n",
                (unsigned long long)st.pending_threads, (unsigned long long)st.checks,
                (unsigned long long)st.nudges_sent, late == 0 ? "completed" : "still pending",
                (now_ns() - t0) / 1e6);
        m->stalls++;
        r->explained = 0;
        if (late != 0) { /* a round that completed is checked as one */
            lp_transition_force();
            r->x.forced = 1;
        }
    }
    r->x.D = now_ns();
    return rc;
}

/* Starts the transition, turns it around or forces it as the operation
 * says, and waits for it; 0, or -1 (after a line on stderr) if it did not
 * start. */
static int run_transition(uint64_t *rng, struct round *r)
{
    struct model_stats *m = r->m;
    lp_transition_status_t status;
    lp_transition_status(&status);
    uint64_t reversed_before = status.reversed;
    r->x.S = now_ns();
    int rc = r->disabling ? lp_patch_disable(r->h.p) : lp_patch_enable(r->h.p);
    if (rc != 0) {
        fprintf(stderr, "torture: %s %s: %s\n", op_names[r->op], r->disabling ? "disable" : "enable", lp_strerror(rc));
        pause_all();
        return -1;
    }
    m->transitions++;
    r->turned = 0;
    uint64_t turning = 0;
    if (r->op == OP_REVERSE) {
        /* Half the time driven for a while first: PATCHED_SET x FUNCTION,
         * whose functions switch only inside the patcher's holds, then turns
         * around with some of them switched. The other half it is not: the
         * first completion step ends a LEAVE_FUNCTION transition, which
         * would then never be turned around. */
        if (rnd(rng, 2))
            lp_transition_wait(1 + rnd(rng, 2000000));
        else
            sleep_ns(rnd(rng, 2000000));
        turning = now_ns();
        r->turned = lp_transition_reverse() == 0; /* -EINVAL if it had completed already */
        m->reversed += r->turned;
    } else if (r->op == OP_FORCE) {
        sleep_ns(rnd(rng, 1000000));
        lp_transition_force();
        r->x.forced = 1;
        m->forced++;
    }
    rc = wait_transition(r);
    if (!r->explained) {
        G.unexplained++;
        if (!rc)
            fprintf(stderr, "\ntorture: round %u: the stalled report did not name the lazy kthread:%s\n", r->number,
                    G.stalled_report);
    }
    /* What the transition ended in: a reverse ends where it started. The
     * harness reversed it (turned), or its model did, or both: count them. */
    lp_transition_status(&status);
    r->x.reversals = (unsigned)(status.reversed - reversed_before);
    r->x.final_new = r->x.reversals % 2 == 0;
    if (r->turned && r->x.reversals == 1)
        r->x.R = turning;
    m->model_reversed += status.reversed - reversed_before - (uint64_t)r->turned;
    m->reversed += status.reversed - reversed_before - (uint64_t)r->turned;
    if (!r->x.forced)
        record_latency(m, r->x.D - r->x.S);
    m->completed++;
    retire_unreachable(&r->x);
    follow_outcome(r->x.final_new, r->disabling, r->h.p);
    return 0;
}

/* Parks every thread, judges the round's records and counts, and clears
 * the records for the next round. */
static void check_and_clear(const struct round *r)
{
    struct tctx *all[G.nctx + CHURN_SLOTS];
    unsigned nall = 0;
    for (unsigned k = 0; k < G.nctx; k++)
        all[nall++] = &G.ctx[k];
    for (int s = 0; s < CHURN_SLOTS; s++)
        all[nall++] = &G.churn[s];
    check_round(&r->x, r->m, all, nall);
    check_counts(r->m);
    for (unsigned k = 0; k < nall; k++) {
        all[k]->nrec = all[k]->nsect = all[k]->nh = 0;
        all[k]->strays = all[k]->poison = all[k]->hstrays = all[k]->hpoison = all[k]->hlost = 0;
        all[k]->cur_parent = NONE;
    }
}

/* One round: one transition, then the check. Returns 1 if the round passed. */
int run_round(uint64_t *rng, unsigned round, const lp_model_t *models, size_t nmodels)
{
    struct round r = { .number = round };
    if (choose_transition(rng, models, nmodels, &r) != 0)
        return 0;
    unsigned leave, sw;
    cell_of(r.h.model, &leave, &sw);
    struct model_stats *m = r.m = stats_for(r.h.model);
    uint64_t before[4] = { m->i0, m->i1, m->i2, m->i3 }, before_poison = m->poison, before_counts = m->counts;
    describe_transition(&r.x, &r.h, r.disabling);
    start_round(rng, &r, leave, sw);
    if (run_transition(rng, &r) != 0)
        return 0;
    sleep_ns(1000000 + rnd(rng, 2000000));
    pause_all();
    check_and_clear(&r);
    int clean = m->i0 == before[0] && m->i1 == before[1] && m->i2 == before[2] && m->i3 == before[3] &&
                m->poison == before_poison && m->counts == before_counts && r.explained;
    return clean;
}
