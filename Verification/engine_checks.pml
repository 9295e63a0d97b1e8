/* engine_checks.pml, part of lp_engine.pml (included from it, in this
 * order): the ghost checks of I0, I1 and I2 where an execution of f
 * begins and ends. */

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
