// harness-cflags: -finstrument-functions
/*
 * deep_frames.c — the shadow stack keeps every hooked frame, however deep.
 *
 * An interpreter or a recursive parser runs hundreds of hooked frames deep,
 * far below the frames a thread's record holds, and jumps out of such
 * depths: Lua throws every error with longjmp, from a protected call that
 * may itself lie deep. Built with -finstrument-functions (the line above is
 * read by scripts/test), so every function here calls the cyg hooks, and
 * the ones registered with lp_func_register_auto() are counted. Checks:
 * - a recursion DEEP frames deep returns with exact counts and no frame
 *   taken for abandoned;
 * - JUMPS longjmps out of frames below the record's, each landing in a
 *   protected call that lies below them too (Lua's shape): every frame left
 *   is exited, so the depth stays where it was and the counts are exact;
 *   the same for jumps from that deep to a protected call in the record's
 *   frames;
 * - a thread asleep DEEP frames deep, outside the set, does not block a
 *   transition; asleep in a set function that deep, it does, and the stall
 *   report names that function, until it returns.
 *
 * Deterministic: the sleeper is stepped with a condition variable; the
 * timeouts are "did not hang" bounds.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "frames_view.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)
#define SHORT_WAIT (20 * MS)
#define NOINLINE __attribute__((noinline))
#define FN(fn) ((const void *)(uintptr_t)(fn))

enum { DEEP = 300, LAND = 40, THROW = 20, DEEP_THROW = 40, JUMPS = 1000 };

static volatile int sink;
static jmp_buf jb;

/* ---- recursion and jumps on the main thread --------------------------------- */

/* Not tail calls: each frame lives until its callee returns. */
NOINLINE void descend(int n)
{
    if (n > 0) descend(n - 1);
    sink++;
}

/* Jumps from its innermost frame (a negative n would return instead). */
NOINLINE void thrower(int n)
{
    if (n < 0) return;
    if (n == 0) longjmp(jb, 1);
    thrower(n - 1);
    sink++;
}

/* Where each jump lands: its own exit runs above the frames the jump left. */
NOINLINE void protected_throw(int n)
{
    if (setjmp(jb) == 0) thrower(n);
}

static uint32_t landed_depth, after_jumps_depth;

/* LAND frames down, then JUMPS protected calls that each throw from THROW
 * frames further down. */
NOINLINE void lander(int n)
{
    if (n > 0) {
        lander(n - 1);
        sink++;
        return;
    }
    landed_depth = main_depth();
    for (int i = 0; i < JUMPS; i++) protected_throw(THROW);
    after_jumps_depth = main_depth();
}

/* ---- the deep sleeper ---------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inside, go;
} sl = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

NOINLINE void never_called(void) { sink++; }

/* Registered, and put in the second patch's set: the sleeper sleeps in it. */
NOINLINE void deep_sleep(void)
{
    pthread_mutex_lock(&sl.mu);
    sl.inside = 1;
    pthread_cond_broadcast(&sl.cv);
    while (!sl.go) pthread_cond_wait(&sl.cv, &sl.mu);
    pthread_mutex_unlock(&sl.mu);
}

NOINLINE void sleeper_descend(int n)
{
    if (n > 0)
        sleeper_descend(n - 1);
    else
        deep_sleep();
    sink++;
}

static void *sleeper_main(void *arg)
{
    (void)arg;
    lp_thread_register("deep-sleeper");
    sleeper_descend(DEEP);
    lp_thread_unregister();
    return NULL;
}

static lp_func_t *deep_sleep_f;

static int note_inside(const lp_thread_info_t *info, void *ctx)
{
    int *named = ctx;
    if (strcmp(info->name, "deep-sleeper") == 0)
        *named = info->reason == LP_STALL_NO_SWITCH_POINT && info->n_inside == 1 && info->inside[0] == deep_sleep_f;
    return 0;
}

static int balanced(lp_func_t *f, uint64_t want)
{
    uint64_t e = 0, x = 0;
    return lp_func_counts(f, &e, &x) == 0 && e == want && x == want;
}

/* A patch of `f` under UPSTREAM, enabled: the thread asleep deep must block
 * its transition exactly when it sleeps inside `f`. */
static void deep_transition(lp_func_t *f, int sleeper_inside)
{
    lp_patch_t *p = lp_patch_create(sleeper_inside ? "deep-in-set" : "deep-outside", LP_MODEL_UPSTREAM, 0);
    check_rc("the patch's set", lp_patch_extend_set(p, f), 0);
    check_rc("its enable", lp_patch_enable(p), 0);
    if (!sleeper_inside) {
        check_rc("a thread asleep 300 frames deep, outside the set, does not block the transition",
                 lp_transition_wait(HANG_BOUND), 0);
    } else {
        check_rc("asleep 300 frames deep in a set function, it blocks the transition", lp_transition_wait(SHORT_WAIT),
                 -ETIMEDOUT);
        int named = 0;
        lp_transition_for_each_stalled(note_inside, &named);
        check(named, "... and the stall report names that function");
        pthread_mutex_lock(&sl.mu);
        sl.go = 1;
        pthread_cond_broadcast(&sl.cv);
        pthread_mutex_unlock(&sl.mu);
        check_rc("... until it returns", lp_transition_wait(HANG_BOUND), 0);
    }
    check_rc("the patch's disable", lp_patch_disable(p), 0);
    check_rc("... completes", lp_transition_wait(HANG_BOUND), 0);
    check_rc("... and it is destroyed", lp_patch_destroy(p), 0);
}

int main(void)
{
    lp_thread_register("main");
    lp_func_t *descend_f = lp_func_register_auto("descend", FN(descend));
    lp_func_t *thrower_f = lp_func_register_auto("thrower", FN(thrower));
    lp_func_t *protected_f = lp_func_register_auto("protected_throw", FN(protected_throw));
    lp_func_t *lander_f = lp_func_register_auto("lander", FN(lander));
    lp_func_t *never_f = lp_func_register_auto("never_called", FN(never_called));
    lp_func_t *sleeper_f = lp_func_register_auto("sleeper_descend", FN(sleeper_descend));
    deep_sleep_f = lp_func_register_auto("deep_sleep", FN(deep_sleep));
    check(descend_f && thrower_f && protected_f && lander_f && never_f && sleeper_f && deep_sleep_f,
          "every function registered");

    uint64_t abandoned = abandoned_exits();
    descend(DEEP);
    check(balanced(descend_f, DEEP + 1), "a recursion 301 frames deep: every entry and exit counted");
    check(abandoned_exits() == abandoned, "... and no frame taken for abandoned");
    check(main_depth() == 0, "... and the thread is inside nothing after it");

    lander(LAND);
    check(landed_depth == LAND + 1, "41 frames deep before the jumps");
    check(after_jumps_depth == landed_depth, "after 1000 jumps out of frames below them, still 41 deep");
    check(abandoned_exits() == abandoned + (uint64_t)JUMPS * (THROW + 1), "every frame a jump left exited as abandoned");
    check(balanced(thrower_f, (uint64_t)JUMPS * (THROW + 1)) && balanced(protected_f, JUMPS) &&
              balanced(lander_f, LAND + 1),
          "... with every exit counted");
    check(main_depth() == 0, "the thread is inside nothing after the jumps");

    /* From deep frames to a protected call in the record's: each jump
     * leaves frames on both sides of its 16th. */
    abandoned = abandoned_exits();
    for (int i = 0; i < JUMPS; i++) protected_throw(DEEP_THROW);
    check(abandoned_exits() == abandoned + (uint64_t)JUMPS * (DEEP_THROW + 1),
          "1000 jumps from 41 frames deep to depth 1: every frame left exited as abandoned");
    check(balanced(thrower_f, (uint64_t)JUMPS * (THROW + 1 + DEEP_THROW + 1)) && balanced(protected_f, 2 * JUMPS),
          "... with every exit counted");
    check(main_depth() == 0, "... and the thread is inside nothing after them");

    pthread_t th;
    pthread_create(&th, NULL, sleeper_main, NULL);
    pthread_mutex_lock(&sl.mu);
    while (!sl.inside) pthread_cond_wait(&sl.cv, &sl.mu);
    pthread_mutex_unlock(&sl.mu);
    deep_transition(never_f, 0);
    deep_transition(deep_sleep_f, 1);
    pthread_join(th, NULL);
    check(balanced(sleeper_f, DEEP + 1) && balanced(deep_sleep_f, 1), "the sleeper's frames all counted out");
    return check_summary();
}
