/*
 * pending.h — what the hold and wait harnesses share: a registered thread
 * parked inside a function (a transition over it stays pending, every hold
 * stalls), and clocks that tell the engine's time from the scheduler's.
 */
#ifndef LP_PENDING_H
#define LP_PENDING_H

#include <livepatch.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define MS 1000000ull
#define FN(fn) ((const void *)(uintptr_t)(fn))

/* The parked function's implementations: both return at once. */
static void impl_old(void) {}
static void impl_new(void) {}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lp_func_t *f;
    int inside, go;
} park = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0};

static void *parked_main(void *arg)
{
    (void)arg;
    lp_thread_register("parked");
    ((void (*)(void))(uintptr_t)lp_func_enter(park.f))();
    pthread_mutex_lock(&park.mu);
    park.inside = 1;
    pthread_cond_broadcast(&park.cv);
    while (!park.go) pthread_cond_wait(&park.cv, &park.mu);
    pthread_mutex_unlock(&park.mu);
    lp_func_exit(park.f);
    lp_thread_unregister();
    return NULL;
}

/* A thread inside f (whose implementation returns at once) until release_parked. */
static pthread_t start_parked(lp_func_t *f)
{
    pthread_t th;
    park.f = f;
    park.inside = park.go = 0;
    pthread_create(&th, NULL, parked_main, NULL);
    pthread_mutex_lock(&park.mu);
    while (!park.inside) pthread_cond_wait(&park.cv, &park.mu);
    pthread_mutex_unlock(&park.mu);
    return th;
}

static void release_parked(pthread_t th)
{
    pthread_mutex_lock(&park.mu);
    park.go = 1;
    pthread_cond_broadcast(&park.cv);
    pthread_mutex_unlock(&park.mu);
    pthread_join(th, NULL);
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Time the calling thread spent runnable but not running (the scheduler's,
 * not the engine's); 0 if the kernel does not say. */
static inline uint64_t runqueue_ns(void)
{
    unsigned long long run = 0, wait = 0;
    FILE *fp = fopen("/proc/thread-self/schedstat", "r");
    if (!fp) return 0;
    if (fscanf(fp, "%llu %llu", &run, &wait) != 2) wait = 0;
    fclose(fp);
    return wait;
}

#endif
