/*
 * program_patcher.c — linked into an unmodified program built with
 * -finstrument-functions or with pads (-fpatchable-function-entry=5); this
 * file is built with neither. Registers every function of the program
 * before main, then, per LP_PROGRAM_CHECK, runs transitions against it
 * while it runs. One line per result, "lp-program: ...", on stderr (or
 * appended to LP_PROGRAM_LOG), read by scripts/check-real-program (Lua)
 * and by the recipe of bash.md (bash's own test suite).
 *
 *   LP_PROGRAM_REGISTER=ftrace  register the functions with a patchable
 *                       entry (lp_ftrace_discover; else the executable's
 *                       symbol table, lp_func_register_object)
 *   LP_PROGRAM_CHECK    unset: register only (the program's output is
 *                       compared). A preset (UPSTREAM, KGRAFT, KPATCH,
 *                       HIRAMATSU): while the program runs, a patcher
 *                       thread puts the functions of LP_PROGRAM_SET in a
 *                       patch's set under it over and over (enable, wait,
 *                       disable, wait, destroy; every fourth enable is
 *                       reversed before its wait instead)
 *   LP_PROGRAM_SET      the set: function names, comma-separated; choose
 *                       functions that return often, not one that lies on
 *                       the stack for the whole run (main, an interpreter's
 *                       loop), which rightly holds every transition up
 *   LP_PROGRAM_COUNTED  more functions, comma-separated, that must have as
 *                       many exits as entries at exit (those of the set
 *                       must too; with pads only the set's are counted,
 *                       and only while a patch names them)
 *   LP_PROGRAM_MIN      transitions that must complete while the program
 *                       runs (0)
 *   LP_PROGRAM_WAIT_MS  the bound on every wait (5000): a transition that
 *                       does not complete is reported with its stalled
 *                       threads, reversed, and ends the check
 *   LP_PROGRAM_LOG      append the lines to this file (a shell's test
 *                       suite compares what its shells print)
 *
 * The check ends at exit, in the process that started the patcher (a fork
 * child has none): then every counted function is balanced, no exit was
 * unbalanced, and at least LP_PROGRAM_MIN transitions completed.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "patcher_common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define MAX_NAMES 64

struct names {
    char buf[4096];
    const char *name[MAX_NAMES];
    size_t n;
};

static struct names set, counted;
static const char *mode;
static int ftrace;
static unsigned min_completed;
static uint64_t wait_ns;
static const char *log_path;
static pid_t patcher_pid;
static pthread_t patcher;
static int stop;
static unsigned completed, reversed, failed;

/* One line of the report, on stderr or appended to LP_PROGRAM_LOG. The
 * log is opened for each line, so that no descriptor of the program's is
 * taken for the program's life (bash's tests close, reuse and count them);
 * a line the log cannot take (a test that ran out of descriptors) is lost
 * rather than written into the program's own output. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    int fd = log_path ? open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : STDERR_FILENO;
    if (fd < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vdprintf(fd, fmt, ap);
    va_end(ap);
    if (log_path) close(fd);
}

/* The comma-separated names of `list` and of `more` (either may be NULL). */
static void split_names(struct names *into, const char *list, const char *more)
{
    snprintf(into->buf, sizeof into->buf, "%s,%s", list ? list : "", more ? more : "");
    into->n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(into->buf, ",", &save); tok && into->n < MAX_NAMES; tok = strtok_r(NULL, ",", &save))
        into->name[into->n++] = tok;
}

static int print_stalled(const lp_thread_info_t *t, void *ctx)
{
    (void)ctx;
    say("lp-program:   stalled thread %s (tid %d): reason %d, function depth %u\n", t->name, t->tid, t->reason,
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
    say("lp-program: %s: lp_transition_wait gave %d (%s)\n", what, rc, lp_strerror(rc));
    lp_transition_for_each_stalled(print_stalled, NULL);
    int rv = lp_transition_reverse();
    say("lp-program: %s: reverse %d, its wait %d\n", what, rv, rv == 0 ? lp_transition_wait(wait_ns) : rv);
    return rc;
}

static int one_patch(lp_model_t model)
{
    lp_patch_t *p = lp_patch_create("program", model, 0);
    int rc = p ? 0 : -errno;
    for (size_t i = 0; i < set.n && rc == 0; i++) {
        lp_func_t *f = lp_func_lookup(set.name[i]);
        rc = f ? lp_patch_extend_set(p, f) : -ENOENT;
        if (rc) say("lp-program: %s: %s\n", set.name[i], lp_strerror(rc));
    }
    rc = rc ? rc : lp_patch_enable(p);
    if (rc != 0) {
        say("lp-program: enable gave %d (%s)\n", rc, lp_strerror(rc));
    } else if (completed % 4 == 3) {
        rc = lp_transition_reverse();
        rc = rc ? rc : wait_or_reverse("reversed enable");
        reversed += rc == 0;
    } else if ((rc = wait_or_reverse("enable")) == 0) {
        rc = lp_patch_disable(p);
        rc = rc ? rc : wait_or_reverse("disable");
    }
    int rd = p ? lp_patch_destroy(p) : 0;
    if (rd != 0) say("lp-program: destroy gave %d (%s)\n", rd, lp_strerror(rd));
    return rc ? rc : rd;
}

static void *patcher_main(void *arg)
{
    lp_model_t model = *(lp_model_t *)arg;
    lp_thread_register("lp-program-patcher");
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
    if (getpid() != patcher_pid) /* a fork child: its parent's patcher is not here */
        return;
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(patcher, NULL);
    unsigned unbalanced = 0;
    for (size_t i = 0; i < counted.n; i++) {
        uint64_t entries = 0, exits = 0;
        lp_func_t *f = lp_func_lookup(counted.name[i]);
        if (!f || lp_func_counts(f, &entries, &exits) != 0 || entries != exits) {
            say("lp-program:   %s: %llu entries, %llu exits%s\n", counted.name[i], (unsigned long long)entries,
                    (unsigned long long)exits, f ? "" : " (not registered)");
            unbalanced++;
        }
    }
    lp_transition_status_t st;
    lp_transition_status(&st);
    int ok = !failed && completed >= min_completed && unbalanced == 0 && st.unbalanced_exits == 0;
    say(
            "lp-program: %s: %s: %u transitions completed while the program ran (%u reversed); %u of %zu counted "
            "functions with entries != exits; %llu unbalanced exits; %llu frames exited as abandoned\n",
            mode, ok ? "ok" : "FAILED", completed, reversed, unbalanced, counted.n,
            (unsigned long long)st.unbalanced_exits, (unsigned long long)st.abandoned_exits);
}

__attribute__((constructor)) static void start(void)
{
    log_path = getenv("LP_PROGRAM_LOG");
    const char *how = getenv("LP_PROGRAM_REGISTER");
    ftrace = how && strcmp(how, "ftrace") == 0;
    int n = ftrace ? lp_ftrace_discover(0) : lp_func_register_object(NULL, NULL, 0);
    say("lp-program: registered %d functions from %s\n", n,
            ftrace ? "their patchable entries" : "the executable's symbol table");
    mode = getenv("LP_PROGRAM_CHECK");
    if (n <= 0 || !mode || !*mode)
        return;
    split_names(&set, getenv("LP_PROGRAM_SET"), NULL);
    split_names(&counted, getenv("LP_PROGRAM_SET"), ftrace ? NULL : getenv("LP_PROGRAM_COUNTED"));
    min_completed = getenv("LP_PROGRAM_MIN") ? (unsigned)strtoul(getenv("LP_PROGRAM_MIN"), NULL, 10) : 0;
    wait_ns = (getenv("LP_PROGRAM_WAIT_MS") ? strtoull(getenv("LP_PROGRAM_WAIT_MS"), NULL, 10) : 5000) * MS;
    static lp_model_t model;
    model = preset_named(mode);
    patcher_pid = getpid();
    if (model == LP_MODEL_INVALID || set.n == 0 || start_patcher_thread(&patcher, patcher_main, &model) != 0) {
        say("lp-program: %s: FAILED to start the patcher (a preset, and LP_PROGRAM_SET, are needed)\n", mode);
        exit(1);
    }
    atexit(finish);
}
