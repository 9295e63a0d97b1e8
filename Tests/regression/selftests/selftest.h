/*
 * selftest.h — what the ported kernel selftests (Tests/regression/selftests/NAME.c) share:
 * a fatal expectation, the engine's log printed as the kernel's dmesg prints
 * pr_notice lines ("livepatch: ..."), and the enable/disable steps that
 * print the command they stand for ("% enable NAME", like the selftests'
 * "% insmod ..."). Header-only so that each scenario stays one program built
 * by scripts/check-selftests with cc_static_cmd.
 */
#ifndef LP_SELFTEST_H
#define LP_SELFTEST_H

#include <livepatch.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A broken expectation ends the scenario with status 1, whatever the diff says. */
#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fflush(stdout);                                                               \
            fprintf(stderr, "%s:%d: expectation failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static void selftest_log(const char *line, void *ctx)
{
    (void)ctx;
    printf("livepatch: %s\n", line);
}

/* Line-buffered stdout (the log and the scenario's own lines interleave in
 * program order) and the engine's log on it. */
static inline void selftest_begin(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    EXPECT(lp_set_log_handler(selftest_log, NULL) == 0);
}

/* A stable spelling of the codes the scenarios expect (lp_strerror's text
 * may be reworded without breaking a golden log). */
static inline const char *errname(int rc)
{
    switch (rc) {
    case 0: return "0";
    case -EINVAL: return "-EINVAL";
    case -EBUSY: return "-EBUSY";
    case -ENOENT: return "-ENOENT";
    case -EEXIST: return "-EEXIST";
    case -ECANCELED: return "-ECANCELED";
    default: return lp_strerror(rc);
    }
}

static inline lp_patch_t *new_patch(const char *name, unsigned flags, lp_func_t *f, const void *impl)
{
    lp_patch_t *p = lp_patch_create(name, LP_MODEL_UPSTREAM, flags);
    EXPECT(p != NULL);
    if (f)
        EXPECT(lp_patch_add_func(p, f, impl) == 0);
    return p;
}

/* "% enable NAME", then the transition to its end. */
static inline void enable(lp_patch_t *p, const char *name)
{
    printf("%% enable %s\n", name);
    EXPECT(lp_patch_enable(p) == 0);
    EXPECT(lp_transition_wait(0) == 0);
}

static inline void disable(lp_patch_t *p, const char *name)
{
    printf("%% disable %s\n", name);
    EXPECT(lp_patch_disable(p) == 0);
    EXPECT(lp_transition_wait(0) == 0);
}

/* A string-returning patched function, called through the hooks and
 * printed as the selftests cat a /proc file. */
typedef const char *(*show_fn)(void);
static inline void expect_show(lp_func_t *f, const char *file, show_fn want)
{
    const char *s = ((show_fn)lp_func_enter(f))();
    lp_func_exit(f);
    printf("%% cat /proc/%s\n%s\n", file, s);
    EXPECT(s == want());
}

#endif
