/*
 * hostile_input.c — arguments a careless or hostile caller passes: every int
 * to lp_strerror, signals no handler can catch, names that are not UTF-8,
 * an exit of the wrong function, a simulated thread that exits without
 * leaving its run. Each is answered as documented, never with a crash or a
 * hang (the ones that could crash or hang run in a forked child).
 */
#include "check.h"
#include <livepatch/sim.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

static int impl(void) { return 1; }

/* ---- lp_strerror: a string for every int ------------------------------------ */

static int strerror_extremes(void)
{
    static const int values[] = { INT_MIN, INT_MIN + 1, -1, 0, 1, INT_MAX };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (lp_strerror(values[i]) == NULL)
            return 1;
    return strcmp(lp_strerror(INT_MIN), "unknown error") != 0 || strcmp(lp_strerror(-EINVAL), lp_strerror(EINVAL)) != 0;
}

/* ---- lp_set_nudge_signal: only signals a handler can catch ------------------- */

static void nudge_signals(void)
{
    check_rc("lp_set_nudge_signal(SIGKILL) is refused", lp_set_nudge_signal(SIGKILL), -EINVAL);
    check_rc("lp_set_nudge_signal(SIGSTOP) is refused", lp_set_nudge_signal(SIGSTOP), -EINVAL);
    check_rc("lp_set_nudge_signal(32), the C library's, is refused", lp_set_nudge_signal(32), -EINVAL);
    check_rc("lp_set_nudge_signal(SIGRTMIN) is taken", lp_set_nudge_signal(SIGRTMIN), 0);
    check_rc("lp_set_nudge_signal(SIGUSR1) is taken", lp_set_nudge_signal(SIGUSR1), 0);
    check_rc("lp_set_nudge_signal(0) turns nudges off", lp_set_nudge_signal(0), 0);
}

/* ---- names are bytes ------------------------------------------------------------- */

static lp_model_t register_model(const char *name)
{
    lp_model_ops_t ops = { .name = name, .counts = LP_LEAVE_KERNEL, .switches = LP_SWITCH_THREAD };
    return lp_model_register(&ops);
}

static int described_as(lp_model_t m, const char *name)
{
    lp_model_info_t info;
    return m != LP_MODEL_INVALID && lp_model_describe(m, &info) == 0 && strcmp(info.name, name) == 0;
}

static void byte_names(void)
{
    lp_model_t ff = register_model("\xff\xfe");
    check(described_as(ff, "\xff\xfe"), "model \"\\xff\\xfe\" is registered and described with its own bytes");
    lp_model_t fe = register_model("\xfe\xff");
    check(described_as(fe, "\xfe\xff") && fe != ff, "model \"\\xfe\\xff\" is a distinct name");
    char c0[LP_MODEL_NAME_MAX];
    memset(c0, 0xc0, sizeof c0 - 1);
    c0[sizeof c0 - 1] = 0;
    check(described_as(register_model(c0), c0), "a model name of LP_MODEL_NAME_MAX-1 bytes 0xC0 is taken whole");
    errno = 0;
    check(register_model("\xff\xfe") == LP_MODEL_INVALID && errno == EEXIST, "the same bytes again: EEXIST");

    lp_func_t *f = lp_func_register("fn-\xff\xfe", (const void *)impl);
    check(f != NULL && lp_func_lookup("fn-\xff\xfe") == f, "function \"fn-\\xff\\xfe\" is found by its bytes");
    EXPECT_NULL("function \"fn-\\xfe\\xff\" is another name", lp_func_lookup("fn-\xfe\xff"), ENOENT);
    check(lp_patch_create("p-\xff\xfe", LP_MODEL_KGRAFT, 0) != NULL && lp_patch_create("p-\xfe\xff", LP_MODEL_KGRAFT, 0) != NULL,
          "patches \"p-\\xff\\xfe\" and \"p-\\xfe\\xff\" are distinct names");
}

/* ---- the name bound ----------------------------------------------------------------- */

static void name_bound(void)
{
    static char longest[LP_NAME_MAX], too_long[LP_NAME_MAX + 1];
    memset(longest, 'a', sizeof longest - 1);
    memset(too_long, 'b', sizeof too_long - 1);
    check(lp_func_register(longest, (const void *)impl) != NULL, "a function name of LP_NAME_MAX-1 bytes is taken");
    EXPECT_NULL("a function name of LP_NAME_MAX bytes: EINVAL", lp_func_register(too_long, (const void *)impl), EINVAL);
    EXPECT_NULL("... and for lp_func_register_auto: EINVAL", lp_func_register_auto(too_long, (const void *)impl), EINVAL);
    EXPECT_NULL("... lp_func_lookup of it: ENOENT", lp_func_lookup(too_long), ENOENT);
    check(lp_patch_create(longest, LP_MODEL_KGRAFT, 0) != NULL, "a patch name of LP_NAME_MAX-1 bytes is taken");
    EXPECT_NULL("a patch name of LP_NAME_MAX bytes: EINVAL", lp_patch_create(too_long, LP_MODEL_KGRAFT, 0), EINVAL);
    lp_patch_t *p = lp_patch_create("bound", LP_MODEL_KGRAFT, 0);
    check_rc("lp_patch_add_func_by_name with a name of LP_NAME_MAX bytes: -EINVAL",
             lp_patch_add_func_by_name(p, too_long, (const void *)impl), -EINVAL);
}

/* ---- an exit of the wrong function (documented next to lp_func_exit) ------------------ */

static void wrong_exit(void)
{
    lp_func_t *f = lp_func_register("wrong-exit-f", (const void *)impl);
    lp_func_t *g = lp_func_register("wrong-exit-g", (const void *)impl);
    lp_transition_status_t before, after;
    lp_transition_status(&before);
    lp_func_enter(f);
    lp_func_exit(g);
    lp_transition_status(&after);
    uint64_t fe, fx, ge, gx;
    lp_func_counts(f, &fe, &fx);
    lp_func_counts(g, &ge, &gx);
    check(fe == 1 && fx == 0 && ge == 0 && gx == 1, "enter(f); exit(g): f 1 entry 0 exits, g 0 entries 1 exit");
    check(after.unbalanced_exits == before.unbalanced_exits, "... and it is not an unbalanced exit");
    lp_func_exit(f);
    lp_transition_status(&after);
    check(after.unbalanced_exits == before.unbalanced_exits + 1, "... the thread is outside every function: exit(f) is unbalanced");
}

/* ---- a simulated thread that exits without lp_sim_thread_leave ------------------------ */

static void *sim_quitter(void *arg)
{
    (void)arg;
    if (lp_sim_thread_join(1) == 0)
        lp_sim_point(LP_SIM_OTHER);
    return NULL; /* no lp_sim_thread_leave */
}

static void *sim_stayer(void *arg)
{
    (void)arg;
    if (lp_sim_thread_join(0) != 0)
        return NULL;
    for (int i = 0; i < 10; i++)
        lp_sim_point(LP_SIM_OTHER);
    lp_sim_thread_leave();
    return NULL;
}

static int sim_thread_exits_inside(void)
{
    lp_sim_config_t cfg = { .threads = 2, .seed = 7, .strategy = LP_SIM_RANDOM };
    if (lp_sim_start(&cfg) != 0)
        return 2;
    pthread_t a, b;
    pthread_create(&a, NULL, sim_quitter, NULL);
    pthread_create(&b, NULL, sim_stayer, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return lp_sim_stop(NULL) != 0;
}

int main(void)
{
    char line[160];
    int rc = in_child(strerror_extremes, 10);
    snprintf(line, sizeof line, "lp_strerror(INT_MIN .. INT_MAX extremes) returns a string (child status %d)", rc);
    check(rc == 0, line);
    nudge_signals();
    byte_names();
    name_bound();
    wrong_exit();
    rc = in_child(sim_thread_exits_inside, 20);
    snprintf(line, sizeof line,
             "a simulated thread that exits without lp_sim_thread_leave leaves the run at its exit (child status %d)", rc);
    check(rc == 0, line);
    return check_summary();
}
