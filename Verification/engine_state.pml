/* engine_state.pml, part of lp_engine.pml (included from it, in this
 * order): the constants of the model, the shared state (lps_global, the
 * record of f, the thread records in memory) and the ghost variables of
 * the properties. */

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
#define EUNK 3           /* epochUnknown (Hooks/Activation.swift): fepoch / kepoch
                            between an outermost entry's announcement and
                            its read of the epoch */
#define NOV 2            /* ghost: no version yet */

/* The activation word (Hooks/Activation.swift, enum Act) in a byte: bits 0-1
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

/* ---- lps_global and the record of f: written by the patcher only ---- */
byte epoch;              /* lps_global.epoch */
bit target;              /* lps_global.target */
bit kuniv;               /* lps_global.kuniv */
bit hold;                /* lps_global.hold */
bit kernel_area;         /* lps_global.kernel_area */
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
