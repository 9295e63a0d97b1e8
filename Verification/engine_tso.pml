/* engine_tso.pml, part of lp_engine.pml (included from it, in this
 * order): x86-TSO: the store buffers and their drainers,
 * lps_patcher_side_fence(), the hooks' stores. */

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

/* lps_patcher_side_fence(): a full fence on every thread of the process. Its
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

/* The hooks' plain stores (lps_store_*, lps_store_release_*, the local CAS):
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
