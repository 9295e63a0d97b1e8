/*
 * pigz_patcher.c — linked into pigz built with -finstrument-functions, or
 * with -fpatchable-function-entry=5 (this file is built with neither):
 * registers every pigz function before main, then, per LP_PIGZ_CHECK, runs
 * transitions against pigz while it works. One line per result on stderr,
 * "lp-pigz: ...", read by scripts/check-real-program.
 *
 *   LP_PIGZ_REGISTER=ftrace   register the functions with a patchable entry
 *                             (lp_ftrace_discover; else the executable's
 *                             symbol table, lp_func_register_object)
 *   LP_PIGZ_GLOB              register only the functions it matches (all;
 *                             symbol table only)
 *   LP_PIGZ_CHECK unset       register only (the round-trip runs)
 *   inner:MODEL               while pigz compresses, repeatedly put the inner
 *                             function LP_PIGZ_FUNC (deflate_engine) in a
 *                             patch's set under MODEL (UPSTREAM, KGRAFT,
 *                             KPATCH), enable, wait, disable, wait, destroy
 *   replace:MODEL             while pigz compresses, repeatedly replace
 *                             drop_space (buffer pools, called by every
 *                             thread for every block) with drop_space_new
 *                             below, the same code, under MODEL (UPSTREAM,
 *                             KPATCH, HIRAMATSU): enable, wait, disable,
 *                             wait; the output must not change (needs
 *                             redirection: the ftrace build)
 *   stall                     put the workers' long-lived compress_thread in
 *                             the set (UPSTREAM): the wait must time out, the
 *                             stall report (the JSON snapshot) must name it,
 *                             and the reverse must complete
 *   longjmp                   at exit, after pigz -t has thrown (try.c's
 *                             longjmp) out of infchk: a transition over infchk
 *                             started on the main thread must complete and
 *                             its patch be destroyed (no thread wedged)
 *
 * Every wait is bounded (LP_PIGZ_WAIT_MS, 5000 by default): a transition
 * that does not complete is reported with its stalled threads, reversed,
 * and ends the check.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "patcher_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pigz/yarn.h"

#define MS 1000000ull

static const char *mode;
static const char *inner_name;
static uint64_t wait_ns;
static pthread_t patcher;
static int stop;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t entries_of(lp_func_t *f)
{
    uint64_t entries = 0, exits = 0;
    lp_func_counts(f, &entries, &exits);
    return entries;
}

static int print_stalled(const lp_thread_info_t *t, void *ctx)
{
    (void)ctx;
    const char *reason = t->reason == LP_STALL_IN_KERNEL ? "in-kernel"
                         : t->reason == LP_STALL_IN_SET ? "in-set"
                         : t->reason == LP_STALL_NO_SWITCH_POINT ? "no-switch-point" : "other";
    fprintf(stderr, "lp-pigz:   stalled thread %s (tid %d): %s, function depth %u\n", t->name, t->tid, reason,
            t->function_depth);
    return 0;
}

/* The bounded wait of every check: on a timeout, the stalled threads are
 * reported and the transition reversed. */
static int wait_or_reverse(const char *what)
{
    uint64_t start = now_ns();
    int rc = lp_transition_wait(wait_ns);
    if (rc == 0)
        return 0;
    fprintf(stderr, "lp-pigz: %s: lp_transition_wait gave %d (%s) after %llu ms\n", what, rc, lp_strerror(rc),
            (unsigned long long)((now_ns() - start) / MS));
    lp_transition_for_each_stalled(print_stalled, NULL);
    int rv = lp_transition_reverse();
    int rw = rv == 0 ? lp_transition_wait(wait_ns) : rv;
    fprintf(stderr, "lp-pigz: %s: reverse %d, its wait %d (%s)\n", what, rv, rw, lp_strerror(rw));
    return rc;
}

/* Until f has run `calls` times, or a bound. */
static int await_calls(lp_func_t *f, uint64_t calls)
{
    for (int i = 0; i < 20000 && !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
        if (entries_of(f) >= calls)
            return 1;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return 0;
}

static void inner_check(const char *model_name)
{
    lp_model_t model = preset_named(model_name);
    lp_func_t *f = lp_func_lookup(inner_name);
    if (model == LP_MODEL_INVALID || !f || !await_calls(f, 1)) {
        fprintf(stderr, "lp-pigz: inner %s: FAILED to start (model %s, function %s %s)\n", model_name, model_name,
                inner_name, f ? "never ran" : "not registered");
        return;
    }
    /* A pair counts as run during the compression when the function still
     * ran after it completed (checked at the next pair's start): one that
     * completes only because pigz finished does not count. */
    unsigned completed = 0, during = 0, failed = 0;
    uint64_t longest = 0, at_end = UINT64_MAX;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) && !failed) {
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        during += at_end != UINT64_MAX && entries_of(f) > at_end;
        at_end = UINT64_MAX;
        char name[32];
        snprintf(name, sizeof name, "inner-%u", completed);
        lp_patch_t *p = lp_patch_create(name, model, 0);
        uint64_t start = now_ns();
        int rc = lp_patch_extend_set(p, f);
        rc = rc ? rc : lp_patch_enable(p);
        if (rc != 0) {
            fprintf(stderr, "lp-pigz: inner %s: enable gave %d (%s)\n", model_name, rc, lp_strerror(rc));
            failed = 1;
        } else if (wait_or_reverse("inner enable") != 0) {
            failed = 1;
        } else if ((rc = lp_patch_disable(p)) != 0 || wait_or_reverse("inner disable") != 0) {
            if (rc) fprintf(stderr, "lp-pigz: inner %s: disable gave %d (%s)\n", model_name, rc, lp_strerror(rc));
            failed = 1;
        } else {
            uint64_t took = now_ns() - start;
            longest = took > longest ? took : longest;
            completed++;
            at_end = entries_of(f);
        }
        rc = lp_patch_destroy(p);
        if (rc != 0) {
            fprintf(stderr, "lp-pigz: inner %s: destroy gave %d (%s)\n", model_name, rc, lp_strerror(rc));
            failed = 1;
        }
    }
    fprintf(stderr, "lp-pigz: inner %s: %s: %u enable+disable pairs completed, %u while %s ran, longest %llu ms\n",
            model_name, failed ? "FAILED" : during > 0 ? "ok" : "FAILED (no pair completed while pigz still compressed)",
            completed, during, inner_name, (unsigned long long)(longest / MS));
}

static const char *stall_name = "compress_thread";
static lp_patch_t *stall_patch, *progress;
static int stall_prepared;

/* Before main: the patch's name does not mention the function, so that a
 * hit in the snapshot is the stall report's. The function is named in it
 * before any worker starts: a pad is armed from then on, and a thread
 * already inside it would not be counted. The inner function is counted
 * too, in a patch that is never enabled: a pad counts only while a patch
 * names it. */
static void stall_prepare(void)
{
    lp_func_t *f = lp_func_lookup(stall_name), *inner = lp_func_lookup(inner_name);
    stall_patch = lp_patch_create("long-lived", LP_MODEL_UPSTREAM, 0);
    progress = lp_patch_create("progress", LP_MODEL_UPSTREAM, 0);
    stall_prepared = f && inner && lp_patch_extend_set(stall_patch, f) == 0 && lp_patch_extend_set(progress, inner) == 0;
}

static void stall_check(void)
{
    const char *name = stall_name;
    lp_func_t *f = lp_func_lookup(name);
    lp_func_t *inner = lp_func_lookup(inner_name);
    lp_patch_t *p = stall_patch;
    int rc = stall_prepared ? 0 : -ENOENT;
    /* Every worker (pigz -p 4 starts them as blocks queue up) inside
     * compress_thread before the transition: one that entered it after
     * would run it in the new universe, and rightly hold the reverse up
     * until it returns, at the end of the compression. */
    if (rc != 0 || !inner || !await_calls(f, 4) || !await_calls(inner, 1)) {
        fprintf(stderr, "lp-pigz: stall: FAILED to start (%s or %s not registered or never ran)\n", name, inner_name);
        return;
    }
    rc = lp_patch_enable(p);
    if (rc != 0) {
        fprintf(stderr, "lp-pigz: stall: FAILED, enable gave %d (%s)\n", rc, lp_strerror(rc));
        return;
    }
    uint64_t short_wait = 300 * MS;
    rc = lp_transition_wait(short_wait);
    unsigned stalled = 0;
    lp_transition_for_each_stalled(print_stalled, NULL);
    lp_transition_status_t st;
    if (lp_transition_status(&st) == 0)
        stalled = st.pending_threads;
    char json[1 << 16];
    int len = lp_status_json(json, sizeof json);
    int named = len > 0 && len < (int)sizeof json && strstr(json, "\"compress_thread\"") != NULL;
    fprintf(stderr, "lp-pigz: stall: %s: wait gave %d (%s), %u threads pending\n",
            rc == -ETIMEDOUT && stalled > 0 ? "ok" : "FAILED", rc, lp_strerror(rc), stalled);
    fprintf(stderr, "lp-pigz: stall report: %s: the JSON snapshot %s %s\n", named ? "ok" : "FAILED",
            named ? "names" : "does not name", name);
    int rv = rc == 0 ? lp_patch_disable(p) : lp_transition_reverse();
    int rw = rv == 0 ? lp_transition_wait(wait_ns) : rv;
    int rd = lp_patch_destroy(p);
    /* A reverse that completed only because pigz finished proves nothing:
     * the workers must still be compressing after it. */
    uint64_t at_end = entries_of(inner);
    int during = 0;
    while (!during && !__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        during = entries_of(inner) > at_end;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    rd = rd ? rd : lp_patch_destroy(progress);
    fprintf(stderr, "lp-pigz: stall reverse: %s: reverse %d, its wait %d (%s), destroy %d (%s), %s\n",
            rv == 0 && rw == 0 && rd == 0 && during ? "ok" : "FAILED", rv, rw, lp_strerror(rw), rd, lp_strerror(rd),
            during ? "while pigz compressed" : "but only once pigz had finished");
}

/* pigz's buffer pools (pigz.c, unchanged). */
struct space {
    lock *use;
    unsigned char *buf;
    size_t size;
    size_t len;
    struct pool *pool;
    struct space *next;
};
struct pool {
    lock *have;
    struct space *head;
    size_t size;
    int limit;
    int made;
};

static unsigned long new_calls;

/* pigz.c's drop_space, as a patch would ship it: the same code. */
static void drop_space_new(struct space *space)
{
    __atomic_fetch_add(&new_calls, 1, __ATOMIC_RELAXED);
    if (space == NULL)
        return;
    possess(space->use);
    long use = peek_lock(space->use);
    twist(space->use, BY, -1);
    if (use == 1) {
        struct pool *pool = space->pool;
        possess(pool->have);
        space->next = pool->head;
        pool->head = space;
        twist(pool->have, BY, +1);
    }
}

static void replace_check(const char *model_name)
{
    lp_model_t model = preset_named(model_name);
    lp_func_t *f = lp_func_lookup("drop_space");
    if (model == LP_MODEL_INVALID || !f || lp_ftrace_patchable(f) != 1) {
        fprintf(stderr, "lp-pigz: replace %s: FAILED to start (drop_space %s)\n", model_name,
                f ? "has no patchable entry" : "not registered");
        return;
    }
    unsigned completed = 0, failed = 0;
    unsigned long before = 0, ran_new = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) && !failed) {
        lp_patch_t *p = lp_patch_create("replace", model, 0);
        int rc = lp_patch_add_func(p, f, (const void *)drop_space_new);
        rc = rc ? rc : lp_patch_enable(p);
        if (rc != 0 || wait_or_reverse("replace enable") != 0) {
            failed = 1;
        } else {
            before = __atomic_load_n(&new_calls, __ATOMIC_RELAXED);
            nanosleep(&(struct timespec){0, 2000000}, NULL);
            ran_new += __atomic_load_n(&new_calls, __ATOMIC_RELAXED) > before;
            if ((rc = lp_patch_disable(p)) != 0 || wait_or_reverse("replace disable") != 0)
                failed = 1;
            else
                completed++;
        }
        if (rc != 0)
            fprintf(stderr, "lp-pigz: replace %s: gave %d (%s)\n", model_name, rc, lp_strerror(rc));
        failed |= lp_patch_destroy(p) != 0;
    }
    fprintf(stderr, "lp-pigz: replace %s: %s: %u enable+disable pairs, the replacement ran %lu times (in %u of them)\n",
            model_name, !failed && ran_new > 0 ? "ok" : "FAILED", completed, __atomic_load_n(&new_calls, __ATOMIC_RELAXED),
            (unsigned)ran_new);
}

static void *patcher_main(void *arg)
{
    (void)arg;
    lp_thread_register("lp-pigz-patcher");
    if (strncmp(mode, "inner:", 6) == 0)
        inner_check(mode + 6);
    else if (strncmp(mode, "replace:", 8) == 0)
        replace_check(mode + 8);
    else
        stall_check();
    return NULL;
}

/* On the main thread, after pigz's main returned: outside every pigz
 * function unless a longjmp left frames counted. */
static void longjmp_check(void)
{
    const char *name = "infchk";
    lp_func_t *f = lp_func_lookup(name);
    uint64_t entries = 0, exits = 0;
    if (!f || lp_func_counts(f, &entries, &exits) != 0 || entries == 0) {
        fprintf(stderr, "lp-pigz: longjmp: FAILED: %s not registered or never ran\n", name);
        return;
    }
    fprintf(stderr, "lp-pigz: longjmp: %s entered %llu times, exited %llu times\n", name,
            (unsigned long long)entries, (unsigned long long)exits);
    lp_patch_t *p = lp_patch_create("after-longjmp", LP_MODEL_KPATCH, 0);
    int re = lp_patch_extend_set(p, f);
    re = re ? re : lp_patch_enable(p);
    int rw = re == 0 ? lp_transition_wait(wait_ns) : re;
    int rd = -1, rdw = -1;
    if (rw == 0) {
        rd = lp_patch_disable(p);
        rdw = rd == 0 ? lp_transition_wait(wait_ns) : rd;
    }
    int rx = lp_patch_destroy(p);
    fprintf(stderr, "lp-pigz: longjmp: %s: enable %d, wait %d (%s), disable %d, its wait %d, destroy %d (%s)\n",
            re == 0 && rw == 0 && rd == 0 && rdw == 0 && rx == 0 ? "ok" : "FAILED", re, rw, lp_strerror(rw), rd, rdw,
            rx, lp_strerror(rx));
}

static void finish(void)
{
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    if (strcmp(mode, "longjmp") == 0)
        longjmp_check();
    else
        pthread_join(patcher, NULL);
}

__attribute__((constructor)) static void start(void)
{
    const char *how = getenv("LP_PIGZ_REGISTER");
    int ftrace = how && strcmp(how, "ftrace") == 0;
    int n = ftrace ? lp_ftrace_discover(0) : lp_func_register_object(NULL, getenv("LP_PIGZ_GLOB"), 0);
    fprintf(stderr, "lp-pigz: registered %d functions from %s\n", n,
            ftrace ? "their patchable entries" : "the executable's symbol table");
    mode = getenv("LP_PIGZ_CHECK");
    if (n <= 0 || !mode || !*mode)
        return;
    inner_name = getenv("LP_PIGZ_FUNC") ? getenv("LP_PIGZ_FUNC") : "deflate_engine";
    wait_ns = (getenv("LP_PIGZ_WAIT_MS") ? strtoull(getenv("LP_PIGZ_WAIT_MS"), NULL, 10) : 5000) * MS;
    atexit(finish);
    if (strcmp(mode, "stall") == 0)
        stall_prepare();
    if (strcmp(mode, "longjmp") != 0 && start_patcher_thread(&patcher, patcher_main, NULL) != 0) {
        fprintf(stderr, "lp-pigz: FAILED to start the patcher thread\n");
        exit(1);
    }
}
