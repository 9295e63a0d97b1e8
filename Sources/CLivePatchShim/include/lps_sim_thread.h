/*
 * Which simulated thread the caller is, for the simulation (Simulation/ in
 * the engine) and the syscall seam that consults it. C because Swift has no
 * initial-exec thread-local storage: the seam reads it in signal handlers
 * too, and must not reach __tls_get_addr in the shared library.
 */
#ifndef LPS_SIM_THREAD_H
#define LPS_SIM_THREAD_H

#include <stdint.h>

uint32_t lps_sim_self(void);          /* 1 + the calling thread's simulated id; 0: not simulated */
void lps_sim_set_self(uint32_t id);   /* nonzero: also arms the exit hook below */
int lps_sim_exit_hook(void (*leave)(void)); /* once: leave() runs at the exit of a thread still simulated; 0 or -errno */

#endif /* LPS_SIM_THREAD_H */
