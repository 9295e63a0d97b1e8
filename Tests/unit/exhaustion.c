/*
 * exhaustion.c — the ABI out of memory: names far beyond LP_NAME_MAX under
 * RLIMIT_AS, and registration with the heap exhausted. Each case runs in a
 * forked child (the limit and the exhausted heap stay there); the answer is
 * an errno, never a crash.
 */
#include "check.h"
#include <livepatch/sim.h>

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int impl(void) { return 1; }

enum { HUGE_NAME = 4 << 20 };

/* A name of HUGE_NAME-1 bytes, made before the limit. */
static char *huge_name(void)
{
    char *name = malloc(HUGE_NAME);
    if (name) {
        memset(name, 'n', HUGE_NAME - 1);
        name[HUGE_NAME - 1] = 0;
    }
    return name;
}

/* Leaves room for about `spare` more bytes of address space. */
static int limit_address_space(size_t spare)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1)
        return -1;
    fclose(f);
    struct rlimit r = { .rlim_cur = pages * (size_t)sysconf(_SC_PAGESIZE) + spare };
    r.rlim_max = r.rlim_cur;
    return setrlimit(RLIMIT_AS, &r);
}

/* Takes every byte malloc can still hand out (the blocks are never freed:
 * the child exits). */
static void exhaust_heap(void)
{
    for (size_t size = 1 << 20; size >= 16; size /= 2)
        while (malloc(size) != NULL)
            ;
}

static int huge_names(void)
{
    char *name = huge_name();
    /* Room for the thread's mapping (2 MiB: its count rows and deep frames,
     * mapped when it registers), not for a copy of the name. */
    if (!name || limit_address_space(3 << 20) != 0)
        return 2;
    int bad = 0;
    errno = 0;
    bad |= lp_func_register(name, (const void *)impl) != NULL || errno != EINVAL;
    errno = 0;
    bad |= (lp_patch_create(name, LP_MODEL_KGRAFT, 0) != NULL || errno != EINVAL) << 1;
    lp_model_ops_t ops = { .name = name, .counts = LP_LEAVE_KERNEL, .switches = LP_SWITCH_THREAD };
    errno = 0;
    bad |= (lp_model_register(&ops) != LP_MODEL_INVALID || errno != EINVAL) << 2;
    lp_patch_t *p = lp_patch_create("p", LP_MODEL_KGRAFT, 0);
    bad |= (p == NULL || lp_patch_add_func_by_name(p, name, (const void *)impl) != -EINVAL) << 3;
    bad |= (lp_thread_register(name) != 0) << 4; /* cut to LP_THREAD_NAME_MAX-1 bytes */
    return bad;
}

static int register_with_no_heap(void)
{
    puts("(child: exhausting the heap)"); /* stdout's buffer exists before the heap is gone */
    if (limit_address_space(0) != 0)
        return 2;
    exhaust_heap();
    lp_sim_config_t cfg = { .threads = 1, .seed = 1, .strategy = LP_SIM_RANDOM };
    int rc = lp_sim_start(&cfg);
    if (rc != 0 && rc != -ENOMEM)
        return 4;
    errno = 0;
    lp_func_t *f = lp_func_register("no-heap", (const void *)impl);
    if (f == NULL)
        return errno == ENOMEM ? 0 : 3;
    /* It fitted after all (the table came from memory already mapped): the
     * hooks allocate nothing, so they work too. */
    return lp_func_enter(f) != (const void *)impl || lp_func_lookup("no-heap") != f;
}

/* ASan's allocator maps its whole heap up front, where RLIMIT_AS cannot
 * bound it: under ASan the heap cannot be exhausted this way. */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_CAN_BE_EXHAUSTED 0
#else
#define HEAP_CAN_BE_EXHAUSTED 1
#endif

int main(void)
{
    int rc = in_child(huge_names, 20);
    char line[128];
    snprintf(line, sizeof line, "4 MiB names under RLIMIT_AS: EINVAL from every call that takes a name (child status %d)", rc);
    check(rc == 0, line);
    if (!HEAP_CAN_BE_EXHAUSTED) {
        puts("(under ASan: the exhausted-heap case runs in the plain build only)");
        return check_summary();
    }
    rc = in_child(register_with_no_heap, 20);
    snprintf(line, sizeof line, "lp_sim_start, lp_func_register with the heap exhausted: success or ENOMEM (child status %d)", rc);
    check(rc == 0, line);
    return check_summary();
}
