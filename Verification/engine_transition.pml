/* engine_transition.pml, part of lp_engine.pml (included from it, in this
 * order): Transition/: complete, startTransition, the hold, the
 * patcher's loop; the processes and the liveness property. */

/* complete() */
inline complete() {
    d_step {
        /* I0 at completion: no execution of the other version is in flight */
        assert(forced || live[(tgt == U_NEW -> tx_old : tx_new)] == 0);
        impl = (tgt == U_NEW -> tx_new : tx_old)   /* release store of impl */
    }
    d_step { tx_epoch = 0; done = 1 }               /* release store of tx_epoch */
    kernel_area = 0
}

/* startTransition(): f's record, then the model, then the epoch, then a
 * membarrier. */
inline startTransition() {
    tx_epoch = EPOCH;                               /* f.tx_* then tx_epoch (release) */
    d_step {
        target = U_NEW; kuniv = U_OLD; hold = 0;
        kernel_area = (LEAVE == LEAVE_KERNEL)
    }
    d_step { epoch = EPOCH; started = 1 }           /* lps_store_release_u64(&epoch) */
    MB_START;
    tgt = U_NEW
}

/* Liveness runs: after a hold timed out, the next one waits (tx.nextHoldAt)
 * until every thread inside the area has left it once. */
inline retryGap() {
#if defined(LIVE) && SW == SWITCH_KERNEL && !defined(NO_RETRY_GAP)
    (passed[0] || !inarea[0]) && (passed[1] || !inarea[1])
#else
    skip
#endif
}

#if SW == SWITCH_KERNEL
/* holdAndSwitchKernel(&tx) -> sw_ok, with holding(&lps_global.hold) */
inline holdAndSwitchKernel() {
    retryGap();
    hold = 1;                        /* lps_store_u32(word, 1); fetch_add waiting */
    MB_HOLD;
    do
    :: scan();
       if
       :: nb == 0 -> sw_ok = 1; break
       :: else ->
          if
          :: stuck -> sw_ok = 0; break             /* it waits for itself: the bound passes */
          :: timeouts < MAXTO -> sw_ok = 0; break  /* an early timeout */
          :: else -> skip                          /* sleep on wake_seq, check again */
          fi
       fi
    od;
    stuck = 0;
    if
    :: sw_ok ->
       d_step {
           kuniv = tgt;              /* the switch instant */
#if LEAVE == LEAVE_KERNEL
           /* I2: no thread inside a kernel section */
           assert(forced || (!insec[0] && !insec[1]));
#endif
#if (FLAGS & F_ARM_AT_KERNEL_EXIT)
           /* Hiramatsu: no thread still inside a kernel section it entered
            * before the start */
           assert(forced || (!(insec[0] && kpre[0]) && !(insec[1] && kpre[1])));
#endif
           skip
       }
    :: else ->
       d_step {
           if :: timeouts < MAXTO -> timeouts++ :: else -> skip fi;  /* tx.holdTimedOut() (saturating) */
#if defined(LIVE)
           passed[0] = 0; passed[1] = 0
#endif
       }
    fi;
    hold = 0                         /* releaseHold(): release store, futex wake */
}
#endif

/* The patcher: start, then lp_transition_try_complete() until done (or
 * a reverse, or a force). It runs in init (one process less for the
 * fairness of the liveness runs), after init has started the others. */
#define PATCHER_LOCALS \
    byte a, kd, fd, timeouts, hf, hv; \
    bit nb, blk, off, kf, tgt, sw_ok, stuck
inline patcher() {

    startTransition();
    do
    :: /* lp_transition_try_complete() -> tryCompleteLocked() */
#if SW == SWITCH_KERNEL
       if
       :: kuniv == tgt -> complete(); break
       :: else ->
          holdAndSwitchKernel();
          if
          :: sw_ok -> complete(); break
          :: else -> skip
          fi
       fi
#else
       scan();
       if
       :: nb == 0 -> complete(); break
       :: else -> skip
       fi
#endif
#ifdef REVERSE
    :: !rev ->                       /* lp_transition_reverse() */
       d_step { rev = 1; tgt = 1 - tgt; target = tgt; gtarget = tgt }
       MB_REVERSE
#endif
#ifdef FORCE
    :: d_step { forced = 1; kuniv = tgt }   /* lp_transition_force() */
       complete(); break
#endif
    od
}

/* init { PATCHER_LOCALS; start_all() } in each model */
inline start_all() {
    atomic {
        run drainer(0); run drainer(1);
        run thread(0); run thread(1)
    };
    patcher()
}

/* Liveness (-DLIVE; pan -a -f: weak fairness). SWITCH_KERNEL: the
 * transition completes. SWITCH_THREAD has no hold: a scan that reads a
 * thread in the middle of a hook (an activation half begun, a store still
 * in its buffer) finds it busy, and a scheduler can arrange that forever;
 * the property assumes it happens finitely often (the engine re-polls
 * after 20 us when a scan saw a half-begun activation). */
#ifdef LIVE
#if SW == SWITCH_KERNEL || defined(NO_PREMISE)
ltl live { <> done }
#else
ltl live { (<>[] !caught) -> <> done }
#endif
#endif
