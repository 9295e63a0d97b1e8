/*
 * liburcu, memb flavour: reader registration, the read side, the thread list
 * (an RCU list the patcher's scans walk) and call_rcu for retired records.
 */
#ifndef LPS_RCU_H
#define LPS_RCU_H

#include "lps_records.h"

void lps_rcu_reader_online(void);   /* nests; registers the calling thread with liburcu on the first */
void lps_rcu_reader_offline(void);
void lps_rcu_read_lock(void);
void lps_rcu_read_unlock(void);
void lps_thread_list_add(lps_thread_rec_t *rec);  /* registry lock held */
void lps_thread_list_del(lps_thread_rec_t *rec);  /* registry lock held */
void lps_thread_list_reset(void);
lps_thread_rec_t *lps_thread_list_first(void);  /* under lps_rcu_read_lock or the registry lock */
lps_thread_rec_t *lps_thread_list_next(lps_thread_rec_t *rec);
void lps_rcu_set_free_callback(void (*fn)(lps_thread_rec_t *)); /* once, before any free */
void lps_rcu_free_thread(lps_thread_rec_t *rec);  /* fn(rec) after a grace period */
void lps_rcu_call(struct rcu_head *head, void (*fn)(struct rcu_head *)); /* call_rcu, every signal blocked (lps_rcu.c) */
void lps_rcu_before_fork(void);
void lps_rcu_after_fork_parent(void);
void lps_rcu_after_fork_child(void);

#endif /* LPS_RCU_H */
