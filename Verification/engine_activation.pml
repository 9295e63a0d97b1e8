/* engine_activation.pml, part of lp_engine.pml (included from it, in this
 * order): Hooks/Activation.swift: beginActivation and activationUniverse. */

/* ============ thread side: Hooks/ ============ */

/* Every load of shared memory and every store is a step of its own (local
 * computation is grouped with them): a load and the store after it cannot
 * be one step, since a membarrier (a forced drain) may fall between them. */

/* beginActivation(t, epoch: ep, kernel: kk, marker: mk) -> u */
inline beginActivation(ep) {
    do
    :: ST_ACT(AWORD(ep, mk, kk, A_UNDEC));
       /* lps_thread_side_fence(): compiler only */
       atomic { hflag = (epoch != ep) }     /* lps_load_acquire_u64(&lps_global.epoch) */
       if
       :: hflag -> ST_ACT(A_NONE); u = U_OLD; hflag = 0; break   /* staleActivation */
       :: else -> skip
       fi;
#if SW == SWITCH_KERNEL
       atomic { hflag = (hold != 0) }       /* lps_load_acquire_u32(&lps_global.hold) */
       if
       :: hflag ->
          ST_ACT(A_NONE);
          atomic { hflag = (epoch != ep) }  /* a later transition's hold is not ours */
          if
          :: hflag -> ST_ACT(A_NONE); u = U_OLD; hflag = 0; break   /* staleActivation */
          :: else -> skip
          fi;
          d_step { flush(me); held[me] = 1 }      /* notifyPatcher(): lock xadd */
          /* waitWhileHeld(&hold, epoch: ep): while hold != 0 && epoch == ep */
          atomic { hold == 0 || epoch != ep; held[me] = 0 }
          /* continue */
       :: else ->
          atomic { u = kuniv }              /* lps_load_u32(&lps_global.kuniv) */
          ST_ACT(AWORD(ep, mk, kk, 2 + u)); /* lps_local_cas_u64 (no signals here) */
          break
       fi
#else
       atomic { u = target }                /* lps_load_u32(&lps_global.target) */
       ST_ACT(AWORD(ep, mk, kk, 2 + u));    /* lps_local_cas_u64 (no signals here) */
       break
#endif
    od;
    atomic { need = 0; mk = 0; kk = 0 }
}

/* activationUniverse(t, epoch: fe, depth: dep, leave:), its own loads
 * only: sets u, or need = 1 (with kk, mk) when an activation must begin */
#define ACTIVATION_UNIVERSE \
    if \
    :: ABELONGS(act, fe) -> \
       assert(ADECIDED(act)); /* only a signal handler nested in beginActivation sees undecided */ \
       u = AUNIV(act) \
    :: !ABELONGS(act, fe) && LEAVE == LEAVE_KERNEL && kdepth != 0 && kepoch != fe -> \
       u = U_OLD              /* a kernel section older than the transition */ \
    :: !ABELONGS(act, fe) && LEAVE == LEAVE_KERNEL && kdepth != 0 && kepoch == fe -> \
       need = 1; kk = 1; mk = 0 \
    :: !ABELONGS(act, fe) && (LEAVE != LEAVE_KERNEL || kdepth == 0) -> \
       need = 1; kk = 0; mk = dep \
    fi
