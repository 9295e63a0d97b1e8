/*
 * The simulated-thread word and its exit hook (lps_sim_thread.h).
 */
#define _GNU_SOURCE
#include "lps_shim.h"

#include <pthread.h>

/* initial-exec, as lps_tls: the seam reads it in signal handlers too. */
static __thread uint32_t sim_self __attribute__((tls_model("initial-exec")));

/* A simulated thread that exits without lp_sim_thread_leave leaves at its
 * exit: this key's destructor runs while sim_self still names it, and would
 * otherwise leave the rest of the run waiting for it forever. */
static pthread_key_t sim_exit_key;
static void (*sim_leave)(void);

static void sim_thread_exit(void *value)
{
    (void)value;
    if (sim_self)
        sim_leave();
}

int lps_sim_exit_hook(void (*leave)(void))
{
    sim_leave = leave;
    return -pthread_key_create(&sim_exit_key, sim_thread_exit);
}

uint32_t lps_sim_self(void) { return sim_self; }

void lps_sim_set_self(uint32_t id)
{
    sim_self = id;
    pthread_setspecific(sim_exit_key, id ? (void *)1 : NULL);
}
