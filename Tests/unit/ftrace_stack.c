// harness-cflags: -fpatchable-function-entry=5 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
/*
 * ftrace_stack.c — stack checking through the ftrace trampoline. A thread
 * enters the pad function g while no patch names it (its pad is NOPs, so
 * the call is not hooked) and parks in f, whose pad is armed: that call
 * went through the trampoline, so the return address into g is not on the
 * stack but on the thread's ftrace shadow stack. Then a patch of g is
 * enabled:
 *  - a stack-checking model must see g (the walker maps the trampoline's
 *    return site back to the address it hides, as the kernel's
 *    ftrace_graph_ret_addr does), and the transition stalls;
 *  - its counting twin misses it: g's activation began before it could be
 *    counted (docs/FTRACE.md, "When a pad is armed"), and the transition
 *    completes with the thread inside old g.
 * And the control: the same thread parked in f called from a function
 * outside the set lets every model complete.
 * Probes wait for a stall of a thread that stays parked: no check depends on
 * timing.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "noipa.h"
#include "stack_models.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>


static atomic_int hold, inside;

/* Parks while hold is set. */
NOIPA int nap(void)
{
    atomic_store(&inside, 1);
    while (atomic_load(&hold)) usleep(200);
    return 1;
}

/* f's pad stays armed (patch "f" names it); its replacement parks. */
NOIPA int f(void) { return 0; }
NOIPA int f_parking(void) { return nap() + 1; }

/* The set function: work after the call keeps its frame. */
NOIPA int g(void) { return f() + 1; }
NOIPA int g_new(void) { return 30; }
/* Outside the set: the control. */
NOIPA int outside(void) { return f() + 1; }

static void *parker(void *arg)
{
    lp_thread_register("parker");
    int (*entry)(void) = arg;
    entry();
    lp_thread_unregister();
    return NULL;
}

/* Parks a thread in f called from `entry`, enables a patch of g under
 * `model`, and checks whether the transition stalls on the thread. */
static void probe(const char *model_name, lp_model_t model, int (*entry)(void), const char *entry_name, int sees)
{
    char what[200];
    atomic_store(&hold, 1);
    atomic_store(&inside, 0);
    pthread_t th;
    pthread_create(&th, NULL, parker, (void *)entry);
    while (!atomic_load(&inside)) usleep(100);
    lp_patch_t *p = lp_patch_create("g", model, 0);
    check_rc("add g", lp_patch_add_func(p, lp_func_lookup("g"), (const void *)g_new), 0);
    check_rc("enable g", lp_patch_enable(p), 0);
    snprintf(what, sizeof what, "%s: parked in f called through the trampoline from %s: %s", model_name, entry_name,
             sees ? "seen, the transition stalls" : "not seen, it completes with the thread inside");
    check_parked_thread(what, sees, &inside);
    atomic_store(&hold, 0);
    pthread_join(th, NULL);
    check_rc("the transition ends once the thread left", lp_transition_wait(HANG_BOUND), 0);
    check_rc("disable g", lp_patch_disable(p), 0);
    check_rc("the reverse ends", lp_transition_wait(HANG_BOUND), 0);
    check_rc("destroy g: its pad back to NOPs", lp_patch_destroy(p), 0);
}

int main(void)
{
    lp_thread_register("main");
    check(lp_ftrace_discover(0) > 0, "discovery finds the pad functions");
    lp_func_t *ff = lp_func_lookup("f");
    check(ff && lp_ftrace_patchable(ff) == 1 && lp_func_lookup("g") && lp_ftrace_patchable(lp_func_lookup("g")) == 1,
          "f and g are pad-patchable");
    lp_patch_t *pf = lp_patch_create("f", LP_MODEL_IMMEDIATE, 0);
    check_rc("add f", lp_patch_add_func(pf, ff, (const void *)f_parking), 0);
    check_rc("enable f", lp_patch_enable(pf), 0);
    check_rc("f patched", lp_transition_wait(HANG_BOUND), 0);
    for (unsigned i = 0; i < N_STACK_MODELS; i++) {
        probe(stack_models[i].name, stack_models[i].model, g, "g, entered unhooked", stack_models[i].stack);
        probe(stack_models[i].name, stack_models[i].model, outside, "a function outside the set", 0);
    }
    check_summary();
    return failed != 0;
}
