/*
 * longjmp_frames.c — jumping out of hooked functions never wedges a thread.
 *
 * longjmp and siglongjmp skip the exit hooks of the frames they leave. The
 * next hook that runs above those frames exits them: each counts an exit of
 * its function and one abandoned exit (lp_transition_status_t), and the
 * thread no longer blocks transitions nor waits for itself. A signal
 * handler on the alternate signal stack, whose frames lie anywhere, must
 * not be mistaken for a jump.
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "frames_view.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)
#define NOINLINE __attribute__((noinline))

static int v_old(void) { return 1; }
static int v_new(void) { return 2; }

static lp_func_t *outer_f, *inner_f, *handler_f, *leaf_f;
static jmp_buf jb;
static sigjmp_buf sjb;
static volatile int sink;

static int balanced(lp_func_t *f)
{
    uint64_t e, x;
    return lp_func_counts(f, &e, &x) == 0 && e == x && e != 0;
}

/* Always inlined: its hooks run in the caller's frame (main's, above the
 * frames a jump left), wherever the compiler would have put a call. */
__attribute__((always_inline)) static inline void call(lp_func_t *f)
{
    lp_func_enter(f);
    sink++;
    lp_func_exit(f);
}

NOINLINE static void inner(void)
{
    lp_func_enter(inner_f);
    longjmp(jb, 1);
}

NOINLINE static void outer(void)
{
    lp_func_enter(outer_f);
    inner();
    lp_func_exit(outer_f);
}

static void jump_out(int sig)
{
    (void)sig;
    lp_func_enter(handler_f);
    siglongjmp(sjb, 1);
}

NOINLINE static void outer_signalled(void)
{
    lp_func_enter(outer_f);
    raise(SIGUSR1);
    lp_func_exit(outer_f);
}

static void on_altstack(int sig)
{
    (void)sig;
    call(handler_f);
}

NOINLINE static int inside_outer_with_altstack_signal(void)
{
    lp_func_enter(outer_f);
    raise(SIGUSR2);
    /* Still inside outer: the handler's hooks dropped nothing. */
    int still_inside = main_depth() == 1;
    lp_func_exit(outer_f);
    return still_inside;
}

NOINLINE static int altstack_case(void)
{
    /* The alternate stack lies in this frame, above the frames of
     * inside_outer_with_altstack_signal: the handler's keys are higher than
     * the interrupted frame's, as after a longjmp. */
    char alt[64 * 1024];
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
    sigaltstack(&ss, NULL);
    struct sigaction sa = { .sa_handler = on_altstack, .sa_flags = SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    int r = inside_outer_with_altstack_signal();
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    return r;
}

int main(void)
{
    lp_thread_register("main");
    outer_f = lp_func_register("outer", (const void *)v_old);
    inner_f = lp_func_register("inner", (const void *)v_old);
    handler_f = lp_func_register("handler", (const void *)v_old);
    leaf_f = lp_func_register("leaf", (const void *)v_old);

    /* longjmp out of two nested hooked functions. */
    if (setjmp(jb) == 0)
        outer();
    check(main_depth() == 2, "after longjmp the thread is still counted inside two functions");
    call(leaf_f);
    check(abandoned_exits() == 2, "the next hook exits the two abandoned frames");
    check(balanced(outer_f) && balanced(inner_f) && balanced(leaf_f), "each abandoned frame counts its exit");
    check_rc("the thread is inside nothing", lp_thread_unregister(), 0);
    lp_thread_register("main");

    /* ... and a transition of the abandoned function completes. */
    if (setjmp(jb) == 0)
        outer();
    lp_patch_t *p = lp_patch_create("p", LP_MODEL_KPATCH, 0);
    lp_patch_add_func(p, inner_f, (const void *)v_new);
    int rc = lp_patch_enable(p);
    check_rc("enable a patch of the abandoned function", rc < 0 ? rc : 0, 0);
    check_rc("wait: no EDEADLK, it completes", lp_transition_wait(HANG_BOUND), 0);
    check(abandoned_exits() == 4, "the wait exited the abandoned frames");
    rc = lp_patch_disable(p);
    check_rc("disable", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    check_rc("destroy", lp_patch_destroy(p), 0);

    /* siglongjmp out of a signal handler that entered a hooked function,
     * interrupting another hooked function. */
    struct sigaction sa = { .sa_handler = jump_out };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    if (sigsetjmp(sjb, 1) == 0)
        outer_signalled();
    call(leaf_f);
    check(abandoned_exits() == 6, "siglongjmp out of a handler: both frames exited");
    check(balanced(outer_f) && balanced(handler_f), "... with their exits counted");
    check_rc("the thread is inside nothing after it", lp_thread_unregister(), 0);
    lp_thread_register("main");

    /* A handler on the alternate stack is not a jump. */
    check(altstack_case(), "a handler on the alternate stack drops no frame");
    check(abandoned_exits() == 6, "no abandoned exit counted for it");
    check(balanced(outer_f) && balanced(handler_f), "counts stay exact");

    /* A loop whose call jumps back into it, more times than the shadow stack
     * holds frames: the recipe of livepatch.h (the call in a function the
     * loop calls, a hook pair where the jump lands) exits every entry. */
    for (volatile int i = 0; i < 40; i++) {
        if (setjmp(jb) == 0)
            inner();
        else
            call(leaf_f);
    }
    check(abandoned_exits() == 46, "each of 40 jumps back into a loop: its entry exited where it landed");
    check(balanced(inner_f) && balanced(leaf_f), "... with every exit counted");
    check(main_depth() == 0, "the loop ends inside nothing");
    return check_summary();
}
