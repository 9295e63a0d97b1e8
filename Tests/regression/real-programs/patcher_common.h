/*
 * patcher_common.h — what the real programs' patchers share
 * (pigz_patcher.c, program_patcher.c): the preset they are told to use, by
 * its name in an environment variable, and how they start their thread.
 */
#ifndef PATCHER_COMMON_H
#define PATCHER_COMMON_H

#include <livepatch.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

static inline lp_model_t preset_named(const char *name)
{
    if (strcmp(name, "UPSTREAM") == 0) return LP_MODEL_UPSTREAM;
    if (strcmp(name, "KGRAFT") == 0) return LP_MODEL_KGRAFT;
    if (strcmp(name, "KPATCH") == 0) return LP_MODEL_KPATCH;
    if (strcmp(name, "HIRAMATSU") == 0) return LP_MODEL_HIRAMATSU;
    return LP_MODEL_INVALID;
}

/* pthread_create for a patcher thread that blocks every signal: the
 * program's handlers must run on its own threads, which may block a signal
 * to keep its handler out of a critical section (bash blocks SIGCHLD around
 * its job table; a patcher thread that took the signal instead ran the
 * handler behind it, and a pipeline's statuses came out 0). */
static inline int start_patcher_thread(pthread_t *thread, void *(*body)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(thread, NULL, body, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

#endif
