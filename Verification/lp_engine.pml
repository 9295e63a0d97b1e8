/*
 * lp_engine.pml: the swift-livepatch engine as one Promela model, shared by
 * the per-protocol models (kgraft.pml, upstream.pml, kpatch.pml,
 * hiramatsu.pml, renew.pml). A model file defines its cell, includes this
 * file, and gives the threads' workloads:
 *
 *   LEAVE  LEAVE_PATCHED_SET | LEAVE_KERNEL                (lp_global.leave)
 *   SW     SWITCH_THREAD | SWITCH_KERNEL     (lp_global.sw, effectiveSwitch)
 *   FLAGS  F_KERNEL_EXIT_SWITCHES | F_ARM_AT_KERNEL_EXIT   (lp_global.flags)
 *
 * It mirrors, function by function, the loads and stores of (Swift names in
 * the comments below):
 *
 *   thread side   Hooks.swift       lp_func_enter, enterInTransition,
 *                                   lp_func_exit, lp_kernel_enter,
 *                                   lp_kernel_exit, lp_safe_point, rearm,
 *                                   lp_thread_offline, lp_thread_online
 *                 Activation.swift  activationUniverse, beginActivation,
 *                                   endActivation, notifyPatcher (its
 *                                   lock xadd: a full fence), waitWhileHeld
 *   patcher side  Transition.swift  startTransition, tryCompleteLocked,
 *                                   holdAndSwitchKernel, holding,
 *                                   releaseHold, complete,
 *                                   lp_transition_reverse,
 *                                   lp_transition_force
 *                 Scan.swift        blockReason, scan
 *   records       lp_shim.h         lp_thread_rec_t (fdepth, kdepth, fepoch,
 *                                   kepoch, act, offline); lp_global_t
 *                                   (epoch, target, kuniv, hold,
 *                                   kernel_area); struct lp_func (impl,
 *                                   tx_epoch, tx_old, tx_new)
 *
 * Memory model: x86-TSO. Every store of a hook goes into its thread's FIFO
 * store buffer (chan sb[t]); the thread's drainer process commits the
 * oldest entry to memory (the m_* arrays: all the patcher can read) at
 * times of its own choosing. A thread's loads of its own record are
 * forwarded from its buffer; only the owner writes its record, so that is
 * "the value it stored last", kept in the thread's locals (fdepth, kdepth,
 * fepoch, kepoch, act, offline). lp_signal_fence() is a compiler barrier and
 * drains nothing; acquire loads, release stores and lp_acquire_fence() are
 * plain moves on x86 and need nothing beyond TSO. A locked instruction
 * (notifyPatcher's fetch_add) drains the own buffer. lp_sys_membarrier() is
 * what it is: a full barrier run on every CPU of the process, i.e. each
 * thread's buffer drains (thread by thread, when the IPI lands there), and
 * the patcher waits for all of them. The patcher itself is sequentially
 * consistent: each of its store-then-load pairs that matters is separated
 * by a membarrier or a locked instruction (holding(): store hold,
 * fetch_add waiting, membarrier).
 *
 * Granularity: every load of shared memory and every store of a thread is
 * a step of its own; only the thread's local computation is grouped with
 * them. (A store may not share a step with the load before it: the
 * patcher's membarrier drains buffers by force, and in the engine a thread
 * can stall between the load and the store across a whole membarrier and
 * scan.) The patcher's loads of one thread's record in blockReason are one
 * step with drains allowed between them, or (-DFINE_SCAN) a step each.
 *
 * Abstractions (README.md): one transition (epoch 0 -> 1) of one patched
 * function f with versions 0 (original) and 1 (patched); NT = 2 threads;
 * store buffers of SBSZ entries (a store waits while its buffer is full);
 * the entry/exit count cache, registration, signal handlers (the local CAS
 * in beginActivation always succeeds), and the wake-up machinery (waiting,
 * wake_seq, futexes, nudges) are left out: the patcher polls, so a lost
 * wake-up costs latency, not safety or liveness. The transition is driven
 * with lp_transition_try_complete(), so lp_transition_wait()'s extra
 * membarrier is not there to help.
 *
 * Variants (the default is the engine as of commit 4f3be54):
 *   -DREAD_EPOCH_FIRST  outermost entries read lp_global.epoch before they
 *                       announce fdepth / kdepth, as before 4f3be54
 *                       (README.md, finding B1): must fail
 *   -DNO_MEMBARRIER     every lp_sys_membarrier() of the patcher removed;
 *                       -DNO_MB_START, -DNO_MB_HOLD, -DNO_MB_REVERSE: one
 *   -DREVERSE           the patcher may reverse the transition (once)
 *   -DFORCE             the patcher may force it
 *   -DFINE_SCAN         every patcher load of a thread record its own step
 *   -DSBSZ=n            store-buffer entries per thread (default 2)
 *   -DLEAN              the models' lean workloads (one call per activation)
 *   -DLIVE              the liveness property (ltl live); implies LEAN
 *   -DNO_RETRY_GAP, -DNO_PREMISE, and the models' own (README.md): negative
 *                       controls of the liveness runs
 *   -DHANDLER           a signal handler on thread 0 that may run once, at
 *                       any step of an lp_func_enter, and makes a nested
 *                       call of f (handler() below)
 *   -DOLD_SNAPSHOT      with HANDLER: the snapshot before the handler fix,
 *                       a plain store of the epoch, and a nested entry that
 *                       reads "unknown" takes the steady implementation:
 *                       must fail
 */

#if defined(LIVE) && !defined(LEAN)
#define LEAN             /* the models' lean workloads */
#endif
#ifndef SBSZ
#define SBSZ 2
#endif
#ifndef MAXTO
#define MAXTO 1          /* SWITCH_KERNEL: holds that may time out early */
#endif
#define NT 2

#define LEAVE_PATCHED_SET 1
#define LEAVE_KERNEL 2
#define SWITCH_THREAD 1
#define SWITCH_KERNEL 2
#define F_KERNEL_EXIT_SWITCHES 1
#define F_ARM_AT_KERNEL_EXIT 2
#ifndef FLAGS
#define FLAGS 0
#endif

#define U_OLD 0
#define U_NEW 1
#define EPOCH 1          /* the epoch of the modelled transition */
#define EUNK 3           /* epochUnknown (Activation.swift): fepoch / kepoch
                            between an outermost entry's announcement and
                            its read of the epoch */
#define NOV 2            /* ghost: no version yet */

/* The activation word (Activation.swift, enum Act) in a byte: bits 0-1
 * state (0 none, 1 undecided, 2 old, 3 new), bit 2 kind (1: kernel
 * section), bit 3 marker (function depth at its start: 0 or 1 here), bits
 * 4-5 the epoch it belongs to. */
#define A_NONE 0
#define A_UNDEC 1
#define AST(a) ((a) & 3)
#define AISK(a) (((a) >> 2) & 1)
#define AMARK(a) (((a) >> 3) & 1)
#define AEP(a) ((a) >> 4)
#define AWORD(ep, mk, kk, s) (((ep) << 4) | ((mk) << 3) | ((kk) << 2) | (s))
#define ABELONGS(a, ep) ((a) != A_NONE && AEP(a) == (ep))
#define ADECIDED(a) (AST(a) >= 2)
#define AUNIV(a) (AST(a) - 2)

/* store-buffer entries: (field, value) */
#define F_FDEPTH 0
#define F_KDEPTH 1
#define F_FEPOCH 2
#define F_KEPOCH 3
#define F_ACT 4
#define F_OFFLINE 5

/* ---- lp_global and the record of f: written by the patcher only ---- */
byte epoch;              /* lp_global.epoch */
bit target;              /* lp_global.target */
bit kuniv;               /* lp_global.kuniv */
bit hold;                /* lp_global.hold */
bit kernel_area;         /* lp_global.kernel_area */
byte tx_epoch;           /* f.tx_epoch */
byte impl;               /* f.impl: version 0 original, 1 patched */
byte tx_old = 0;         /* f.tx_old, f.tx_new (stored before tx_epoch) */
byte tx_new = 1;

/* ---- thread records in memory: what the patcher reads ---- */
byte m_fdepth[NT];
byte m_kdepth[NT];
byte m_fepoch[NT];
byte m_kepoch[NT];
byte m_act[NT];
bit m_offline[NT];

chan sb[NT] = [SBSZ] of { byte, byte };

/* ---- ghosts ---- */
bit started;             /* startTransition stored the epoch */
bit done;                /* complete() cleared f.tx_epoch */
bit forced;              /* lp_transition_force ran: safety is void from here */
bit rev;                 /* lp_transition_reverse ran */
bit gtarget = U_NEW;     /* the transition's target */
byte live[2];            /* executions of f in flight, per version */
#if SW == SWITCH_KERNEL
byte maxv;               /* highest version whose execution began */
bit held[NT];            /* thread sleeps in waitWhileHeld */
#endif
#if LEAVE == LEAVE_KERNEL || (FLAGS & F_ARM_AT_KERNEL_EXIT)
bit insec[NT];           /* inside a kernel section (lp_kernel_enter returned) */
bit kpre[NT];            /* ... one it entered before the start */
#endif
#if defined(LIVE) && SW == SWITCH_THREAD
bit inhook[NT];          /* inside a hook */
bit caught;              /* the last scan read a thread mid-hook or with
                            stores still in its buffer */
#define SAMPLE(t) caught = (caught || inhook[t] || len(sb[t]) > 0)
#define SCAN_BEGIN caught = 0
#define INHOOK(x) inhook[me] = x
#else
#define SAMPLE(t) skip
#define SCAN_BEGIN skip
#define INHOOK(x) skip
#endif
#if defined(LIVE) && SW == SWITCH_KERNEL
bit inarea[NT];          /* fdepth or kdepth nonzero */
bit passed[NT];          /* crossed a switch point since the last timeout */
#define AREA_GHOST inarea[me] = (fdepth != 0 || kdepth != 0)
#define CROSSED passed[me] = 1
#else
#define AREA_GHOST skip
#define CROSSED skip
#endif

/* ---- TSO store buffers ---- */
/* commits the oldest store of t's buffer (hf, hv: the caller's locals; not
 * `hidden`, which pan would not restore when it backtracks a receive) */
inline commit(t) {
    sb[t]?hf,hv;
    if
    :: hf == F_FDEPTH -> m_fdepth[t] = hv
    :: hf == F_KDEPTH -> m_kdepth[t] = hv
    :: hf == F_FEPOCH -> m_fepoch[t] = hv
    :: hf == F_KEPOCH -> m_kepoch[t] = hv
    :: hf == F_ACT -> m_act[t] = hv
    :: hf == F_OFFLINE -> m_offline[t] = hv
    fi;
    hf = 0; hv = 0
}

inline flush(t) {
    hf = 0;      /* (a d_step must not begin with a loop) */
    do
    :: len(sb[t]) > 0 -> commit(t)
    :: else -> break
    od;
    hf = 0
}

/* Each CPU's store buffer drains when it likes. */
proctype drainer(byte t) {
    byte hf, hv;
end:
    do
    :: d_step { len(sb[t]) > 0 -> commit(t) }
    od
}

/* lp_sys_membarrier(): a full fence on every thread of the process. Its
 * call sites: startTransition (after the epoch), holding() (after the hold
 * flag), lp_transition_reverse (after the target). -DNO_MEMBARRIER removes
 * all of them; -DNO_MB_START, -DNO_MB_HOLD, -DNO_MB_REVERSE one each. */
inline membarrier() {
    d_step { flush(0) };
    d_step { flush(1) }
}
#if defined(NO_MEMBARRIER) || defined(NO_MB_START)
#define MB_START skip
#else
#define MB_START membarrier()
#endif
#if defined(NO_MEMBARRIER) || defined(NO_MB_HOLD)
#define MB_HOLD skip
#else
#define MB_HOLD membarrier()
#endif
#if defined(NO_MEMBARRIER) || defined(NO_MB_REVERSE)
#define MB_REVERSE skip
#else
#define MB_REVERSE membarrier()
#endif

/* The hooks' plain stores (lp_store_*, lp_store_release_*, the local CAS):
 * into the own buffer, and into the owner's view; one step each. */
#define ST_FDEPTH(x) atomic { sb[me]!F_FDEPTH,x; fdepth = x; AREA_GHOST }
#define ST_KDEPTH(x) atomic { sb[me]!F_KDEPTH,x; kdepth = x; AREA_GHOST }
#define ST_FEPOCH(x) atomic { sb[me]!F_FEPOCH,x; fepoch = x }
#define ST_KEPOCH(x) atomic { sb[me]!F_KEPOCH,x; kepoch = x }
#define ST_ACT(x) atomic { sb[me]!F_ACT,x; act = x }
#define ST_OFFLINE(x) atomic { sb[me]!F_OFFLINE,x; offline = x }

/* The locals of a thread: its record as it sees it, and the hooks' temporaries. */
#define THREAD_LOCALS \
    byte me, fdepth, kdepth, fepoch, kepoch, act; bit offline; \
    byte dep, e, fe, a, u, o, n, ret, x0, x1, mk; \
    bit kk, need, steady, setentry, snapdone, hflag; byte hf, hv; \
    byte aver = NOV; bit rch, rchrev; \
    HANDLER_LOCALS

/* ============ thread side: Activation.swift, Hooks.swift ============ */

/* Every load of shared memory and every store is a step of its own (local
 * computation is grouped with them): a load and the store after it cannot
 * be one step, since a membarrier (a forced drain) may fall between them. */

/* beginActivation(t, epoch: ep, kernel: kk, marker: mk) -> u */
inline beginActivation(ep) {
    do
    :: ST_ACT(AWORD(ep, mk, kk, A_UNDEC));
       /* lp_signal_fence(): compiler only */
       atomic { hflag = (epoch != ep) }     /* lp_load_acquire_u64(&lp_global.epoch) */
       if
       :: hflag -> ST_ACT(A_NONE); u = U_OLD; hflag = 0; break   /* staleActivation */
       :: else -> skip
       fi;
#if SW == SWITCH_KERNEL
       atomic { hflag = (hold != 0) }       /* lp_load_acquire_u32(&lp_global.hold) */
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
          atomic { u = kuniv }              /* lp_load_u32(&lp_global.kuniv) */
          ST_ACT(AWORD(ep, mk, kk, 2 + u)); /* lp_local_cas_u64 (no signals here) */
          break
       fi
#else
       atomic { u = target }                /* lp_load_u32(&lp_global.target) */
       ST_ACT(AWORD(ep, mk, kk, 2 + u));    /* lp_local_cas_u64 (no signals here) */
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

/* ---- ghost checks where an execution of f begins and ends ---- */

/* ret is the version lp_func_enter returned; its execution begins now (the
 * earliest it can: every later start is a behaviour of this model too). */
inline exec_begin(x) {
    /* I0: an entry that returns before the start gets the original; one
     * that began after complete() gets the final implementation. */
    assert(started || x == 0);
    assert(!snapdone || x == impl);
    if
    :: !forced ->
#if SW == SWITCH_THREAD
       /* I1: per thread, once it got the target it never gets the other
        * (until a reverse changes the target) */
       if
       :: (x == tx_new -> U_NEW : U_OLD) == gtarget -> rch = 1; rchrev = rev
       :: else -> assert(!(rch && rchrev == rev))
       fi;
#else
       /* I2: an old and a new execution never overlap, and there is no
        * way back once a new one began */
       assert(live[1 - x] == 0);
       assert(x >= maxv);
       maxv = x;
#endif
       /* I1 / I2: one version per area activation */
       if
       :: aver == NOV -> aver = x
       :: else -> assert(aver == x)
       fi
    :: else -> skip
    fi;
    live[x]++;
    snapdone = 0
}

inline exec_end(x) {
    live[x]--
}

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
           fe = tx_epoch;                   /* lp_load_acquire_u64(&f.tx_epoch) */
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
          atomic { he = epoch }             /* snapshotEpoch: lp_load_acquire_u64(&lp_global.epoch) */
          ST_FEPOCH(he);                    /* lp_local_cas_u64(&t.fepoch, epochUnknown, he): the
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

/* lp_func_enter(f) -> ret; the execution of ret begins (exec_begin) */
inline func_enter() {
    atomic { INHOOK(1); snapdone = done; dep = fdepth }
    SIG
    if
    :: dep == 0 ->
#ifndef READ_EPOCH_FIRST
       /* announce the activation, then read the epoch */
       ST_FEPOCH(EUNK);                     /* lp_store_u64(&t.fepoch, epochUnknown) */
       SIG
       ST_FDEPTH(1);                        /* lp_store_release_u32(&t.fdepth, 1) */
       /* lp_signal_fence() */
       SIG
       atomic { e = epoch }                 /* snapshotEpoch: lp_load_acquire_u64(&lp_global.epoch) */
       SIG
#if defined(HANDLER) && !defined(OLD_SNAPSHOT)
       atomic {                             /* lp_local_cas_u64(&t.fepoch, epochUnknown, e): a
                                             * handler's snapshot stays */
           if
           :: fepoch == EUNK -> ST_FEPOCH(e)
           :: else -> skip
           fi
       }
#else
       ST_FEPOCH(e);                        /* with no signal handler the CAS always succeeds: a store */
#endif
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
        fe = tx_epoch;                      /* lp_load_acquire_u64(&f.tx_epoch) */
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
       atomic { e = epoch }                 /* oldFramesMayHoldSet: lp_load_acquire_u64(&lp_global.epoch) */
       SIG
       if
       :: e == fe ->
          ST_FEPOCH(fe);                    /* lp_store_u64(&t.fepoch, epoch) (then the wake-up: left out) */
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
       /* lp_load_ptr(tx_old), (tx_new): written before the transition
        * started and unchanged in it, so their loads are grouped with the
        * next one. lp_acquire_fence(); the seqlock-style re-check: */
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
       ST_KEPOCH(EUNK);                     /* lp_store_u64(&t.kepoch, epochUnknown) */
       ST_KDEPTH(1);                        /* lp_store_release_u32(&t.kdepth, 1) */
       /* lp_signal_fence() */
       atomic { e = epoch }                 /* lp_load_acquire_u64(&lp_global.epoch) */
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
    /* lp_signal_fence() */
    atomic { e = epoch }                    /* lp_load_acquire_u64(&lp_global.epoch) */
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

/* ============ patcher side: Transition.swift, Scan.swift ============ */

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
    d_step { epoch = EPOCH; started = 1 }           /* lp_store_release_u64(&epoch) */
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
/* holdAndSwitchKernel(&tx) -> sw_ok, with holding(&lp_global.hold) */
inline holdAndSwitchKernel() {
    retryGap();
    hold = 1;                        /* lp_store_u32(word, 1); fetch_add waiting */
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
