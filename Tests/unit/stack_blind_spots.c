// harness-cflags: -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -foptimize-sibling-calls -fno-ipa-icf
/*
 * stack_blind_spots.c — what each detector cannot see, under a counting
 * model and its stack-checking twin (UPSTREAM / UPSTREAM_STACK, KPATCH /
 * KPATCH_STACK). A thread is parked in each spot while a patch of the
 * function is enabled; "sees" means the transition stalls on it, "misses"
 * means it completes with the thread still there (the model is broken:
 * old code runs in a thread, or at an instant, that counts as switched).
 *  - inlined: a set function's body inlined into its caller. With hooks in
 *    the inlined body (as -finstrument-functions puts them) both detectors
 *    see it (the hooked activation); without, neither does: no frame, no
 *    count.
 *  - tail call: a set function, called without hooks, that ends in a tail
 *    call: its frame is gone while its callee runs; the stack check misses
 *    it (the same function with work after the call is seen). Counting
 *    never sees unhooked calls.
 *  - stored callback: a set function that stored a pointer to old code and
 *    returned: no frame and no activation is left, both detectors complete,
 *    and the old code runs after the transition. Neither can catch it; the
 *    patch must migrate such state (a pre_patch callback, shadow variables).
 * -fno-ipa-icf: otherwise GCC folds the inlining caller into the identical
 * f_old, and its frame is the set function's again.
 * Probes wait for a stall of a thread that stays parked: no check depends on
 * timing.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "stack_models.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


static atomic_int hold, inside;
static lp_func_t *f_f;

/* Parks while hold is set; not in the set. */
__attribute__((noinline)) static int nap(void)
{
    atomic_store(&inside, 1);
    while (atomic_load(&hold)) usleep(200);
    return 1;
}

/* The set function's old body, inlined wherever it is called directly. */
static inline __attribute__((always_inline)) int f_body(void) { return nap() + 1; }
__attribute__((noinline)) static int f_old(void) { return f_body(); }
__attribute__((noinline)) static int f_new(void) { return 3; }

__attribute__((noinline)) static int inlined_hooked(void)
{
    lp_func_enter(f_f); /* the hooks the instrumented inline copy carries */
    int v = f_body();
    lp_func_exit(f_f);
    return v;
}
__attribute__((noinline)) static int inlined_bare(void) { return f_body(); }

/* Ends in a tail call of nap: no frame of its own while nap runs. */
__attribute__((noinline)) static int f_tail(void) { return nap(); }
/* The same with work after the call: its frame stays. */
__attribute__((noinline)) static int f_framed(void) { return nap() + 1; }
static int (*volatile kept_tail)(void) = f_tail;
static int (*volatile kept_framed)(void) = f_framed;

/* Old code a set function leaves behind: a callback it stored. */
__attribute__((noinline)) static int old_callback(void) { return 1; }
static int (*volatile stored)(void);
__attribute__((noinline)) static int f_storing(void)
{
    stored = old_callback;
    return 1;
}

enum spot { INLINED_HOOKED, INLINED_BARE, TAIL, FRAMED };
static const char *const spot_names[] = {"inlined with hooks", "inlined without hooks", "tail call", "frame kept"};

static void *parker(void *arg)
{
    lp_thread_register("parker");
    switch ((enum spot)(long)arg) {
    case INLINED_HOOKED: inlined_hooked(); break;
    case INLINED_BARE: inlined_bare(); break;
    case TAIL: kept_tail(); break;
    case FRAMED: kept_framed(); break;
    }
    lp_thread_unregister();
    return NULL;
}

/* Parks a thread in `spot`, enables a patch of f whose old implementation
 * is `old`, and checks whether the model sees the thread. */
static void probe(const char *model_name, lp_model_t model, enum spot spot, int (*old)(void), int sees)
{
    char what[200], pname[64];
    static int n;
    snprintf(pname, sizeof pname, "p%d", n++);
    f_f = lp_func_register(pname, (const void *)old);
    atomic_store(&hold, 1);
    atomic_store(&inside, 0);
    pthread_t th;
    pthread_create(&th, NULL, parker, (void *)(long)spot);
    while (!atomic_load(&inside)) usleep(100);
    lp_patch_t *p = lp_patch_create(pname, model, 0);
    lp_patch_add_func(p, f_f, (const void *)f_new);
    lp_patch_enable(p);
    snprintf(what, sizeof what, "%s: %s: %s", model_name, spot_names[spot], sees ? "seen, the transition stalls"
                                                                                 : "missed, it completes with the thread inside");
    check_parked_thread(what, sees, &inside);
    atomic_store(&hold, 0);
    pthread_join(th, NULL);
    lp_transition_wait(HANG_BOUND);
}

static void stored_callback(const char *model_name, lp_model_t model)
{
    char what[200], pname[64];
    static int n;
    snprintf(pname, sizeof pname, "s%d", n++);
    lp_func_t *f = lp_func_register(pname, (const void *)f_storing);
    int (*impl)(void) = (int (*)(void))lp_func_enter(f);
    impl(); /* the old version stores its callback and returns */
    lp_func_exit(f);
    lp_patch_t *p = lp_patch_create(pname, model, 0);
    lp_patch_add_func(p, f, (const void *)f_new);
    lp_patch_enable(p);
    snprintf(what, sizeof what, "%s: stored callback: missed, the transition completes", model_name);
    check_rc(what, lp_transition_wait(HANG_BOUND), 0);
    snprintf(what, sizeof what, "%s: stored callback: and the old code it left runs after it", model_name);
    check(stored == old_callback && stored() == 1, what);
}

int main(void)
{
    lp_thread_register("main");
    for (unsigned i = 0; i < N_STACK_MODELS; i++) {
        probe(stack_models[i].name, stack_models[i].model, INLINED_HOOKED, f_old, 1);
        probe(stack_models[i].name, stack_models[i].model, INLINED_BARE, f_old, 0);
        probe(stack_models[i].name, stack_models[i].model, TAIL, f_tail, 0);
        probe(stack_models[i].name, stack_models[i].model, FRAMED, f_framed, stack_models[i].stack);
        stored_callback(stack_models[i].name, stack_models[i].model);
    }
    check_summary();
    return failed != 0;
}
