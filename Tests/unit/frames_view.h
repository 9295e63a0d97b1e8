/*
 * frames_view.h — what the engine says of a thread's hooked frames, for the
 * tests of frames left without their exit (longjmp, exceptions): the
 * abandoned exits counted so far, and the depth of the thread named "main"
 * as the snapshot reads it. Neither runs a hook (no_instrument_function:
 * exception_frames.cpp is built with -finstrument-functions). C and C++.
 */
#ifndef FRAMES_VIEW_H
#define FRAMES_VIEW_H

#include <livepatch.h>
#include <stdint.h>
#include <string.h>

__attribute__((no_instrument_function)) static inline uint64_t abandoned_exits(void)
{
    lp_transition_status_t s;
    lp_transition_status(&s);
    return s.abandoned_exits;
}

__attribute__((no_instrument_function)) static inline uint32_t main_depth(void)
{
    lp_thread_state_t states[8];
    lp_snapshot_t snap;
    memset(&snap, 0, sizeof snap);
    snap.threads = states;
    snap.threads_cap = 8;
    lp_status_snapshot(&snap);
    for (uint32_t i = 0; i < snap.n_threads && i < 8; i++)
        if (strcmp(states[i].name, "main") == 0)
            return states[i].function_depth;
    return UINT32_MAX;
}

#endif
