/*
 * late.pml: a function registered while a patch that names it is enabled
 * (lp_patch_add_func_by_name; the kernel's module loaded after its
 * livepatch, klp_module_coming). Function g is registered before the
 * transition starts, during it or after it completes; the patch replaces it
 * (version 0 original, 1 patched) and the transition moves every thread
 * from universe 0 to universe 1.
 *
 * What the engine does (Patches/LateTargets.swift, Functions/FunctionRegistry.swift):
 *   registration  resolveLateTarget + joinTransition, under the patcher
 *                 lock: in a transition, tx_old, tx_new (release), then
 *                 tx_epoch (release), and the record's impl is the
 *                 transition's start (tx_old); registerFunction's release
 *                 store of live comes last, and a hook reads the record
 *                 only after an acquire load of live (validFunction).
 *                 Before the transition the function is registered with its
 *                 original and startTransition publishes it with the rest;
 *                 after it, with the final implementation.
 *   hook          lp_func_enter's reads of g: tx_epoch (acquire); equal to
 *                 the activation's epoch: tx_old / tx_new by the
 *                 activation's universe, then tx_epoch again (the
 *                 seqlock-style re-check); else impl (an activation older
 *                 than the transition, or none in flight).
 *   complete()    impl = the final implementation (release), then
 *                 tx_epoch = 0 (release), for g too once it joined.
 *
 * Property L: every call of g runs the version of its activation's
 * universe, so a thread never mixes an old caller with a new callee (or the
 * reverse), whenever g was registered.
 *
 * Abstractions (Verification/README.md, "The late function"): the registrar
 * and the hooks communicate by message passing only (stores on one side,
 * loads on the other, no store-then-load that matters), which x86-TSO keeps
 * in program order on both sides, so the steps are sequentially consistent
 * here; the store buffers, the activation protocol (how a thread's universe
 * is decided) and the scan are lp_engine.pml's, checked there for the
 * functions a transition starts with. Here an activation takes its epoch
 * and universe in one step, and complete() runs only when the scan would
 * let it: every thread switched and no activation of universe 0 in flight.
 *
 * Variants that must fail:
 *   -DLIVE_FIRST    live stored before the record's tx_* and impl
 *   -DSTART_TARGET  a joining function starts at the target (tx_new)
 * (The order of joinTransition's own stores does not matter: no hook reads
 * them before live. Storing tx_epoch first passes.)
 */

#define NT 2
#define U_OLD 0
#define U_NEW 1

bit started, done;       /* the transition: lps_global.epoch 0 -> 1, complete() */
byte epoch;

/* the record of g (struct lp_func) */
bit g_live;
byte g_impl, g_tx_epoch, g_tx_old, g_tx_new;
bit g_joined;            /* registered in the transition: one of its functions */

bit tu[NT];              /* each thread's universe (switched at its switch points) */
bit inact[NT];           /* in an activation, with its epoch and universe: */
byte fe[NT];
bit au[NT];

/* registerFunction with resolveLateTarget / joinTransition (patcher lock held) */
inline register_g() {
#ifdef LIVE_FIRST
    g_live = 1;
#endif
    if
    :: !started -> g_impl = 0                   /* startTransition publishes it later */
    :: started && !done ->
       g_tx_old = 0;                            /* lps_store_release_ptr(&f.tx_old, old) */
       g_tx_new = 1;                            /* lps_store_release_ptr(&f.tx_new, new) */
       g_tx_epoch = 1;                          /* lps_store_release_u64(&f.tx_epoch, tx.epoch) */
       g_joined = 1;
#ifdef START_TARGET
       g_impl = 1
#else
       g_impl = 0                               /* the transition's start */
#endif
    :: done -> g_impl = 1                       /* the final stack's */
    fi;
#ifndef LIVE_FIRST
    g_live = 1                                  /* lps_store_release_u64(&f.live, 1) */
#endif
}

active proctype patcher() {
    bit registered;
    do
    :: !registered -> register_g(); registered = 1
    :: !started ->
       /* startTransition: a function registered before it is published as
        * the transition's own (lp_engine.pml), before the epoch */
       if
       :: registered -> g_tx_old = 0; g_tx_new = 1; g_tx_epoch = 1; g_joined = 1
       :: else -> skip
       fi;
       epoch = 1; started = 1
    :: started && !done &&
       tu[0] == U_NEW && tu[1] == U_NEW &&
       (!inact[0] || au[0] == U_NEW) && (!inact[1] || au[1] == U_NEW) ->
       /* complete(), as the scan allows it */
       if
       :: g_joined -> g_impl = 1; g_tx_epoch = 0
       :: else -> skip
       fi;
       done = 1
    :: registered && done -> break
    od
}

active [NT] proctype thread() {
    byte x, v;
    do
    :: !inact[_pid - 1] ->
       if
       :: started && tu[_pid - 1] == U_OLD -> tu[_pid - 1] = U_NEW   /* a switch point */
       :: skip
       fi;
       atomic {                                 /* an activation begins */
           fe[_pid - 1] = epoch;
           au[_pid - 1] = (epoch == 1 -> tu[_pid - 1] : U_OLD);
           inact[_pid - 1] = 1
       }
    :: inact[_pid - 1] && g_live ->             /* a call of g: validFunction's acquire load of live */
       x = g_tx_epoch;                          /* lps_load_acquire_u64(&g.tx_epoch) */
       if
       :: x != 0 && x == fe[_pid - 1] ->
          v = (au[_pid - 1] == U_NEW -> g_tx_new : g_tx_old);
          if
          :: g_tx_epoch == x -> skip            /* the re-check */
          :: else -> v = g_impl                 /* it ended meanwhile: the steady impl */
          fi
       :: else -> v = g_impl
       fi;
       assert(v == au[_pid - 1]);               /* L */
       x = 0; v = 0
    :: inact[_pid - 1] -> inact[_pid - 1] = 0   /* the activation ends */
    :: done && !inact[_pid - 1] -> break
    od
}
