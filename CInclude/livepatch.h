/*
 * livepatch.h — swift-livepatch's public C ABI.
 *
 * This header is the ABI's source of truth. The engine is written in Swift
 * and exports every function below with @c; a test step (scripts/check-header)
 * fails when this file and the Swift-generated header disagree.
 *
 * Conventions: functions returning int return 0 (or a documented positive
 * value) on success and a negative errno on failure. Pointer-returning
 * functions return NULL and set errno. Misuse is answered with an error and
 * never with a crash; the hooks (lp_func_enter and friends) stay cheap and
 * validate only what costs nothing: a NULL handle.
 *
 * Threads register on their first hook. The hooks are async-signal-safe once
 * a thread is registered: a signal handler may call patched functions, and
 * they run in the universe of the activation they interrupted. A thread whose
 * first hook runs in a signal handler should call lp_thread_register() first.
 *
 * Link: cc prog.c -I CInclude .build-embedded/release/liblivepatch.a \
 *           $(pkg-config --libs liburcu-memb) -lpthread
 */
#ifndef LIVEPATCH_H
#define LIVEPATCH_H

#include "livepatch/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- library ------------------------------------------------------------- */

/* LP_ABI_VERSION of the library actually linked. */
int lp_abi_version(void);
/* A static string naming err (negative or positive errno); never NULL. */
const char *lp_strerror(int err);

/* ---- models -------------------------------------------------------------- */

/* The model for one cell of the leave x switch matrix; LP_MODEL_INVALID for
 * values outside the enums. */
lp_model_t lp_model(lp_leave_t leave, lp_switch_t sw);

/* ---- threads ------------------------------------------------------------- */

/* Register the calling thread under name (NULL: "tid-N"; longer names are cut
 * to LP_THREAD_NAME_MAX-1 bytes). Optional: the first hook registers lazily.
 * -EEXIST already registered, -ENOMEM LP_MAX_THREADS live threads. */
int lp_thread_register(const char *name);
/* Unregister the calling thread; also done at thread exit.
 * -ENOENT not registered, -EBUSY inside a kernel section or a hooked function. */
int lp_thread_unregister(void);
/* The thread is about to block outside every patched function and outside
 * the kernel; the patcher may switch it while it is offline. */
void lp_thread_offline(void);
/* The thread is running again; it takes the current universe. */
void lp_thread_online(void);
/* A long-running thread (a "kthread") is, right now, outside the kernel and
 * the patched set: it migrates here, and its kernel section restarts. */
void lp_safe_point(void);
/* Enter and leave a kernel section (the stand-in for a system call). Sections
 * nest; the outermost exit is a switch point. An unbalanced exit is counted
 * in lp_transition_status_t.unbalanced_exits and otherwise ignored. */
void lp_kernel_enter(void);
void lp_kernel_exit(void);

/* ---- functions ----------------------------------------------------------- */

/* Register a patchable function. NULL with errno: EINVAL name or impl NULL,
 * EEXIST name taken, ENOMEM LP_MAX_FUNCS reached. The name is copied. An
 * enabled patch that named it (lp_patch_add_func_by_name) applies at once;
 * for that, registration takes the patcher lock and may wait for one
 * completion step in progress (at most the hold bound). */
lp_func_t *lp_func_register(const char *name, const void *impl);
/* NULL with errno: EINVAL name NULL, ENOENT no such function. */
lp_func_t *lp_func_lookup(const char *name);
/* The implementation the calling thread must run now. Counts an entry.
 * NULL (errno EINVAL) only for a NULL handle. */
const void *lp_func_enter(lp_func_t *f);
/* Counts an exit. An exit with no entry to match is counted as unbalanced
 * and never makes a count negative. */
void lp_func_exit(lp_func_t *f);
/* Entries and exits of f so far, over all threads; exact at quiescence.
 * -EINVAL NULL argument, -ENOENT unknown handle. */
int lp_func_counts(const lp_func_t *f, uint64_t *entries, uint64_t *exits);

/* Enter f, call what lp_func_enter returned, exit f. The call's value is
 * discarded; use lp_func_enter/lp_func_exit by hand to keep it. */
#define LP_CALL(f, fn_type, ...)                                   \
    do {                                                           \
        lp_func_t *lp_call_f_ = (f);                               \
        ((fn_type)lp_func_enter(lp_call_f_))(__VA_ARGS__);         \
        lp_func_exit(lp_call_f_);                                  \
    } while (0)

/* ---- patches ------------------------------------------------------------- */

/* A new, disabled patch. flags: 0 or LP_PATCH_REPLACE (types.h). NULL with
 * errno: EINVAL name NULL, model invalid or unknown flags, EEXIST a patch has
 * this name, ENOMEM LP_MAX_PATCHES patches exist. */
lp_patch_t *lp_patch_create(const char *name, lp_model_t model, unsigned flags);
/* Replace f with new_impl while p is enabled. -EINVAL NULL argument,
 * -ENOENT unknown handle, -EEXIST f already in p, -EBUSY p enabled or in
 * transition, or a callback of p runs, -ENOMEM too many functions in one
 * patch (LP_MAX_FUNCS). */
int lp_patch_add_func(lp_patch_t *p, lp_func_t *f, const void *new_impl);
/* Count f as part of p's patched set without replacing it (extending the
 * patched set, as in the seed thread). Errors as lp_patch_add_func. */
int lp_patch_extend_set(lp_patch_t *p, lp_func_t *f);
/* Start the transition that enables p; p becomes the newest patch on each of
 * its functions (with LP_PATCH_REPLACE: the only one). Runs p's pre_patch
 * callback first. -EINVAL NULL, empty or already enabled, or its system
 * states conflict with the enabled patches' (see lp_patch_add_state; the log
 * handler gets the reason), -ENOENT unknown handle, -EBUSY a transition is in
 * flight or a callback runs, -ECANCELED the pre_patch callback returned
 * nonzero (nothing switched), -ENOMEM no memory for the per-thread counters
 * of a SWITCH_FUNCTION transition. */
int lp_patch_enable(lp_patch_t *p);
/* Start the transition that disables p, after its pre_unpatch callback.
 * -EINVAL NULL or not enabled, -ENOENT unknown handle, -EBUSY a transition is
 * in flight, a callback runs, or p is not the most recently enabled patch
 * (patches are disabled in reverse order). */
int lp_patch_disable(lp_patch_t *p);
/* Free a disabled patch (a patch replaced by an LP_PATCH_REPLACE patch is
 * disabled). -EINVAL NULL, -ENOENT unknown handle, -EBUSY p is enabled or in
 * transition, or a callback of p runs. */
int lp_patch_destroy(lp_patch_t *p);

/* ---- kernel livepatch parity (callbacks, system state, late targets, log) - */

/* Set p's callbacks (copied; NULL clears them) and the ctx they receive; the
 * rules are next to lp_callbacks_t in livepatch/types.h. -EINVAL p NULL,
 * -ENOENT unknown handle, -EBUSY p enabled or in transition, or a callback
 * of p runs. */
int lp_patch_set_callbacks(lp_patch_t *p, const lp_callbacks_t *cb, void *ctx);
/* p modifies system state id (nonzero) at version, with data for whoever
 * reads it (Documentation/livepatch/system-state.rst). Checked when p is
 * enabled, against the enabled patches: a state they have must not get a
 * lower version, and an LP_PATCH_REPLACE patch must carry every state they
 * have (it would drop it). Both refusals make lp_patch_enable return -EINVAL
 * and send the reason to the log handler. -EINVAL p NULL or id 0, -ENOENT
 * unknown handle, -EEXIST p already has id, -EBUSY p enabled or in
 * transition, or a callback of p runs. */
int lp_patch_add_state(lp_patch_t *p, unsigned long id, unsigned version, void *data);
/* The version and data (each out may be NULL) of system state id in the
 * enabled patches: the most recently enabled patch that has id wins. A patch
 * in an enabling transition is not enabled yet, so its pre_patch callback
 * reads the state it takes over (the kernel's klp_get_prev_state) and its
 * post_patch callback reads its own. -ENOENT no enabled patch has id. */
int lp_state_get(unsigned long id, unsigned *version, void **data);
/* Replace the function named name with new_impl while p is enabled, whether
 * or not it is registered yet (the kernel's module loaded after the
 * livepatch). When lp_func_register(name, ...) comes later while p is
 * enabled or in transition, the function starts at once in the implementation
 * of the stack with the patch in transition on top, as klp_module_coming
 * patches a coming module; this is consistent because no thread can have run
 * or be inside a function before it is registered. When the transition
 * completes it takes the final stack's implementation. The registration
 * logs "'p': applying patch to late function 'name'". Errors as
 * lp_patch_add_func; -EEXIST also when p already has name pending. */
int lp_patch_add_func_by_name(lp_patch_t *p, const char *name, const void *new_impl);
/* Deliver the engine's messages, the kernel's pr_notice lines without the
 * "livepatch: " prefix ("'p1': starting patching transition", refusals),
 * to fn, one line (no newline) per call, in program order with the
 * callbacks. Called on a patcher thread with no engine lock held, never on
 * the hook path; fn may call the API as a callback may. NULL turns the log
 * off. Returns 0. */
int lp_set_log_handler(void (*fn)(const char *line, void *ctx), void *ctx);

/* ---- transitions ---------------------------------------------------------- */

/* Drive the transition one step: 1 completed (or none in flight), 0 still
 * pending, -EDEADLK the caller is inside a kernel section or a hooked
 * function. May hold new entries back for up to the hold bound (see
 * lp_set_switch_policy) under SWITCH_KERNEL and SWITCH_FUNCTION models. */
int lp_transition_try_complete(void);
/* Drive the transition until it completes: 0 completed (or none in flight),
 * -ETIMEDOUT after timeout_ns (0: no limit), -EDEADLK as above. Wakes within
 * microseconds of the last blocking thread leaving, with no polling period. */
int lp_transition_wait(uint64_t timeout_ns);
/* Turn the transition in flight around: every unit goes back to the universe
 * it started from. -EINVAL no transition in flight. */
int lp_transition_reverse(void);
/* Complete the transition now, whatever threads are doing: every unit is
 * marked switched. The consistency promise is void for activations already
 * running. -EINVAL no transition in flight. */
int lp_transition_force(void);
/* -EINVAL out NULL. */
int lp_transition_status(lp_transition_status_t *out);
/* Call cb for each thread that blocked at the last check (or a fresh one if
 * none was made); stops at the first nonzero return and returns it.
 * 0 otherwise. -EINVAL cb NULL. */
int lp_transition_for_each_stalled(int (*cb)(const lp_thread_info_t *info, void *ctx), void *ctx);
/* While lp_transition_wait() waits, send signo to each stalled thread with
 * pthread_kill every 10 ms. 0 turns nudges off. No handler is installed.
 * -EINVAL signo out of range. */
int lp_set_nudge_signal(int signo);
/* SWITCH_KERNEL and SWITCH_FUNCTION: hold new outermost entries back for at
 * most hold_ns while the count drains, then pause retry_ns before the next
 * try (defaults 2 ms and 5 ms). Each hold that ends without a switch doubles
 * the next one's bound, up to one second, so that a busy program switches in
 * the end. -EINVAL zero or above one second. */
int lp_set_switch_policy(uint64_t hold_ns, uint64_t retry_ns);

/* ---- testing ------------------------------------------------------------------ */

/* Break the protocol on purpose (LP_BUG_*), so that a checker can prove it
 * catches the break; LP_BUG_NONE restores it. For test harnesses only.
 * -EINVAL unknown kind. */
int lp_debug_inject_bug(int kind);

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_H */
