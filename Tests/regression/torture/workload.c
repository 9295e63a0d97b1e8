/*
 * The torture's threads: what each kind does in a round (work_once), the
 * long-lived workers, the churn of short-lived threads, and the signal
 * sender; each parks at the top of its loop when the driver pauses the
 * round (see torture.h).
 */
#include "torture.h"

#include <sched.h>

const char *const kind_names[] = { "worker", "block-fn", "block-kernel", "kthread", "offline", "churn", "liver", "signalled", "pad" };

/* ---- parking ------------------------------------------------------------------- */

static void park(void)
{
    pthread_mutex_lock(&G.lock);
    G.parked++;
    pthread_cond_signal(&G.parked_cv);
    while (atomic_load(&G.pause) && !atomic_load(&G.stop))
        pthread_cond_wait(&G.resume_cv, &G.lock);
    G.parked--;
    pthread_mutex_unlock(&G.lock);
}

static int should_park(void) { return atomic_load_explicit(&G.pause, memory_order_acquire); }

/* ---- workloads ------------------------------------------------------------------- */

/* One iteration of a thread's workload. */
void work_once(struct tctx *t)
{
    switch (t->kind) {
    case K_WORKER:
    case K_PAD: {
        int in_kernel = rnd(&t->rng, 10) < 7;
        if (in_kernel)
            kernel_enter(t);
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 3), 0);
        if (in_kernel)
            kernel_exit(t);
        break;
    }
    case K_BLOCK_FN:
        call_fn(t, (int)rnd(&t->rng, NPATCHABLE), 1 + (int)rnd(&t->rng, 2), block_time(t));
        break;
    case K_BLOCK_KERNEL:
        kernel_enter(t);
        sleep_nudgeable(t, block_time(t));
        call_fn(t, pick_top(t), 1, 0);
        kernel_exit(t);
        break;
    case K_KTHREAD:
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 2), 0);
        if (t->idx != 0 || !atomic_load_explicit(&G.lazy_kthread, memory_order_relaxed))
            safe_point(t);
        else
            atomic_store(&G.lazy_ack, 1); /* its section began before this: it will block */
        break;
    case K_OFFLINE:
        SIM_POINT(LP_SIM_SAFE_POINT);
        t->signalable = 0;
        lp_thread_offline();
        sleep_nudgeable(t, 1000000 + rnd(&t->rng, 9000000));
        SIM_POINT(LP_SIM_SAFE_POINT);
        lp_thread_online();
        t->signalable = 1;
        call_fn(t, pick_top(t), 1, 0);
        break;
    case K_CHURN:
        break;
    case K_LIVER: /* inside its never-patched function (live_enter): only the set blocks */
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 3), 0);
        break;
    case K_SIGNALLED: /* back-to-back outermost entries in a kernel section, under a stream of signals */
        kernel_enter(t);
        for (int i = 0; i < 32; i++)
            call_fn(t, (int)rnd(&t->rng, NPATCHABLE), 0, 0);
        kernel_exit(t);
        break;
    }
}

/* A liver thread lives inside a function that is never patched, as a real
 * program's main loop or worker function: it must never block a transition. */
int live_fn(const struct tctx *t) { return NPATCHABLE + t->idx % (NF - NPATCHABLE); }
void live_enter(struct tctx *t)
{
    lp_func_enter(G.f[live_fn(t)]);
    t->enters[live_fn(t)]++;
    t->living = 1;
}
void live_exit(struct tctx *t)
{
    t->living = 0;
    lp_func_exit(G.f[live_fn(t)]);
    t->exits[live_fn(t)]++;
}

void *worker(void *arg)
{
    struct tctx *t = arg;
    self = t;
    lp_thread_register(t->name);
    t->signalable = 1;
    if (t->kind == K_KTHREAD)
        kernel_enter(t); /* and never leaves: only safe points */
    if (t->kind == K_LIVER)
        live_enter(t);
    while (!atomic_load(&G.stop)) {
        if (should_park()) {
            if (t->kind == K_KTHREAD) {
                section_end(t); /* parked at a safe point */
                park();
                lp_safe_point();
                section_begin(t);
            } else {
                park();
            }
            continue;
        }
        work_once(t);
        debug_yield(t);
    }
    if (t->kind == K_KTHREAD)
        kernel_exit(t);
    if (t->kind == K_LIVER)
        live_exit(t);
    t->signalable = 0; /* its record goes when the thread does */
    return NULL;
}

/* A short-lived thread: a few call chains, then exit; one in eight exits
 * inside a kernel section (misuse the engine must survive and count). */
static void *churn_thread(void *arg)
{
    struct tctx *t = arg;
    self = t;
    int calls = 5 + (int)rnd(&t->rng, 40);
    for (int i = 0; i < calls; i++) {
        kernel_enter(t);
        call_fn(t, pick_top(t), 1 + (int)rnd(&t->rng, 2), 0);
        kernel_exit(t);
    }
    if (rnd(&t->rng, 8) == 0)
        kernel_enter(t); /* and exit without leaving it */
    pthread_mutex_lock(&G.lock);
    for (int f = 0; f < NF; f++) {
        G.churn_enters[f] += t->enters[f];
        G.churn_exits[f] += t->exits[f];
        t->enters[f] = t->exits[f] = 0;
    }
    pthread_mutex_unlock(&G.lock);
    atomic_store(&t->running, 0);
    return NULL;
}

void *churn_driver(void *arg)
{
    (void)arg;
    int live[CHURN_SLOTS] = { 0 };
    while (!atomic_load(&G.stop)) {
        int pausing = should_park();
        int any = 0;
        for (int s = 0; s < CHURN_SLOTS; s++) {
            struct tctx *t = &G.churn[s];
            if (live[s] && !atomic_load(&t->running)) {
                pthread_join(t->th, NULL);
                live[s] = 0;
            }
            if (!live[s] && !pausing) {
                t->incarnation++;
                atomic_store(&t->running, 1);
                live[s] = 1;
                if (pthread_create(&t->th, NULL, churn_thread, t) != 0) {
                    atomic_store(&t->running, 0);
                    live[s] = 0;
                }
            }
            any |= live[s];
        }
        if (pausing && !any)
            park();
        else {
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);
        }
    }
    for (int s = 0; s < CHURN_SLOTS; s++)
        if (live[s])
            pthread_join(G.churn[s].th, NULL);
    return NULL;
}

/* Signals the signalled threads at every pass, the threads seen inside a
 * hook, and now and then any thread, so that handlers land at every instant
 * of the hooks, lp_func_enter's announcement-to-epoch window included (a
 * signal is delivered microseconds after the look: mostly the signalled
 * threads, which do little else than enter, hit it). */
void *sender(void *arg)
{
    (void)arg;
    uint64_t rng = G.seed ^ 0x516ull;
    while (!atomic_load(&G.stop)) {
        if (should_park()) {
            park();
            continue;
        }
        for (unsigned k = 0; k < G.nctx; k++)
            if (G.ctx[k].kind == K_SIGNALLED || atomic_load_explicit(&G.ctx[k].in_hook, memory_order_relaxed) ||
                rnd(&rng, 64) == 0)
                pthread_kill(G.ctx[k].th, SIGUSR2);
        struct timespec ts = { 0, 20000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- the patch stack, as the harness models it ----------------------------------- */
