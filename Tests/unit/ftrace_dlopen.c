/*
 * ftrace_dlopen.c — an object loaded after the first discovery: a second
 * lp_ftrace_discover finds its functions (and only them), and they are
 * patched like the executable's, called through dlsym's pointer.
 *
 * The object is built here, from the source below, with the C compiler the
 * harness was built with ($CC, else cc): scripts/test compiles harnesses
 * from one file each.
 */
// harness-cflags: -fpatchable-function-entry=5 -ldl
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"
#include "noipa.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull
#define HANG_BOUND (10000 * MS)

static const char plugin_source[] =
    "__attribute__((noinline, weak)) int plugin_value(int x) { return x + 100; }\n"
    "__attribute__((noinline, weak)) int plugin_twice(int x) { return 2 * plugin_value(x); }\n";

NOIPA int plugin_value_new(int x) { return x + 200; }

int main(void)
{
    lp_thread_register("main");
    char dir[] = "/tmp/lp-ftrace-dlopen-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char src[128], so[128], cmd[512];
    snprintf(src, sizeof src, "%s/plugin.c", dir);
    snprintf(so, sizeof so, "%s/plugin.so", dir);
    FILE *f = fopen(src, "w");
    fputs(plugin_source, f);
    fclose(f);
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    snprintf(cmd, sizeof cmd, "%s -O2 -shared -fPIC -fpatchable-function-entry=5 %s -o %s", cc, src, so);
    check(system(cmd) == 0, "the plugin builds with the pad");

    /* A patch that names a plugin function before the plugin is loaded. */
    lp_patch_t *early = lp_patch_create("plugin-early", LP_MODEL_UPSTREAM, 0);
    check_rc("add_func_by_name before the plugin is loaded", lp_patch_add_func_by_name(early, "plugin_twice",
             (const void *)plugin_value_new), 0);
    int first = lp_ftrace_discover(0);
    check(first > 0, "discover: the executable's functions");
    check(lp_func_lookup("plugin_value") == NULL, "the plugin is not loaded yet");
    void *h = dlopen(so, RTLD_NOW);
    check(h != NULL, "dlopen the plugin");
    int (*value)(int) = (int (*)(int))dlsym(h, "plugin_value");
    int (*twice)(int) = (int (*)(int))dlsym(h, "plugin_twice");
    check_rc("a second discover finds the plugin's two functions, nothing else", lp_ftrace_discover(0), 2);
    check(twice(1) == 202, "the early patch is not enabled: plugin_twice is itself");
    lp_func_t *pv = lp_func_lookup("plugin_value");
    check(pv != NULL && lp_ftrace_patchable(pv) == 1, "plugin_value is found by name and patchable");

    lp_patch_t *p = lp_patch_create("plugin", LP_MODEL_UPSTREAM, 0);
    check_rc("add_func", lp_patch_add_func(p, pv, (const void *)plugin_value_new), 0);
    int rc = lp_patch_enable(p);
    check_rc("enable", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    check(value(1) == 201, "the plugin's function is replaced, called through dlsym's pointer");
    check(twice(1) == 402, "and from inside the plugin");
    rc = lp_patch_disable(p);
    check_rc("disable", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    check(value(1) == 101 && twice(1) == 202, "the old one again");
    check_rc("destroy", lp_patch_destroy(p), 0);
    /* The early patch took plugin_twice at discovery: armed, and enabling
     * it replaces it. */
    check(*(const unsigned char *)(const void *)twice == 0xe9, "the early patch's function was armed at discovery");
    rc = lp_patch_enable(early);
    check_rc("enable the early patch", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    check(twice(1) == 201, "plugin_twice is replaced");
    rc = lp_patch_disable(early);
    check_rc("disable it", rc < 0 ? rc : lp_transition_wait(HANG_BOUND), 0);
    check_rc("destroy it", lp_patch_destroy(early), 0);
    check(twice(1) == 202, "plugin_twice is itself again");
    unlink(so);
    unlink(src);
    rmdir(dir);
    return check_summary();
}
