/* engine_hooks.pml, part of lp_engine.pml (included from it, in this
 * order): Hooks/: lp_func_enter / lp_func_exit, the kernel sections,
 * safe points, offline / online. */

/* lp_func_enter(f) -> ret; the execution of ret begins (exec_begin) */
inline func_enter() {
    atomic { INHOOK(1); snapdone = done; dep = fdepth }
    SIG
    if
    :: dep == 0 ->
#ifndef READ_EPOCH_FIRST
       /* announce the activation, then read the epoch */
       ST_FEPOCH(EUNK);                     /* lps_store_u64(&t.fepoch, epochUnknown) */
       SIG
       ST_FDEPTH(1);                        /* lps_store_release_u32(&t.fdepth, 1) */
       /* lps_thread_side_fence() */
       SIG
       atomic { e = epoch }                 /* snapshotOutermostEpoch: lps_load_acquire_u64(&lps_global.epoch) */
       SIG
       ST_FEPOCH(e);                        /* lps_store_u64(&t.fepoch, e): over a handler's
                                             * snapshot too (FunctionHooks.swift says why) */
       /* pushFrame: the shadow stack holds only f, a set function: left out */
#else
       /* the order before commit 4f3be54 (finding B1) */
       atomic { e = epoch }
       ST_FEPOCH(e);
       ST_FDEPTH(1);
#endif
       e = 0
    :: else -> ST_FDEPTH(dep + 1)
    fi;
    SIG
    /* The hook reads its own fepoch after tx_epoch (enterFrame): between the
     * two, only this thread's signal handler writes fepoch, and
     * enterOldActivation reads it again, so one step models both orders. */
    atomic {
        fe = tx_epoch;                      /* lps_load_acquire_u64(&f.tx_epoch) */
        if
        :: fe == 0 -> steady = 1            /* no transition */
        :: fe != 0 && fe != fepoch && dep != 0 -> steady = 1
                                            /* enterOldActivation: nested in an older activation
                                             * of f, a set function (oldFramesMayHoldSet) */
#ifndef READ_EPOCH_FIRST
        :: fe != 0 && fe != fepoch && dep == 0 -> steady = 0; setentry = 1
                                            /* ... the outermost set entry of an older activation */
#else
        :: fe != 0 && fe != fepoch && dep == 0 -> steady = 1
                                            /* the engine before 4f3be54 had no re-arm either (it
                                             * alone closes B1 for function activations) */
#endif
        :: fe != 0 && fe == fepoch -> steady = 0; ACTIVATION_UNIVERSE /* enterInTransition */
        fi
    }
    SIG
    if
    :: setentry ->
       atomic { e = epoch }                 /* oldFramesMayHoldSet: lps_load_acquire_u64(&lps_global.epoch) */
       SIG
       if
       :: e == fe ->
          ST_FEPOCH(fe);                    /* lps_store_u64(&t.fepoch, epoch) (then the wake-up: left out) */
          SIG
          atomic { setentry = 0; e = 0; ACTIVATION_UNIVERSE }
       :: else -> atomic { setentry = 0; e = 0; steady = 1 }
       fi
    :: else -> skip
    fi
    if
    :: steady ->
       atomic { ret = impl; exec_begin(ret); steady = 0; fe = 0; dep = 0; INHOOK(0) }
    :: else ->
       if
       :: need -> beginActivation(fe)
       :: else -> skip
       fi;
       /* lps_load_ptr(tx_old), (tx_new): written before the transition
        * started and unchanged in it, so their loads are grouped with the
        * next one. lps_acquire_fence(); the seqlock-style re-check: */
       atomic {
           o = tx_old; n = tx_new;
           if
           :: tx_epoch == fe ->
              ret = (u == U_NEW -> n : o); exec_begin(ret);
              o = 0; n = 0; u = 0; fe = 0; dep = 0; INHOOK(0)
           :: else -> steady = 1            /* it ended meanwhile: the steady impl */
           fi
       }
       if
       :: steady ->
          atomic { ret = impl; exec_begin(ret); steady = 0; o = 0; n = 0; u = 0; fe = 0; dep = 0; INHOOK(0) }
       :: else -> skip
       fi
    fi
}

/* the execution of x ends; then lp_func_exit(f). The outermost set-function
 * activation ends with it (unless, with LEAVE_KERNEL, it is part of a
 * kernel section's). */
inline func_exit(x) {
    atomic {
        exec_end(x);
        INHOOK(1);
        dep = fdepth; assert(dep != 0);
        if :: dep == 1 && (LEAVE != LEAVE_KERNEL || kdepth == 0) -> aver = NOV :: else -> skip fi
    }
    /* (its load of f.tx_epoch and exitSlow's leave / sw loads matter only
     * to SWITCH_FUNCTION and to wake-ups: left out) */
    atomic {
        ST_FDEPTH(dep - 1);
        need = (act != A_NONE && !AISK(act) && AMARK(act) == dep - 1);
        if :: dep == 1 -> CROSSED :: else -> skip fi
    }
    if
    :: need ->
       ST_ACT(A_NONE);                      /* endActivation */
#if LEAVE == LEAVE_KERNEL
       /* a kernel section begun inside the activation outlives it */
       if
       :: kdepth != 0 ->
          atomic { need = (kernel_area != 0 && kepoch == fepoch); kk = 1; mk = 0 }
          if
          :: need -> beginActivation(fepoch)
          :: else -> skip
          fi
       :: else -> skip
       fi;
#endif
       need = 0
    :: else -> skip
    fi;
    atomic { dep = 0; kk = 0; INHOOK(0) }
}

/* lp_kernel_enter() */
inline kernel_enter() {
    atomic { INHOOK(1); dep = kdepth }
    if
    :: dep == 0 ->
#ifndef READ_EPOCH_FIRST
       /* announce, then read the epoch, as in lp_func_enter */
       ST_KEPOCH(EUNK);                     /* lps_store_u64(&t.kepoch, epochUnknown) */
       ST_KDEPTH(1);                        /* lps_store_release_u32(&t.kdepth, 1) */
       /* lps_thread_side_fence() */
       atomic { e = epoch }                 /* lps_load_acquire_u64(&lps_global.epoch) */
       ST_KEPOCH(e);
#else
       /* the order before commit 4f3be54 (finding B1) */
       atomic { e = epoch }
       ST_KEPOCH(e);
       ST_KDEPTH(1);
#endif
#if LEAVE == LEAVE_KERNEL
       atomic { need = (kernel_area != 0 && act == A_NONE); kk = 1; mk = 0 }
       if
       :: need -> beginActivation(e)
       :: else -> skip
       fi;
#endif
       skip
    :: else -> ST_KDEPTH(dep + 1)
    fi;
    atomic {
#if LEAVE == LEAVE_KERNEL || (FLAGS & F_ARM_AT_KERNEL_EXIT)
        insec[me] = 1; kpre[me] = !started;
#endif
        e = 0; dep = 0; kk = 0; u = 0; INHOOK(0)
    }
}

/* lp_kernel_exit() */
inline kernel_exit() {
    atomic {
#if LEAVE == LEAVE_KERNEL || (FLAGS & F_ARM_AT_KERNEL_EXIT)
        insec[me] = 0; kpre[me] = 0;
#endif
        INHOOK(1);
        dep = kdepth; assert(dep != 0);
        if :: dep == 1 && LEAVE == LEAVE_KERNEL -> aver = NOV :: else -> skip fi  /* the kernel section ends */
    }
    atomic { ST_KDEPTH(dep - 1); if :: dep == 1 -> CROSSED :: else -> skip fi }
    if
    :: dep == 1 ->
       if
       :: act != A_NONE && AISK(act) -> ST_ACT(A_NONE)     /* endActivation */
       :: else ->
#if (FLAGS & F_KERNEL_EXIT_SWITCHES)
          /* UPSTREAM: the return to "user space" re-arms the function activations */
          atomic { e = epoch };
          ST_FEPOCH(e);
          e = 0
#else
          skip
#endif
       fi
    :: else -> skip
    fi;
    atomic { dep = 0; INHOOK(0) }
}

/* rearm(t): lp_safe_point(), and the end of lp_thread_online() */
inline rearm() {
    if
    :: act != A_NONE -> ST_ACT(A_NONE)
    :: else -> skip
    fi;
    /* lps_thread_side_fence() */
    atomic { e = epoch }                    /* lps_load_acquire_u64(&lps_global.epoch) */
    atomic { ST_FEPOCH(e); CROSSED }
    if
    :: kdepth != 0 -> ST_KEPOCH(e)
    :: else -> skip
    fi;
#if LEAVE == LEAVE_KERNEL
    if
    :: kdepth != 0 ->
       atomic { need = (kernel_area != 0); kk = 1; mk = 0 }
       if
       :: need -> beginActivation(e)
       :: else -> skip
       fi
    :: else -> skip
    fi;
#endif
    atomic { e = 0; kk = 0 }
}

inline safe_point() {
    atomic {
        INHOOK(1);
        if :: LEAVE == LEAVE_KERNEL -> aver = NOV :: else -> skip fi  /* the kernel section's activation ends */
    }
    rearm();
    INHOOK(0)
}

inline thread_offline() {
    ST_ACT(A_NONE);
    ST_OFFLINE(1)
}

inline thread_online() {
    atomic { INHOOK(1); ST_OFFLINE(0) }
    rearm();
    INHOOK(0)
}

/* x = the version returned */
#define KEEP(x) x = ret; ret = 0

/* f { f }: an outermost call of f that calls f once */
inline call_f_nested() {
    func_enter(); KEEP(x0);
    func_enter(); KEEP(x1);
    func_exit(x1); x1 = 0;
    func_exit(x0); x0 = 0
}

/* f: one call */
inline call_f() {
    func_enter(); KEEP(x0);
    func_exit(x0); x0 = 0
}
