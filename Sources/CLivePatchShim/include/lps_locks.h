/*
 * The slow paths' locks: plain mutexes for the registry and the patcher, the
 * simulation's join lock, and the fork gate. Which state each guards is
 * written where that state lives (Core/ in the engine) and in
 * docs/DESIGN.md section 8, with the lock order.
 */
#ifndef LPS_LOCKS_H
#define LPS_LOCKS_H

#include <stdbool.h>
#include <stdint.h>

void lps_lock_registry(void);
void lps_unlock_registry(void);
void lps_lock_patcher(void);
bool lps_trylock_patcher(void);
void lps_unlock_patcher(void);
/* Bumped after each unlock by a simulated thread: the futex word a simulated
 * thread waits on for the patcher lock (Core/PatcherLock.swift). */
__attribute__((returns_nonnull)) uint32_t *lps_patcher_unlocks(void);
void lps_lock_simulation(void);   /* guards the simulation's join phase (threads arrive concurrently) */
void lps_unlock_simulation(void);
void lps_locks_reinit_after_fork(void);
/* The fork gate, shared: held across the engine's own uses of liburcu that
 * no other lock covers (the thread-list scans, a record's retirement), so
 * that the fork handler, which takes it exclusively, never forks while
 * another thread is inside liburcu's registry lock or a read section, or
 * between retiring a record and queueing its free. Not recursive. */
void lps_fork_gate_enter(void);
void lps_fork_gate_exit(void);
void lps_fork_gate_lock(void);    /* exclusive: the fork handler */
void lps_fork_gate_unlock(void);

#endif /* LPS_LOCKS_H */
