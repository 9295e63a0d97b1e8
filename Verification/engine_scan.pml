/* engine_scan.pml, part of lp_engine.pml (included from it, in this
 * order): Transition/Scan.swift: blockReason and scan. */

/* ============ patcher side: Transition/ ============ */

/* blockReason(t, tx) -> blk: 1 when t blocks the transition.
 *
 * Its loads of t's record are made in one atomic step, but before each load
 * any further prefix of t's store buffer may reach memory (TSO_DRAIN), so
 * the loads see what successive loads can see: each a later prefix of t's
 * stores than the one before. What a step cannot show is t taking steps of
 * its own in the middle of its scan; those steps load only what the
 * patcher does not write during a scan, so they can be moved before it (their
 * stores stay buffered for the later loads to see), up to the capacity of
 * the buffer. -DFINE_SCAN makes every load its own step instead (README.md
 * gives its state counts). */
#ifdef FINE_SCAN
#define SCAN_STEP(x) atomic { x }
#define TSO_DRAIN(t) skip
#else
#define SCAN_STEP(x) x
#define TSO_DRAIN(t) do :: len(sb[t]) > 0 -> commit(t) :: true -> break od
#endif
inline blockReason(t) {
#ifndef FINE_SCAN
  atomic {
#endif
    blk = 0;
#ifdef OFFLINE_USED
    SCAN_STEP(TSO_DRAIN(t); off = m_offline[t]; SAMPLE(t));
#endif
    if
    :: off -> skip
    :: else ->
       SCAN_STEP(TSO_DRAIN(t); a = m_act[t]; SAMPLE(t));
       if
       :: ABELONGS(a, EPOCH) && !ADECIDED(a) -> blk = 1       /* transient */
       :: ABELONGS(a, EPOCH) && ADECIDED(a) && AUNIV(a) != tgt -> blk = 1
       :: else ->
          a = 0;
          if
          :: tgt == U_NEW ->
             SCAN_STEP(TSO_DRAIN(t); kd = m_kdepth[t]; SAMPLE(t));            /* acquire */
             SCAN_STEP(TSO_DRAIN(t); kf = (m_kepoch[t] == EPOCH); SAMPLE(t));
#if LEAVE == LEAVE_KERNEL
             if
             :: kd != 0 && !kf -> blk = 1
             :: else -> skip
             fi;
#endif
             if
             :: blk == 0 ->
                SCAN_STEP(TSO_DRAIN(t); fd = m_fdepth[t]; SAMPLE(t));         /* acquire */
                if
                :: fd != 0 -> SCAN_STEP(TSO_DRAIN(t); blk = (m_fepoch[t] != EPOCH); SAMPLE(t))
                :: else -> skip
                fi
             :: else -> skip
             fi;
#if (FLAGS & F_ARM_AT_KERNEL_EXIT)
             if
             :: blk == 0 && kd != 0 && !kf -> blk = 1
             :: else -> skip
             fi;
#endif
             skip
          :: else -> skip
          fi
       fi
    fi;
#if SW == SWITCH_KERNEL
    /* the hold itself keeps t from leaving: t sleeps in waitWhileHeld */
    stuck = (blk && held[t]);
#endif
    off = 0; a = 0; kd = 0; kf = 0; fd = 0
#ifndef FINE_SCAN
  }
#endif
}

/* scan(tx).blocked != 0 -> nb = 1 (it stops at the first blocking thread:
 * the rest of the scan has no effect on the decision); stuck = 1 when that
 * thread is held by the hold itself */
inline scan() {
    atomic { nb = 0; SCAN_BEGIN };
    blockReason(0);
    if
    :: blk -> nb = 1
    :: else ->
       blockReason(1);
       if
       :: blk -> nb = 1
       :: else -> skip
       fi
    fi;
    blk = 0
}
