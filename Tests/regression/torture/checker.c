/*
 * The torture's checker: judges what the threads recorded in a round (or a
 * --sim run) against the invariants I0-I3 of the transition's cell, and the
 * engine's counts against the harness's own (see torture.h).
 */
#include "torture.h"

#include <stdio.h>
#include <stdlib.h>

enum { U_OLD = 0, U_NEW = 1, U_UNKNOWN = 2 };

static int universe(const struct txinfo *x, const struct rec *r)
{
    int fn = r->fn, ver = r->ver;
    if (!x->in_set[fn] || x->before[fn] == x->after[fn])
        return U_UNKNOWN;
    return ver == x->after[fn] ? U_NEW : U_OLD;
}

/* Outermost kept ancestor of record n that is in the set (n itself if its
 * parent is not, or was overwritten). */
static uint32_t outermost_in_set(const struct txinfo *x, const struct tctx *t, uint32_t n, uint32_t first)
{
    for (uint32_t p; (p = rec_at(t, n)->parent) != NONE && p >= first && x->in_set[rec_at(t, p)->fn];)
        n = p;
    return n;
}

/* The universe of each kernel section of a thread (by id - base): that of
 * the first of its calls with a known one. */
static int *section_universes(const struct txinfo *x, const struct tctx *t, uint32_t first, uint32_t *base,
                              uint32_t *count)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint32_t n = first; n < t->nrec; n++) {
        uint32_t id = rec_at(t, n)->section;
        if (id && id < lo) lo = id;
        if (id > hi) hi = id;
    }
    for (uint32_t n = first_kept(t->nsect, t->scap); n < t->nsect; n++) {
        uint32_t id = t->sects[n % t->scap].id;
        if (id < lo) lo = id;
        if (id > hi) hi = id;
    }
    if (lo > hi)
        return NULL;
    int *u = malloc(sizeof(int) * (hi - lo + 1));
    for (uint32_t i = 0; i <= hi - lo; i++)
        u[i] = U_UNKNOWN;
    for (uint32_t n = first; n < t->nrec; n++) {
        const struct rec *r = rec_at(t, n);
        if (r->section && u[r->section - lo] == U_UNKNOWN)
            u[r->section - lo] = universe(x, r);
    }
    *base = lo;
    *count = hi - lo + 1;
    return u;
}

/* What a model counts and what it switches, user-defined models included. */
void cell_of(lp_model_t model, unsigned *leave, unsigned *sw)
{
    lp_model_info_t info;
    if (lp_model_describe(model, &info) != 0) {
        fprintf(stderr, "torture: lp_model_describe(%#x) failed\n", model);
        exit(2);
    }
    *leave = info.counts;
    *sw = info.switches;
}

/* I0: a call runs the old implementation before the start, the final one
 * after the end, and one of the two in between. */
static int breaks_i0(const struct txinfo *x, const struct rec *r)
{
    int fn = r->fn, ver = r->ver;
    int final = x->final_new ? x->after[fn] : x->before[fn];
    if (r->t_start < x->S && ver != x->before[fn])
        return 1;
    if (r->t_pre > x->D && ver != final)
        return 1;
    return ver != x->before[fn] && ver != x->after[fn];
}

/* A kept execution and the thread that ran it. */
struct seen {
    const struct tctx *t;
    const struct rec *r;
};

/* One thread's pass 2 of check_round. */
struct judge {
    const struct txinfo *x;
    struct model_stats *m;
    const struct tctx *t;
    uint32_t first;
    int one_instant;
    uint64_t max_old_end;
    struct seen last_old; /* the old execution that ended it */
    int told;
    int *sections, *group; /* I1's activations: kernel sections (by id - base), outermost set calls (by ring slot) */
    uint32_t base, nsections;
    int seen_new;
    uint16_t inc;
};

/* An activation's universe is that of its first call with a known one; I1
 * counts every later call that differs. */
static void same_universe(struct judge *j, int *slot, int u)
{
    if (*slot == U_UNKNOWN)
        *slot = u;
    else if (*slot != u)
        j->m->i1++;
}

static void describe(const struct judge *j, const char *what, struct seen e)
{
    const struct rec *r = e.r;
    int handler = r >= &e.t->hrecs[0].r && r <= &e.t->hrecs[HCAP - 1].r;
    double S = (double)j->x->S;
    fprintf(stderr, "torture:   %s: f%d variant %d, thread %s (%s)%s%s, entered %+.3f ms, ran %+.3f to %+.3f ms\n", what,
            r->fn, r->ver, e.t->name, kind_names[e.t->kind], handler ? ", in a signal handler" : "",
            !handler && r->parent == NONE ? ", outermost" : "", ((double)r->t_pre - S) / 1e6, ((double)r->t_start - S) / 1e6,
            ((double)r->t_end - S) / 1e6);
}

/* The first I2 or I3 violation of a threaded round, described on stderr
 * (times from the transition's start), for whoever has to find its cause: a
 * threaded run cannot be replayed (--sim prints a replay instead). The
 * first few rounds' only: a broken engine fails every round. */
static void tell_first(struct judge *j, const char *inv, struct seen new_call, const struct seen *old)
{
    enum { ROUNDS_TOLD = 5 };
    if (j->told++ || sim_on || G.rounds_told >= ROUNDS_TOLD)
        return;
    if (++G.rounds_told == ROUNDS_TOLD)
        fprintf(stderr, "\ntorture: (the last round described; later violations are counted only)");
    fprintf(stderr, "\ntorture: %s: %s violated; the transition took %.3f ms, reversed %u times%s\n", j->m->name, inv,
            ((double)j->x->D - (double)j->x->S) / 1e6, j->x->reversals, j->x->forced ? ", forced" : "");
    describe(j, "the call", new_call);
    describe(j, "the other universe's call that ended last", *old);
}

/* Judges call r: I2 and, with group, I1. anchor: the ring record whose
 * outermost set ancestor's activation r belongs to, NONE if none. */
static void judge_call(struct judge *j, const struct rec *r, uint32_t anchor)
{
    int u = universe(j->x, r);
    if (u == U_UNKNOWN)
        return;
    if (j->one_instant && u == U_NEW && r->t_start < j->max_old_end) {
        j->m->i2++;
        tell_first(j, "I2", (struct seen){ j->t, r }, &j->last_old);
    }
    if (!j->group)
        return;
    if (r->incarnation != j->inc) {
        j->inc = r->incarnation;
        j->seen_new = 0;
    }
    /* I1: monotonic per thread (a reversed transition goes back on purpose) ... */
    if (j->x->final_new) {
        if (u == U_NEW)
            j->seen_new = 1;
        else if (j->seen_new)
            j->m->i1++;
    }
    /* ... and one universe per activation: a kernel section under
     * LEAVE_KERNEL, else the outermost set function. */
    if (j->sections && r->section) {
        if (r->section >= j->base && r->section - j->base < j->nsections)
            same_universe(j, &j->sections[r->section - j->base], u);
    } else if (anchor != NONE) {
        same_universe(j, &j->group[outermost_in_set(j->x, j->t, anchor, j->first) % j->t->cap], u);
    }
}

/* A handler's call belongs to the activation of the call it interrupted, if
 * that one is a kept call of the set (then so is its outermost ancestor);
 * else it is an activation of its own, ordered in the thread's sequence just
 * before record `at`. */
static uint32_t handler_anchor(const struct judge *j, const struct hrec *h)
{
    uint32_t p = h->r.parent;
    if (p == NONE || p < j->first || p >= j->t->nrec || !j->x->in_set[rec_at(j->t, p)->fn])
        return NONE;
    return p;
}

/* Pass 1 of check_round: I0, poison, and the latest end of an old execution. */
static void check_executions(struct judge *j, struct tctx **all, unsigned nall)
{
    const struct txinfo *x = j->x;
    struct model_stats *m = j->m;
    for (unsigned k = 0; k < nall; k++) {
        struct tctx *t = all[k];
        uint32_t first = first_kept(t->nrec, t->cap);
        G.lost_records += first + t->hlost;
        m->handler_calls += t->nh;
        for (uint32_t n = first; n < t->nrec + t->nh; n++) {
            const struct rec *r = n < t->nrec ? rec_at(t, n) : &t->hrecs[n - t->nrec].r;
            m->i0 += breaks_i0(x, r);
            if (universe(x, r) == U_OLD && r->t_end > j->max_old_end) {
                j->max_old_end = r->t_end;
                j->last_old = (struct seen){ t, r };
            }
        }
        m->i0 += t->strays + t->hstrays;
        m->poison += t->poison + t->hpoison;
    }
}

/* One execution of a function, for check_phases. */
struct span {
    uint64_t start, end;
    int u;
    struct seen e;
};

/* By start, then by end: of two executions that begin at once, the one
 * that ends first comes first (an old one, if the other is new and they do
 * not overlap). */
static int by_start(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->start != y->start)
        return (x->start > y->start) - (x->start < y->start);
    return (x->end > y->end) - (x->end < y->end);
}

/* I3: each function switches at most once per leg (the forward one, then
 * one per reversal), so its executions in order of start form at most
 * reversals + 2 runs of one universe, the first old, each run begins after
 * every execution of the run before it ended, and none switches back before
 * the transition turned around. For a transition that never turned around:
 * old executions, then new ones, each beginning after the last old one
 * ended. */
static void check_phases(struct judge *j, struct tctx **all, unsigned nall)
{
    for (int fn = 0; fn < NF; fn++) {
        if (!j->x->in_set[fn] || j->x->before[fn] == j->x->after[fn])
            continue;
        size_t n = 0, cap = 0;
        struct span *s = NULL;
        for (unsigned k = 0; k < nall; k++) {
            const struct tctx *t = all[k];
            for (uint32_t i = first_kept(t->nrec, t->cap); i < t->nrec + t->nh; i++) {
                const struct rec *r = i < t->nrec ? rec_at(t, i) : &t->hrecs[i - t->nrec].r;
                if (r->fn != fn)
                    continue;
                if (n == cap) {
                    cap = cap ? 2 * cap : 1024;
                    struct span *grown = realloc(s, cap * sizeof *s);
                    if (!grown) {
                        fprintf(stderr, "torture: out of memory judging a round\n");
                        exit(2);
                    }
                    s = grown;
                }
                s[n++] = (struct span){ r->t_start, r->t_end, universe(j->x, r), { t, r } };
            }
        }
        if (n == 0)
            continue;
        qsort(s, n, sizeof *s, by_start);
        uint64_t before_end = 0, run_end = 0;
        struct seen before_last = { 0 }, run_last = { 0 };
        /* Every function begins old: a round whose kept executions of it
         * begin new has lost its old run from the ring, which still counts. */
        unsigned runs = s[0].u == U_NEW, allowed = j->x->reversals + 2;
        int after_new = 0;
        struct seen extra = { 0 }, extra_before = { 0 };
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || s[i].u != s[i - 1].u) {
                runs++;
                after_new = i > 0 && s[i - 1].u == U_NEW;
                before_end = run_end;
                before_last = run_last;
                run_end = 0;
                if (runs == allowed + 1) {
                    extra = s[i].e;
                    extra_before = before_last;
                }
            }
            /* ... and a function switches back only once the transition
             * turned around: if the harness alone turned it, after R. */
            if (s[i].start < before_end || (after_new && j->x->R && s[i].start < j->x->R)) {
                j->m->i3++;
                tell_first(j, "I3", s[i].e, &before_last);
            }
            if (s[i].end > run_end) {
                run_end = s[i].end;
                run_last = s[i].e;
            }
        }
        if (runs > allowed) {
            j->m->i3 += runs - allowed;
            tell_first(j, "I3 (the universes took turns more often than the transition turned around)", extra,
                       &extra_before);
        }
        free(s);
    }
}

/* Pass 2 of check_round for thread t: I1, and I2 against pass 1.
 * Returns the latest end of its old kernel sections that I2 must order
 * (0 if none). */
static uint64_t judge_thread(struct judge *j, struct tctx *t, unsigned leave, unsigned sw)
{
    uint64_t max_old_sect = 0;
    j->t = t;
    j->first = first_kept(t->nrec, t->cap);
    j->sections = leave == LP_LEAVE_KERNEL ? section_universes(j->x, t, j->first, &j->base, &j->nsections) : NULL;
    j->group = NULL;
    if (sw == LP_SWITCH_THREAD) {
        j->group = malloc(sizeof(int) * (t->cap));
        for (uint32_t i = 0; i < t->cap; i++)
            j->group[i] = U_UNKNOWN;
    }
    j->seen_new = 0;
    j->inc = t->nrec > j->first ? rec_at(t, j->first)->incarnation : t->nh ? t->hrecs[0].r.incarnation : 0;
    /* The handlers' calls merged into the ring's order, each before the
     * record its thread made next. */
    uint32_t h = 0;
    for (uint32_t n = j->first;; n++) {
        for (; h < t->nh && (t->hrecs[h].at <= n || n == t->nrec); h++)
            judge_call(j, &t->hrecs[h].r, handler_anchor(j, &t->hrecs[h]));
        if (n == t->nrec)
            break;
        judge_call(j, rec_at(t, n), n);
    }
    /* I2 with LEAVE_KERNEL: old kernel sections end before new ones begin. */
    if (j->one_instant && j->sections)
        for (uint32_t n = first_kept(t->nsect, t->scap); n < t->nsect; n++) {
            const struct sect *sc = &t->sects[n % t->scap];
            if (j->sections[sc->id - j->base] == U_OLD && sc->t_end > max_old_sect)
                max_old_sect = sc->t_end;
        }
    free(j->group);
    free(j->sections);
    return max_old_sect;
}

/* I2 with LEAVE_KERNEL, across threads: no new kernel section begins before
 * the latest old one ended. */
static void check_new_sections(const struct txinfo *x, struct model_stats *m, struct tctx **all, unsigned nall,
                               uint64_t max_old_sect)
{
    for (unsigned k = 0; k < nall; k++) {
        struct tctx *t = all[k];
        uint32_t base = 0, count = 0;
        int *sections = section_universes(x, t, first_kept(t->nrec, t->cap), &base, &count);
        for (uint32_t n = first_kept(t->nsect, t->scap); sections && n < t->nsect; n++) {
            const struct sect *sc = &t->sects[n % t->scap];
            if (sections[sc->id - base] == U_NEW && sc->t_start < max_old_sect)
                m->i2++;
        }
        free(sections);
    }
}

void check_round(const struct txinfo *x, struct model_stats *m, struct tctx **all, unsigned nall)
{
    unsigned leave, sw;
    cell_of(x->model, &leave, &sw);
    struct judge j = { .x = x, .m = m };
    j.one_instant = sw == LP_SWITCH_KERNEL || (leave == LP_LEAVE_KERNEL && sw == LP_SWITCH_FUNCTION);
    int promises = leave != LP_LEAVE_FUNCTION && !x->forced;

    check_executions(&j, all, nall);
    if (!promises)
        return;
    /* Pass 2: I1 (per thread), I2 and I3 (across threads). */
    uint64_t max_old_sect = 0;
    for (unsigned k = 0; k < nall; k++) {
        uint64_t end = judge_thread(&j, all[k], leave, sw);
        if (end > max_old_sect)
            max_old_sect = end;
    }
    if (j.one_instant && leave == LP_LEAVE_KERNEL)
        check_new_sections(x, m, all, nall, max_old_sect);
    if (leave == LP_LEAVE_PATCHED_SET && sw == LP_SWITCH_FUNCTION)
        check_phases(&j, all, nall);
}

/* Counts: at quiescence lp_func_counts() equals the harness's own tally. */
void check_counts(struct model_stats *m)
{
    for (int fn = 0; fn < NF; fn++) {
        uint64_t e = G.churn_enters[fn], x = G.churn_exits[fn], le, lx;
        uint64_t inside = 0; /* livers, which stay inside their function across rounds */
        for (unsigned k = 0; k < G.nctx; k++) {
            e += G.ctx[k].enters[fn] + G.ctx[k].hcalls[fn];
            x += G.ctx[k].exits[fn] + G.ctx[k].hcalls[fn];
            inside += G.ctx[k].living && live_fn(&G.ctx[k]) == fn;
        }
        for (int s = 0; s < CHURN_SLOTS; s++) { /* handlers on churn threads: a nudge of a thread that registered by hook */
            e += G.churn[s].hcalls[fn];
            x += G.churn[s].hcalls[fn];
        }
        if (lp_func_counts(G.f[fn], &le, &lx) != 0 || le != e || lx != x || le - lx != inside)
            m->counts++;
    }
}
