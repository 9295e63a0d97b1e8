/*
 * ftrace_basic.c — user-space ftrace on one thread: discovery by name, the
 * pad armed exactly while a patch names the function, redirection and exact
 * counts through the trampoline, a hooked call inside a pad function,
 * recursion past the shadow stack, longjmp
 * out of a hooked call, and what unwinding sees through a hooked return.
 *
 * The whole file is built with the pad (scripts/test builds it with gcc,
 * whose pad is five one-byte NOPs, and with clang, one five-byte NOP).
 */
// harness-cflags: -fpatchable-function-entry=5
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "frames_view.h"
#include "noipa.h"

#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)


NOIPA int square(int x) { return x * x; }
NOIPA int square_new(int x) { return x * x + 1000; }
NOIPA int cube(int x) { return x * x * x; }
NOIPA double scale(double a, double b, int c, int d, int e, int f, int g, int h, int i)
{
    return a * b + c + d + e + f + g + h + i; /* g, h, i on the stack */
}
NOIPA double scale_new(double a, double b, int c, int d, int e, int f, int g, int h, int i)
{
    return -(a * b + c + d + e + f + g + h + i);
}

/* 1 + depth(n - 1), not a tail call: one hooked call per level. */
NOIPA int depth(int n)
{
    if (n == 0)
        return 0;
    int r = depth(n - 1);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

/* A thread's first call of a pad function: it has no record yet, so the
 * trampoline's fast hook defers to lp_func_enter, which registers the thread
 * (allocating, and clearing memory with the C library's vector code). */
static void *call_scale_first(void *result)
{
    *(double *)result = scale(1.5, 2.0, 1, 2, 3, 4, 5, 6, 7);
    return NULL;
}

/* A pad function whose body calls a hook-called one: the hooks inside it
 * run below its trampoline's frame, and must not take its frame for one a
 * jump left. */
static lp_func_t *inner_f;
NOIPA int inner_impl(int x) { return x + 1; }
NOIPA int inner_new(int x) { return x + 2; }
NOIPA int calls_inner(int x)
{
    int (*impl)(int) = (int (*)(int))lp_func_enter(inner_f);
    int r = impl(x);
    lp_func_exit(inner_f);
    return r * 2;
}

/* A tail call between pad functions: tail_outer's body jumps to
 * tail_inner's pad with tail_outer's return address (the trampoline's
 * return site) on the stack. */
NOIPA int tail_inner(int x) { return x * 5; }
NOIPA int tail_outer(int x) { return tail_inner(x + 1); }

static const void *seen_ret, *seen_real;
static void *trace[64];
static int trace_n;

/* Called by a hooked call of `probe`: what unwinding sees. */
NOIPA int probe(int x)
{
    seen_ret = __builtin_return_address(0);
    seen_real = lp_ftrace_return_address(seen_ret, (char *)__builtin_frame_address(0) + sizeof(void *));
    trace_n = backtrace(trace, 64);
    return x + 1;
}
NOIPA int call_probe(int x) { return probe(x) * 2; }

static volatile sig_atomic_t program_traps;
static void program_trap(int signo)
{
    (void)signo;
    program_traps++;
}

static jmp_buf jump;
NOIPA int jumper(int x)
{
    if (x)
        longjmp(jump, 1);
    return 0;
}

static uint64_t entries_of(lp_func_t *f)
{
    uint64_t e = 0, x = 0;
    lp_func_counts(f, &e, &x);
    return e;
}

static int balanced(lp_func_t *f)
{
    uint64_t e = 0, x = 0;
    lp_func_counts(f, &e, &x);
    return e == x;
}

/* square's pad as compiled: five one-byte NOPs (gcc) or one five-byte NOP (clang). */
static unsigned char compiled[5];

static int pad_is_compiled(const void *fn) { return memcmp(fn, compiled, 5) == 0; }

/* The armed pad: a jmp whose displacement is 0x90909090. */
static int pad_is_jmp(const void *fn)
{
    static const unsigned char jmp[5] = {0xe9, 0x90, 0x90, 0x90, 0x90};
    return memcmp(fn, jmp, 5) == 0;
}

static void run(lp_patch_t *p)
{
    int rc = lp_patch_enable(p);
    check_rc("enable", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
}

static void stop(lp_patch_t *p)
{
    int rc = lp_patch_disable(p);
    check_rc("disable", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    check_rc("destroy", lp_patch_destroy(p), 0);
}

int main(void)
{
    lp_thread_register("main");
    /* The program's own SIGTRAP handler, installed before the library's. */
    signal(SIGTRAP, program_trap);
    volatile int seven = 7;
    lp_func_t *plain = lp_func_register("plain", (const void *)&seen_ret);
    lp_func_t *by_hand = lp_func_register("my_cube", (const void *)cube);

    int found = lp_ftrace_discover(0);
    check(found >= 8, "discover finds this file's functions");
    check_rc("discover: flags must be 0", lp_ftrace_discover(1), -EINVAL);
    check_rc("a second discover finds nothing new", lp_ftrace_discover(0), 0);
    lp_func_t *sq = lp_func_lookup("square");
    check(sq != NULL, "lp_func_lookup finds square by name");
    check_rc("square is patchable", lp_ftrace_patchable(sq), 1);
    check_rc("a function registered by hand is not", lp_ftrace_patchable(plain), 0);
    check_rc("patchable: NULL", lp_ftrace_patchable(NULL), -EINVAL);
    check_rc("patchable: a foreign pointer", lp_ftrace_patchable((lp_func_t *)&found), -ENOENT);
    check(lp_func_lookup("main") != NULL, "main is found too");
    check(lp_ftrace_patchable(by_hand) == 1 && lp_func_lookup("cube") == NULL,
          "a function registered by hand at a pad's address gets the pad, not a second record");
    memcpy(compiled, (const void *)square, 5);
    check((compiled[0] == 0x90 && compiled[4] == 0x90) || (compiled[0] == 0x0f && compiled[1] == 0x1f),
          "an unpatched pad is NOPs");

    /* Named by a patch: armed and counted, the old body runs until enabled. */
    lp_patch_t *p = lp_patch_create("sq", LP_MODEL_IMMEDIATE, 0);
    check_rc("add_func on a pad function", lp_patch_add_func(p, sq, (const void *)square_new), 0);
    check(pad_is_jmp((const void *)square), "named by a patch: the pad is a jmp, 0x90909090 its displacement");
    uint64_t before = entries_of(sq);
    check(square(seven) == 49, "armed, not enabled: the old body runs");
    check(entries_of(sq) == before + 1 && balanced(sq), "the call is counted once, entry and exit");
    run(p);
    check(square(seven) == 1049, "enabled: the replacement runs, called directly");
    int (*volatile indirect)(int) = square;
    check(indirect(3) == 1009, "and through a function pointer");
    stop(p);
    check(square(seven) == 49, "disabled: the old body again");
    check(pad_is_compiled((const void *)square), "destroyed: the pad is as compiled again");
    before = entries_of(sq);
    square(seven);
    check(entries_of(sq) == before, "and the call is not counted");

    /* By name: the pad is armed as by lp_patch_add_func. */
    p = lp_patch_create("sq-by-name", LP_MODEL_IMMEDIATE, 0);
    check_rc("add_func_by_name on a pad function", lp_patch_add_func_by_name(p, "square", (const void *)square_new), 0);
    check(pad_is_jmp((const void *)square), "named by name: the pad is armed");
    run(p);
    check(square(seven) == 1049, "and the replacement runs");
    stop(p);
    check(pad_is_compiled((const void *)square), "destroyed: the pad is as compiled again");

    /* Stack arguments and floating point pass through the trampoline. */
    lp_func_t *sc = lp_func_lookup("scale");
    p = lp_patch_create("scale", LP_MODEL_IMMEDIATE, 0);
    lp_patch_add_func(p, sc, (const void *)scale_new);
    check(scale(1.5, 2.0, 1, 2, 3, 4, 5, 6, 7) == 31.0, "nine arguments (three on the stack), old body");
    run(p);
    check(scale(1.5, 2.0, 1, 2, 3, 4, 5, 6, 7) == -31.0, "and the replacement");
    /* The vector registers are saved only around the hooks' slow paths
     * (Ftrace/TrampolineHooks.swift): the arguments survive those too. */
    double first = 0;
    pthread_t th;
    check(pthread_create(&th, NULL, call_scale_first, &first) == 0 && pthread_join(th, NULL) == 0 && first == -31.0,
          "floating point through the slow path (a new thread's first call registers it)");
    stop(p);

    /* A hook-called function inside a pad function's body. */
    inner_f = lp_func_register("inner", (const void *)inner_impl);
    lp_func_t *ci = lp_func_lookup("calls_inner");
    p = lp_patch_create("nested", LP_MODEL_UPSTREAM, 0);
    lp_patch_extend_set(p, ci);
    lp_patch_add_func(p, inner_f, (const void *)inner_new);
    run(p);
    uint64_t dropped = abandoned_exits(), outer_before = entries_of(ci), inner_before = entries_of(inner_f);
    int sum = 0;
    for (int i = 0; i < 100; i++)
        sum += calls_inner(1);
    check(sum == 600 && entries_of(ci) - outer_before == 100 && entries_of(inner_f) - inner_before == 100 &&
              balanced(ci) && balanced(inner_f),
          "a hooked call inside a pad function's body: both counted, balanced");
    check(abandoned_exits() == dropped, "and the pad function's frame is not taken for one a jump left");
    stop(p);

    /* Tail calls between pad functions: each hooked, counted, returning
     * where it should. */
    lp_func_t *to = lp_func_lookup("tail_outer"), *ti = lp_func_lookup("tail_inner");
    p = lp_patch_create("tail", LP_MODEL_UPSTREAM, 0);
    lp_patch_extend_set(p, to);
    lp_patch_extend_set(p, ti);
    run(p);
    dropped = abandoned_exits(), outer_before = entries_of(to), inner_before = entries_of(ti);
    sum = 0;
    for (int i = 0; i < 100; i++)
        sum += tail_outer(i);
    check(sum == 5 * 5050 && entries_of(to) - outer_before == 100 && entries_of(ti) - inner_before == 100 &&
              balanced(to) && balanced(ti) && abandoned_exits() == dropped,
          "a tail call between two pad functions: both counted and balanced, nothing abandoned");
    stop(p);

    /* Recursion deeper than the shadow stack: the deeper calls run unhooked
     * and uncounted; the hooked ones balance. */
    lp_func_t *dp = lp_func_lookup("depth");
    p = lp_patch_create("depth", LP_MODEL_IMMEDIATE, 0);
    lp_patch_extend_set(p, dp);
    before = entries_of(dp);
    check(depth(100) == 100, "recursion 100 deep through the trampoline");
    check(entries_of(dp) - before == 32 && balanced(dp), "the 32 outer calls counted (shadow stack), balanced");
    check(depth(10) == 10 && balanced(dp), "and a shallow recursion after it");
    lp_patch_destroy(p);

    /* longjmp out of a hooked call: its return hook is dropped at the next
     * hooked return below it; the engine counts the activation abandoned. */
    lp_func_t *jf = lp_func_lookup("jumper");
    p = lp_patch_create("jumper", LP_MODEL_IMMEDIATE, 0);
    lp_patch_extend_set(p, jf);
    lp_patch_extend_set(p, sq);
    if (!setjmp(jump))
        jumper(1);
    /* Straight after the jump, from the frame that made the call: the wait
     * must find the thread inside nothing (the pad call's key lies below
     * this frame's own). */
    int rc = lp_patch_enable(p);
    check_rc("after a longjmp out of a hooked call, enable and wait from its caller",
             rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    check(square(seven) == 49, "after a longjmp out of a hooked call, hooked calls work");
    check(balanced(sq), "and count");
    stop(p);

    /* Unwinding through a hooked return. */
    lp_func_t *pr = lp_func_lookup("probe");
    p = lp_patch_create("probe", LP_MODEL_IMMEDIATE, 0);
    lp_patch_extend_set(p, pr);
    check(call_probe(1) == 4, "a hooked call of probe");
    check(seen_ret != seen_real, "its return address on the stack is the trampoline's return site");
    check((const char *)seen_real > (const char *)call_probe && (const char *)seen_real < (const char *)call_probe + 64,
          "lp_ftrace_return_address gives the real one, inside the caller");
    int has_probe = 0, has_caller = 0;
    for (int i = 0; i < trace_n; i++) {
        has_probe |= (char *)trace[i] > (char *)probe && (char *)trace[i] < (char *)probe + 128;
        has_caller |= (char *)trace[i] > (char *)call_probe && (char *)trace[i] < (char *)call_probe + 64;
    }
    check(trace_n >= 1 && has_probe, "backtrace() from inside it returns, probe's frame included");
    check(has_caller, "and goes on past the hooked return into its caller (the trampoline's CFI finds R)");
    lp_patch_destroy(p);
    check(pad_is_compiled((const void *)probe) && pad_is_compiled((const void *)jumper), "every pad is as compiled again");
    __asm__ volatile("int3");
    check(program_traps == 1, "an int3 that is not at a pad goes to the program's own SIGTRAP handler");
    return check_summary();
}
