/* engine_handler.pml, part of lp_engine.pml (included from it, in this
 * order): a signal handler's nested call of f (-DHANDLER). */

/* ---- a signal handler's nested call (-DHANDLER) ----
 *
 * Thread 0's handler may run once, between any two steps of an
 * lp_func_enter of the thread (SIG), and calls f: a nested lp_func_enter
 * with its own temporaries (the interrupted hook's live ones are saved and
 * restored around it, as the handler's own stack frame keeps them apart),
 * the execution (exec_begin: the same ghosts as the thread's own calls, so
 * I0 and I1 monotonic judge it), and lp_func_exit. One version per
 * activation: the handler's call counts in the interrupted activation once
 * that is decided, i.e. a kernel section under LEAVE_KERNEL (decided when
 * lp_kernel_enter returned), or an activation that already ran f; before,
 * it is ordered before the activation's decision, as an activation of its
 * own. A handler that lands before the outermost entry announced
 * fdepth makes an outermost call of its own, ordered before the interrupted
 * one, as the thread's own calls are: it is left out (hdep == 0). */
#ifdef HANDLER
#define HANDLER_LOCALS bit hran, hsnap, hs, hsteady, hneed, hkk, hj; byte hdep, hfe, he, hret, hu, hmk, hwas, hav
#define SIG if :: me == 0 && !hran -> handler() :: skip fi;
#else
#define HANDLER_LOCALS bit hran
#define SIG              /* nothing: the other runs keep their state spaces */
#endif

#if LEAVE == LEAVE_KERNEL
#define HJOIN (aver != NOV || (kdepth != 0 && insec[me]))
#else
#define HJOIN (aver != NOV)
#endif

#ifdef HANDLER
inline handler() {
    atomic { hran = 1; hsnap = done; hu = u; hkk = kk; hmk = mk; hneed = need; hwas = e; hfe = fe; hdep = dep;
             dep = fdepth; need = 0 }
    if
    :: dep == 0 -> skip
    :: else ->
       ST_FDEPTH(dep + 1);
       atomic {
           fe = tx_epoch;                   /* lps_load_acquire_u64(&f.tx_epoch) */
           if
           :: fe == 0 -> hsteady = 1
           :: fe != 0 && fe != fepoch && fepoch != EUNK -> hsteady = 1
                                            /* enterOldActivation: nested in an older activation */
           :: fe != 0 && fepoch == EUNK -> skip
                                            /* ... of the interrupted outermost entry, before its snapshot */
           :: fe != 0 && fe == fepoch -> ACTIVATION_UNIVERSE
           fi
       }
       if
       :: !hsteady && fepoch == EUNK ->
#ifndef OLD_SNAPSHOT
          atomic { he = epoch }             /* snapshotEpoch: lps_load_acquire_u64(&lps_global.epoch) */
          ST_FEPOCH(he);                    /* lps_local_cas_u64(&t.fepoch, epochUnknown, he): the
                                             * interrupted entry is stopped, so it succeeds */
          atomic {
              he = 0;
              if
              :: fe == fepoch -> ACTIVATION_UNIVERSE
              :: else -> hsteady = 1        /* oldFramesMayHoldSet: the frames below are f's, stale
                                             * or not: true */
              fi
          }
#else
          hsteady = 1                       /* before the fix: "unknown" read as an older activation */
#endif
       :: else -> skip
       fi;
       if
       :: hsteady -> atomic { hret = impl; hsteady = 0 }
       :: else ->
          if
          :: need -> beginActivation(fe)
          :: else -> skip
          fi;
          atomic {
              if
              :: tx_epoch == fe -> hret = (u == U_NEW -> tx_new : tx_old)
              :: else -> hret = impl
              fi
          }
       fi;
       atomic {
           hs = snapdone; snapdone = hsnap; hav = aver; hj = HJOIN;
           if :: !hj -> aver = NOV :: else -> skip fi;
           exec_begin(hret);
           if :: !hj -> aver = hav :: else -> skip fi;
           snapdone = hs; hs = 0; hav = 0; hj = 0
       }
       atomic { exec_end(hret) }
       /* lp_func_exit(f): its activation ends with it if the handler began one */
       atomic {
           ST_FDEPTH(dep);
           need = (act != A_NONE && !AISK(act) && AMARK(act) == dep)
       }
       if
       :: need ->
#if LEAVE == LEAVE_KERNEL
          assert(kdepth == 0);              /* in a kernel section, the section is the activation */
#endif
          ST_ACT(A_NONE)                    /* endActivation */
       :: else -> skip
       fi
    fi;
    atomic { u = hu; kk = hkk; mk = hmk; need = hneed; e = hwas; fe = hfe; dep = hdep; hret = 0;
             hu = 0; hkk = 0; hmk = 0; hneed = 0; hwas = 0; hfe = 0; hdep = 0; hsnap = 0 }
}
#endif
