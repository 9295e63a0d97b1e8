/* hookbench: the registered functions, their implementations, the models. */
#include "hb_driver.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline_reverse.h"

/* The implementations behind the registered functions. Their body is the
 * work a busy thread of the latency section does inside the area, and where
 * it yields the CPU under --lat-load inside; elsewhere (the parker, the memory
 * section) hb_work is 0 and hb_yield_here never set. */
int hb_work;
__thread int hb_yield_here;
HB_NOINLINE void spin_work(int n)
{
    for (int i = 0; i < n; i++) CLOBBER();
}
static void impl_body(void)
{
    spin_work(hb_work);
    if (hb_yield_here) {
        hb_yield_here = 0;
        sched_yield();
    }
}
HB_NOINLINE void impl_old(void) { impl_body(); }
HB_NOINLINE void impl_new(void) { impl_body(); }


/* ---- the engine's fixtures -------------------------------------------------- */

/* The models measured: the six presets and the worked example of a
 * user-defined model (Examples/models/deadline_reverse.c), named by the
 * library. The example's deadline is far beyond any transition here, so it
 * runs as PATCHED_SET x THREAD with its policy asked at every check. */
#define HB_DEADLINE_NS 60000000000ull
hb_preset_t presets[N_PRESETS];

void describe_models(void)
{
    const lp_model_t ids[N_PRESETS] = {LP_MODEL_IMMEDIATE, LP_MODEL_KGRAFT,    LP_MODEL_KPATCH, LP_MODEL_UPSTREAM,
                                       LP_MODEL_HIRAMATSU, LP_MODEL_RENEW, deadline_reverse_model(HB_DEADLINE_NS)};
    for (int i = 0; i < N_PRESETS; i++) {
        lp_model_info_t info;
        int rc = lp_model_describe(ids[i], &info);
        if (rc) die("lp_model_describe", rc);
        presets[i].model = ids[i];
        snprintf(presets[i].name, sizeof presets[i].name, "%s", info.name);
    }
}

lp_func_t *f_plain;
lp_func_t *f_steady;
lp_func_t *f_tx;
lp_func_t *f_lat;

lp_func_t *reg_func(const char *name)
{
    lp_func_t *f = lp_func_register(name, IMPL(impl_old));
    if (!f) die(name, -errno);
    return f;
}

lp_patch_t *make_patch(const char *name, lp_model_t model, lp_func_t *f)
{
    lp_patch_t *p = lp_patch_create(name, model, 0);
    if (!p) die(name, -errno);
    int rc = lp_patch_add_func(p, f, IMPL(impl_new));
    if (rc) die("lp_patch_add_func", rc);
    return p;
}

int transition_state(void)
{
    lp_transition_status_t st;
    return lp_transition_status(&st) == 0 ? st.state : -1;
}

/* Waits for the transition in flight; forces it (and says so) past the bound. */
int finish_transition(const char *what)
{
    int rc = lp_transition_wait(opt.timeout_ns);
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "hookbench: %s: transition still pending after %.0f s, forced\n", what,
                (double)opt.timeout_ns / SEC);
        lp_transition_force();
    } else if (rc) die(what, rc);
    return rc;
}
