/*
 * lua_patcher.c — linked into Lua built with -finstrument-functions (this
 * file is built without it): registers every Lua function from the
 * executable's symbol table before main, then, per LP_LUA_CHECK, runs
 * transitions against the interpreter while it runs a script. One line per
 * result on stderr, "lp-lua: ...", read by scripts/check-real-program.
 *
 *   LP_LUA_REGISTER=ftrace   register the functions with a patchable entry
 *                        (lp_ftrace_discover; else the executable's symbol
 *                        table, lp_func_register_object)
 *   LP_LUA_CHECK unset   register only (the script's output is compared)
 *   MODEL                while the script runs, repeatedly put the
 *                        functions of Lua's error paths that are not always
 *                        on its stack (below) in a patch's set under MODEL
 *                        (UPSTREAM, KGRAFT, KPATCH, HIRAMATSU): enable,
 *                        wait, disable, wait, destroy; every fourth enable
 *                        is reversed before its wait instead
 *
 * At exit, on the main thread, after Lua's main returned: every function of
 * those paths has as many exits as entries (with pads, only the set's are
 * counted, and only while a patch names them), the thread is inside
 * nothing, and no exit was unbalanced. Every wait is bounded (LP_LUA_WAIT_MS, 5000 by
 * default): a transition that does not complete is reported with its
 * stalled threads, reversed, and ends the check.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "preset_named.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS 1000000ull

/* Lua's error and coroutine paths: each runs and returns (or is jumped out
 * of) many times a second, and none lies on the stack for the whole
 * script, as luaD_rawrunprotected and luaV_execute do. */
static const char *const set_names[] = {
    "luaD_throw", "luaG_errormsg", "lua_error", "luaB_error", "luaB_pcall", "lua_resume", "luaH_getshortstr", "luaV_concat",
};
#define N_SET (sizeof set_names / sizeof set_names[0])
/* Counted at exit: the set (first), and what lies between it and the
 * protected calls the jumps land in. */
static const char *const counted_names[] = {
    "luaD_throw", "luaG_errormsg", "lua_error", "luaB_error", "luaB_pcall", "lua_resume", "luaH_getshortstr", "luaV_concat",
    "luaD_rawrunprotected", "luaD_pcall", "lua_pcallk", "luaD_call", "luaD_callnoyield", "luaV_execute", "luaD_precall",
};
#define N_COUNTED (sizeof counted_names / sizeof counted_names[0])

static const char *mode;
static int ftrace;
static uint64_t wait_ns;
static pthread_t patcher;
static int stop;
static unsigned completed, reversed, failed;

static int print_stalled(const lp_thread_info_t *t, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "lp-lua:   stalled thread %s (tid %d): reason %d, function depth %u\n", t->name, t->tid, t->reason,
            t->function_depth);
    return 0;
}

/* The bounded wait: on a timeout, the stalled threads are reported and the
 * transition reversed. */
static int wait_or_reverse(const char *what)
{
    int rc = lp_transition_wait(wait_ns);
    if (rc == 0)
        return 0;
    fprintf(stderr, "lp-lua: %s: lp_transition_wait gave %d (%s)\n", what, rc, lp_strerror(rc));
    lp_transition_for_each_stalled(print_stalled, NULL);
    int rv = lp_transition_reverse();
    fprintf(stderr, "lp-lua: %s: reverse %d, its wait %d\n", what, rv, rv == 0 ? lp_transition_wait(wait_ns) : rv);
    return rc;
}

static int one_patch(lp_model_t model)
{
    lp_patch_t *p = lp_patch_create("lua-errors", model, 0);
    int rc = p ? 0 : -errno;
    for (size_t i = 0; i < N_SET && rc == 0; i++) {
        lp_func_t *f = lp_func_lookup(set_names[i]);
        rc = f ? lp_patch_extend_set(p, f) : -ENOENT;
        if (rc) fprintf(stderr, "lp-lua: %s: %s\n", set_names[i], lp_strerror(rc));
    }
    rc = rc ? rc : lp_patch_enable(p);
    if (rc != 0) {
        fprintf(stderr, "lp-lua: enable gave %d (%s)\n", rc, lp_strerror(rc));
    } else if (completed % 4 == 3) {
        rc = lp_transition_reverse();
        rc = rc ? rc : wait_or_reverse("reversed enable");
        reversed += rc == 0;
    } else if ((rc = wait_or_reverse("enable")) == 0) {
        rc = lp_patch_disable(p);
        rc = rc ? rc : wait_or_reverse("disable");
    }
    int rd = p ? lp_patch_destroy(p) : 0;
    if (rd != 0) fprintf(stderr, "lp-lua: destroy gave %d (%s)\n", rd, lp_strerror(rd));
    return rc ? rc : rd;
}

static void *patcher_main(void *arg)
{
    lp_model_t model = *(lp_model_t *)arg;
    lp_thread_register("lp-lua-patcher");
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) && !failed) {
        nanosleep(&(struct timespec){0, 500000}, NULL);
        if (one_patch(model) != 0)
            failed = 1;
        else
            completed++;
    }
    return NULL;
}

static void finish(void)
{
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(patcher, NULL);
    unsigned unbalanced = 0;
    size_t n_counted = ftrace ? N_SET : N_COUNTED;
    for (size_t i = 0; i < n_counted; i++) {
        uint64_t entries = 0, exits = 0;
        lp_func_t *f = lp_func_lookup(counted_names[i]);
        if (!f || lp_func_counts(f, &entries, &exits) != 0 || (entries == 0 && !ftrace) || entries != exits) {
            fprintf(stderr, "lp-lua:   %s: %llu entries, %llu exits\n", counted_names[i], (unsigned long long)entries,
                    (unsigned long long)exits);
            unbalanced++;
        }
    }
    lp_transition_status_t st;
    lp_transition_status(&st);
    lp_thread_state_t states[4];
    lp_snapshot_t snap = {.threads = states, .threads_cap = 4};
    lp_status_snapshot(&snap);
    uint32_t depth = UINT32_MAX;
    for (uint32_t i = 0; i < snap.n_threads && i < 4; i++)
        if (strcmp(states[i].name, "lp-lua-patcher") != 0) depth = states[i].function_depth;
    int ok = !failed && completed >= 10 && unbalanced == 0 && depth == 0 && st.unbalanced_exits == 0;
    fprintf(stderr,
            "lp-lua: %s: %s: %u transitions completed while Lua ran (%u reversed); %u of %zu error-path functions "
            "with entries != exits; main thread depth %u at exit; %llu unbalanced exits; %llu frames exited as "
            "abandoned\n",
            mode, ok ? "ok" : "FAILED", completed, reversed, unbalanced, n_counted, depth,
            (unsigned long long)st.unbalanced_exits, (unsigned long long)st.abandoned_exits);
}

__attribute__((constructor)) static void start(void)
{
    const char *how = getenv("LP_LUA_REGISTER");
    ftrace = how && strcmp(how, "ftrace") == 0;
    int n = ftrace ? lp_ftrace_discover(0) : lp_func_register_object(NULL, NULL, 0);
    fprintf(stderr, "lp-lua: registered %d functions from %s\n", n,
            ftrace ? "their patchable entries" : "the executable's symbol table");
    mode = getenv("LP_LUA_CHECK");
    if (n <= 0 || !mode || !*mode)
        return;
    static lp_model_t model;
    model = preset_named(mode);
    wait_ns = (getenv("LP_LUA_WAIT_MS") ? strtoull(getenv("LP_LUA_WAIT_MS"), NULL, 10) : 5000) * MS;
    if (model == LP_MODEL_INVALID || pthread_create(&patcher, NULL, patcher_main, &model) != 0) {
        fprintf(stderr, "lp-lua: %s: FAILED to start the patcher\n", mode);
        exit(1);
    }
    atexit(finish);
}
