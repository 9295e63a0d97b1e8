/*
 * dlclose.c — the shared library may be dlclose()d while a thread it
 * registered is still alive: that thread's exit must not crash.
 *
 * A registered thread leaves a thread-exit hook (a pthread key destructor)
 * that points into the library. If dlclose() unmapped the library, the
 * thread's exit would jump into unmapped memory (SIGSEGV). The library is
 * linked with -z nodelete (Package.swift), so dlclose() leaves it mapped.
 *
 * Loads the in-tree shared library, or LP_SHARED_LIB when set.
 */
#include "check.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int registered_rc = 1, may_exit;

static int (*thread_register)(const char *);

static void *worker(void *arg)
{
    (void)arg;
    int rc = thread_register("dlclose-worker");
    pthread_mutex_lock(&mu);
    registered_rc = rc;
    pthread_cond_broadcast(&cv);
    while (!may_exit)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL; /* runs the library's thread-exit hook */
}

int main(void)
{
    const char *path = getenv("LP_SHARED_LIB");
    if (!path)
        path = ".build-embedded/release/liblivepatch-shared.so";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("dlopen %s: %s\n", path, dlerror());
        check(0, "dlopen the shared library");
        return check_summary();
    }
    check(1, "dlopen the shared library");
    *(void **)&thread_register = dlsym(lib, "lp_thread_register");
    check(thread_register != NULL, "dlsym lp_thread_register");
    if (!thread_register)
        return check_summary();

    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_mutex_lock(&mu);
    while (registered_rc == 1)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    check_rc("a thread registers through the dlopen()ed library", registered_rc, 0);

    check_rc("dlclose() while that thread is alive", dlclose(lib), 0);

    pthread_mutex_lock(&mu);
    may_exit = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    check(1, "the registered thread exits after dlclose() without a crash");
    return check_summary();
}
