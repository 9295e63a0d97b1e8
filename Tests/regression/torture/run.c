/*
 * lp_torture_run (see include/lp_torture.h): sets the engine up for the
 * torture, then runs the threaded rounds or the simulation (sim.c).
 */
#include "torture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct torture_state G;

/* The run's parameters from the checked options. */
static void configure(const lp_torture_options_t *o)
{
    G.threads = (unsigned)o->threads;
    G.duration = o->duration;
    G.seed = o->seed;
    G.nudges = !o->no_nudges;
    G.progress = !o->no_progress && isatty(STDERR_FILENO);
    G.inject = o->inject;
    G.json_out = o->json_out;
    G.text = o->text;
    /* Draining a hold takes CPU time from every thread inside the area: on a
     * small machine that grows with the thread count. */
    G.bound_ns = o->bound_ms * 1000000ull;
    if (G.bound_ns < G.threads * 5000000ull)
        G.bound_ns = G.threads * 5000000ull;
    sim_configure(o);
}

/* One table row per distinct model of the selection: a preset equal to a
 * bare cell (KGRAFT is KERNEL x THREAD) shares its row, and its name. */
static void make_stats(const lp_model_t *models, const char *const *names, size_t nmodels)
{
    G.stats = calloc(nmodels, sizeof *G.stats);
    for (size_t i = 0; i < nmodels; i++) {
        size_t j;
        for (j = 0; j < G.nstats && G.stats[j].model != models[i]; j++)
            ;
        if (j == G.nstats) {
            G.stats[G.nstats].model = models[i];
            G.stats[G.nstats++].name = names[i];
        }
    }
}

/* Registers the functions (or finds them, in a process that ran a torture
 * before) and arms their pads; 0, or -1 with a line on stderr. *pads: the
 * build's pads are usable. */
static int set_up_functions(int *pads)
{
    char name[32];
    for (int fn = 0; fn < NF; fn++) {
        snprintf(name, sizeof name, "torture.f%d", fn);
        G.f[fn] = lp_func_lookup(name);
        if (!G.f[fn])
            G.f[fn] = lp_func_register(name, (const void *)impls[fn][0]);
        if (!G.f[fn]) {
            fprintf(stderr, "torture: lp_func_register: %s\n", strerror(errno));
            return -1;
        }
    }
    /* A build whose pads the engine cannot use (the CLI's SwiftPM link) runs
     * without pad threads, and says so. */
    *pads = pad_workload_setup(G.f, NF) == 0;
    if (!*pads)
        fprintf(stderr, "torture: no usable patchable entries in this build: no pad threads\n");
    return 0;
}

/* Each handler blocks the other's signal: a thread's handler calls never nest. */
static void set_up_signals(void)
{
    struct sigaction sa = { .sa_handler = on_nudge };
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR2, &sa, NULL);
    lp_set_nudge_signal(G.nudges ? SIGUSR1 : 0);
}

/* The threads' contexts: mostly workers, plus blockers, kthreads, offline
 * sleepers, livers, signalled and pad threads, and the churn slots; 0, or
 * -1 with a line on stderr. */
static int make_contexts(int pads)
{
    G.nctx = G.threads;
    G.ctx = calloc(G.nctx, sizeof *G.ctx);
    uint64_t per_thread = (256ull << 20) / G.nctx / sizeof(struct rec);
    uint32_t cap = per_thread < 512 ? 512 : per_thread > 8192 ? 8192 : (uint32_t)per_thread;
    uint64_t seed = G.seed;
    unsigned nk = 2, nbf = G.threads / 20, nbk = G.threads / 20, noff = G.threads / 20, nliv = G.threads / 20, nsig = 2,
             npad = pads ? G.threads / 8 : 0;
    for (unsigned k = 0; k < G.nctx + CHURN_SLOTS; k++) {
        struct tctx *t = k < G.nctx ? &G.ctx[k] : &G.churn[k - G.nctx];
        unsigned kind_idx = k < nk ? K_KTHREAD : k < nk + nbf ? K_BLOCK_FN : k < nk + nbf + nbk ? K_BLOCK_KERNEL
                          : k < nk + nbf + nbk + noff ? K_OFFLINE : k < nk + nbf + nbk + noff + nliv ? K_LIVER
                          : k < nk + nbf + nbk + noff + nliv + nsig ? K_SIGNALLED
                          : k < nk + nbf + nbk + noff + nliv + nsig + npad ? K_PAD : K_WORKER;
        t->kind = k < G.nctx ? (enum kind)kind_idx : K_CHURN;
        t->idx = (int)k;
        snprintf(t->name, sizeof t->name, "%s-%u", kind_names[t->kind], k);
        t->rng = splitmix(&seed);
        t->hrng = splitmix(&seed);
        t->cap = cap;
        t->recs = calloc(cap, sizeof *t->recs);
        t->scap = cap / 2;
        t->sects = calloc(t->scap, sizeof *t->sects);
        t->cur_parent = NONE;
        if (!t->recs || !t->sects) {
            fprintf(stderr, "torture: out of memory for %u threads\n", G.threads);
            return -1;
        }
    }
    return 0;
}

/* Starts every thread, paused, and waits until all have parked; 0, or -1
 * with a line on stderr. */
static int start_threads(void)
{
    pthread_mutex_init(&G.lock, NULL);
    pthread_cond_init(&G.parked_cv, NULL);
    pthread_cond_init(&G.resume_cv, NULL);
    atomic_store(&G.pause, 1);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    G.parties = (int)G.nctx + 2;
    for (unsigned k = 0; k < G.nctx; k++)
        if (pthread_create(&G.ctx[k].th, &attr, worker, &G.ctx[k]) != 0) {
            fprintf(stderr, "torture: pthread_create: thread %u of %u\n", k, G.nctx);
            return -1;
        }
    pthread_create(&G.churn_driver, &attr, churn_driver, NULL);
    pthread_create(&G.sender, &attr, sender, NULL);
    pthread_mutex_lock(&G.lock);
    while (G.parked < G.parties)
        pthread_cond_wait(&G.parked_cv, &G.lock);
    pthread_mutex_unlock(&G.lock);
    return 0;
}

/* Rounds until the duration is spent; returns when it started. */
static uint64_t run_rounds(const lp_model_t *models, size_t nmodels)
{
    uint64_t start = now_ns(), end = start + (uint64_t)(G.duration * 1e9);
    uint64_t rng = G.seed ^ 0x5eedull;
    for (unsigned round = 0; now_ns() < end; round++) {
        if (run_round(&rng, round, models, nmodels))
            G.passed++;
        else
            G.failed++;
        if (G.progress) {
            char what[64];
            snprintf(what, sizeof what, "%" PRIu64 " transitions, %" PRIu64 " failed", G.passed + G.failed, G.failed);
            show_progress((double)(now_ns() - start) / (double)(end - start), start, what);
        }
    }
    if (G.progress)
        fprintf(stderr, "\n");
    return start;
}

/* Leaves nothing enabled, so that a process running several tortures
 * starts clean, and ends every thread. */
static void stop_threads(void)
{
    empty_stack(G.bound_ns);
    atomic_store(&G.stop, 1);
    resume_all();
    pthread_join(G.sender, NULL); /* before the workers end: it signals only live threads */
    for (unsigned k = 0; k < G.nctx; k++)
        pthread_join(G.ctx[k].th, NULL);
    pthread_join(G.churn_driver, NULL);
}

int lp_torture_run(lp_torture_options_t *o)
{
    configure(o);
    make_stats(o->model_ids, o->model_names, o->nmodels);
    /* The bug first: pad-not-written breaks the arming below. */
    if (G.inject)
        lp_debug_inject_bug(G.inject);
    int pads;
    if (set_up_functions(&pads) != 0)
        return 1;
    set_up_signals();
    /* Blockers sleep up to 4 ms inside functions: hold new entries long enough to drain them. */
    lp_set_switch_policy(10000000, 2000000);
    if (o->sim) {
        int status = sim_main(o);
        lp_debug_inject_bug(LP_BUG_NONE);
        return status;
    }

    if (make_contexts(pads) != 0 || start_threads() != 0)
        return 1;
    fprintf(G.text, "torture: %u threads, %.0f s, seed %" PRIu64 ", %zu models%s%s\n", G.threads, G.duration, G.seed,
            o->nmodels, G.inject ? ", injected bug: " : "", G.inject ? o->inject_bug : "");
    fflush(G.text);
    uint64_t start = run_rounds(o->model_ids, o->nmodels);
    stop_threads();
    if (G.inject)
        lp_debug_inject_bug(LP_BUG_NONE);
    return print_summary((double)(now_ns() - start) / 1e9);
}
