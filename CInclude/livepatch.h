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
 * liburcu: a thread the program registered with urcu-memb itself (as
 * liburcu requires of its own readers) is used as it is: the library never
 * registers it a second time nor unregisters it, and it must stay registered
 * while it calls into the library.
 *
 * Fences: a transition fences every thread with membarrier(2). Where the
 * kernel refuses it (a seccomp filter, no CONFIG_MEMBARRIER), the library
 * installs, at its first registration or at the first refusal, a handler
 * for SIGRTMAX - 1 and fences
 * each registered thread by signalling it and waiting for its handler: such
 * a program must leave that signal to the library, and its registered
 * threads must not keep it blocked (a transition waits for them). Their
 * blocking calls the kernel does not restart (nanosleep, poll, ...) may then
 * return EINTR, as with any signal handler.
 *
 * fork(): a child forked at any instant, from any thread (inside a callback
 * or the log handler too, but not inside a model's pending(), which runs
 * under the patcher lock, nor from a signal handler that interrupted an
 * engine call), may use the whole ABI. The engine's fork handlers make
 * fork() wait until no other thread is inside one of its locked sections (a
 * hold lasts at most its bound, see lp_set_switch_policy). In the child:
 *  - the forking thread is the only registered thread (if it was one); the
 *    other threads' records are dropped, and those of threads that exited
 *    before the fork are freed after a grace period, as in the parent;
 *  - patches, functions, models, policies and the log handler are the
 *    parent's at the fork. A transition in flight stays in flight, waiting
 *    for the forking thread alone: complete it (lp_transition_wait) before
 *    enabling or disabling a patch, which answer -EBUSY meanwhile;
 *  - log lines and post_patch/post_unpatch callbacks that were queued, or
 *    running on another thread, are not delivered (the parent delivers
 *    them). A pre_patch or pre_unpatch that another thread was running never
 *    returns: that lp_patch_enable or lp_patch_disable did not happen, and
 *    the patch may be edited, enabled or destroyed;
 *  - a fork from inside a callback or the log handler returns into it, and
 *    the child goes on as the parent does: the events queued at the fork
 *    are delivered in both;
 *  - the shadow variables' one exception is next to them (another thread
 *    inside a shadow read section at the fork).
 *
 * The headers, by concern: this one (library, models, threads, functions and
 * hooks, patches, callbacks and system state, transitions, status), with
 * livepatch/types.h (every type and constant), livepatch/ftrace.h
 * (user-space ftrace) and livepatch/shadow.h (shadow variables), which it
 * includes. Two more are opt-in, for test harnesses: livepatch/sim.h
 * (simulation mode) and livepatch/debug.h (injected protocol breaks).
 *
 * Link: cc prog.c -I CInclude .build-embedded/release/liblivepatch.a \
 *           $(pkg-config --libs liburcu-memb liburcu-cds) -lelf -lpthread
 */
#ifndef LIVEPATCH_H
#define LIVEPATCH_H

#include "livepatch/types.h"
#include "livepatch/ftrace.h"
#include "livepatch/shadow.h"

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
/* Register a model defined by ops (see lp_model_ops_t); its id is valid for
 * lp_patch_create() for the life of the process. The name is taken as bytes,
 * as every name is. LP_MODEL_INVALID with errno:
 * EINVAL (NULL, enum or flags out of range, LP_MODEL_F_STACK_CHECK with a
 * cell other than PATCHED_SET x THREAD or x KERNEL, empty or long name), EEXIST
 * (name taken, presets included), ENOMEM (LP_MAX_USER_MODELS registered). */
lp_model_t lp_model_register(const lp_model_ops_t *ops);
/* Describe any model id: name, what it counts and switches, its switch
 * points; LP_MODEL_F_STACK_CHECK among them tells stack checking from
 * counting ("UPSTREAM_STACK" against "UPSTREAM"). -EINVAL for NULL out or an id that names no model. */
int lp_model_describe(lp_model_t m, lp_model_info_t *out);

/* ---- threads ------------------------------------------------------------- */

/* Register the calling thread under name (NULL: "tid-N"; longer names are cut
 * to LP_THREAD_NAME_MAX-1 bytes). Optional: the first hook registers lazily.
 * -EEXIST already registered (by a signal handler's hook too), -ENOMEM
 * LP_MAX_THREADS live threads, -EBUSY called from a signal handler that
 * interrupted the thread's registration, its exit, or a library call that
 * holds the thread registry. */
int lp_thread_register(const char *name);
/* Unregister the calling thread; also done at thread exit. A hook in one of
 * the thread's signal handlers while it unregisters counts as the thread's
 * (or, once unregistered, registers it again); one after the exit's
 * unregistration runs uncounted (unregistered_calls).
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

/* Register a patchable function. NULL with errno: EINVAL name or impl NULL
 * or a name of LP_NAME_MAX bytes or more, EEXIST name taken, ENOMEM
 * LP_MAX_FUNCS reached or no memory. The name is copied, as bytes (names are
 * compared byte for byte, whatever encoding they are in). An
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
 * and never makes a count negative. Call it from the frame that called
 * lp_func_enter (or one below it): entries whose frames have returned or
 * been jumped out of (longjmp, siglongjmp) are exited as abandoned by the
 * thread's next hook, lp_transition_wait or lp_thread_unregister that runs
 * above them (lp_transition_status_t.abandoned_exits). "Above" is strictly
 * above the frame that called lp_func_enter: one frame may enter f and then
 * g and be inside both (-finstrument-functions does so for an inlined g), so
 * a hook from a frame at the same address as a left entry's (the same frame,
 * as in a loop whose call jumps back into it, or another one as deep and as
 * large) nests inside that entry instead of exiting it. Such entries pile
 * up (beyond the shadow stack's LP_FRAMES_KNOWN frames their exits are no
 * longer counted), and lp_transition_wait from that frame answers -EDEADLK
 * while f is in the set. Make the call in a function the landing frame
 * calls, and after a jump lands run a hook pair in the landing frame itself
 * (LP_CALL of any registered function): it lies above every entry left, and
 * exits them.
 * Known limit: a
 * siglongjmp out of a signal handler that interrupted lp_func_enter itself
 * (or a pad function's trampoline) between its two stores leaves that
 * entry's frame marked as still being filled, which no later hook drops:
 * the thread then counts as inside that function. An exit of a
 * function other than the innermost one entered (lp_func_enter(f);
 * lp_func_exit(g)) is counted as an exit of g, not as unbalanced, and closes
 * the innermost call as if it were f's: f has 1 entry and 0 exits, g 0
 * entries and 1 exit, and the thread's next lp_func_exit is unbalanced. A
 * model that counts per function (PATCHED_SET x SWITCH_FUNCTION) may then
 * still count f as running on this thread for the transition in flight (it
 * waits for it, or is forced). */
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

/* ---- automatic hooks: -finstrument-functions ------------------------------
 * A program compiled with -finstrument-functions calls the two hooks below
 * around every function it compiled; the library defines them (and is itself
 * not instrumented). Functions registered with lp_func_register_auto() are
 * counted there exactly as lp_func_enter/lp_func_exit count them, so an
 * unmodified function can be part of a patched set (lp_patch_extend_set):
 * its calls begin and end LEAVE_PATCHED_SET activations, a thread inside it
 * blocks a transition, and every LP_CALL inside one activation runs in that
 * activation's universe. The key is the function's address as the compiler
 * passes it (the original implementation's address: &fn).
 *
 * Limits. Counting only: the hooks cannot redirect (what lp_func_enter would
 * return is dropped), so redirection still goes through lp_func_enter or
 * LP_CALL, and lp_patch_add_func refuses to replace an auto-registered
 * function (-EINVAL: its replacement would never run). Given the function's
 * own registered address as new_impl, it takes it: the function joins the
 * patched set and its calls are not redirected (as lp_patch_extend_set).
 * A function registered with lp_func_register_auto() must not also be
 * called through LP_CALL (it would be counted twice); a function registered
 * with lp_func_register() is never looked up by address, so its instrumented
 * body is counted once, by LP_CALL, whichever implementation runs. Register
 * before any thread can be inside the function: an exit whose entry was not
 * counted ends the enclosing activation early. An unregistered address costs
 * a hash and one or two loads of a lock-free table and is safe anywhere,
 * signal handlers included. A hit registers the thread lazily, as the first
 * lp_func_enter does (that takes the registry mutex: a thread whose first hit
 * may come from a signal handler should call lp_thread_register() first, as
 * for any hook). */

/* As lp_func_register, and counted by the hooks below at impl's address.
 * NULL with errno: EINVAL name or impl NULL or too long, EEXIST name or
 * address taken, ENOMEM LP_MAX_FUNCS reached or no memory. */
lp_func_t *lp_func_register_auto(const char *name, const void *impl);
/* Register, as lp_func_register_auto(symbol name, its loaded address), every
 * function that object defines whose name matches name_glob (fnmatch(3);
 * NULL: all): object NULL is the main executable, else a loaded object's
 * path as the loader has it, or that path's file name ("libfoo.so.1"). Read
 * from the object's ELF symbol table (.symtab, else .dynsym; libelf), so
 * static functions are included: every STT_FUNC symbol of nonzero size,
 * local or global, at its address plus the object's load bias. GCC's clones
 * ("f.part.N", "f.isra.N", "f.constprop.N", "f.cold", chained) are not
 * registered: they belong to their parent, whose address their hooks pass
 * (the instrumentation is inserted before GCC clones a body), so their
 * calls count as f's. "f.lto_priv.N" is f itself, registered as "f". A
 * function whose name another took (static functions of one name in two
 * files) is registered under its symbol name if that differs
 * ("f.lto_priv.1"), else as "file.c:f" (file.c: its STT_FILE symbol). An
 * address already registered is skipped (a second call, two symbols at one
 * address), so a call registers what is new. The rule of lp_func_register_auto holds: call it
 * before any thread runs the object's instrumented functions (from a
 * constructor in a file not built with -finstrument-functions). flags: 0.
 * Returns how many functions it registered; -EINVAL flags nonzero, -ENOENT
 * no such object loaded, -ENOEXEC its file is not readable as ELF or has no
 * symbol table, -ENOMEM LP_MAX_FUNCS reached (the functions before it stay
 * registered). Link with -lelf (liblivepatch-shared.so brings it itself). */
int lp_func_register_object(const char *object, const char *name_glob, unsigned flags);

/* ---- patches ------------------------------------------------------------- */

/* A new, disabled patch. flags: 0 or LP_PATCH_REPLACE (types.h). NULL with
 * errno: EINVAL name NULL or of LP_NAME_MAX bytes or more, model invalid or
 * unknown flags, EEXIST a patch has
 * this name, ENOMEM LP_MAX_PATCHES patches exist. */
lp_patch_t *lp_patch_create(const char *name, lp_model_t model, unsigned flags);
/* Replace f with new_impl while p is enabled. For f registered with
 * lp_func_register_auto, new_impl must be f's own registered address: the
 * function joins the patched set; calls are not redirected. -EINVAL NULL
 * argument or f registered with lp_func_register_auto and new_impl another
 * address (the cyg hooks cannot redirect),
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

/* ---- callbacks, system state, late targets and the log ------------------- */

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
 * enabled, the function starts at once in the stack's implementation, as
 * klp_module_coming patches a coming module (no thread can have run it
 * before). When the transition in flight changes it (p, or a patch it
 * replaces, is being enabled or disabled), it joins that transition: each
 * thread gets the implementation of the universe it is in, as for the
 * transition's other functions, and the model's promise covers it. (Under
 * PATCHED_SET x FUNCTION a transition has room for eight such late functions;
 * a ninth starts in the target's implementation and takes the final one when
 * the transition completes.) The registration logs "'p': applying patch to
 * late function 'name'". A function registered with lp_func_register_auto
 * never takes a pending replacement (the cyg hooks cannot redirect; the name
 * stays pending). Errors as lp_patch_add_func; -EINVAL also for a name of
 * LP_NAME_MAX bytes or more, -EEXIST when p already has name pending. */
int lp_patch_add_func_by_name(lp_patch_t *p, const char *name, const void *new_impl);
/* Deliver the engine's messages, the kernel's pr_notice lines without the
 * "livepatch: " prefix ("'p1': starting patching transition", refusals),
 * to fn, one line (no newline) per call, in program order with the
 * callbacks. Called on a patcher thread with no engine lock held, never on
 * the hook path; fn may call the API as a callback may. A call whose lines
 * another thread is delivering returns without waiting for them (they follow
 * in order), so fn may wait for other threads' calls, except for one that
 * completes a transition: that call waits for its post_* callback, which
 * runs after the line fn is handling. NULL turns the log off. Returns 0. */
int lp_set_log_handler(void (*fn)(const char *line, void *ctx), void *ctx);

/* ---- transitions ---------------------------------------------------------- */

/* Drive the transition one step: 1 completed (or none in flight), 0 still
 * pending, -EDEADLK the caller is inside a kernel section or a hooked
 * function. May hold new entries back for up to the hold bound (see
 * lp_set_switch_policy) under SWITCH_KERNEL and SWITCH_FUNCTION models. */
int lp_transition_try_complete(void);
/* Drive the transition until it completes: 0 completed (or none in flight),
 * -ETIMEDOUT after timeout_ns (0 or a deadline past the clock's range: no
 * limit), -EDEADLK as above. A hold begun inside the wait ends by its
 * deadline, so it returns within a millisecond of it (plus the time the
 * scheduler kept the thread from running). It sleeps on a futex that the
 * threads bump when they leave the area or are held, until that, the next
 * hold, the next nudge or the deadline, with a one-second backstop against a
 * lost wake-up; it re-checks every 20 us only while a thread is caught
 * between entering and deciding its universe. */
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
 * -EINVAL signo out of range, SIGKILL or SIGSTOP (no handler can catch
 * them: a nudge would end or stop the whole process), or a signal the C
 * library reserves (between 32 and SIGRTMIN). */
int lp_set_nudge_signal(int signo);
/* SWITCH_KERNEL and SWITCH_FUNCTION: hold new outermost entries back while
 * the count drains, then pause before the next try. Both figures range from
 * 1 ns to one second (defaults 2 ms and 5 ms); -EINVAL zero or above.
 *  - A hold ends when the count reaches zero (the switch), when its bound
 *    passes, or when the count has not fallen for hold_ns while every thread
 *    it waits for is asleep: they may be waiting for a held one (a lock
 *    taken inside the set and released through a set function), and holding
 *    longer would only stop the program. (A thread that runs or waits for a
 *    CPU is leaving, only slowly: the hold goes on.)
 *  - The first hold's bound is hold_ns; each hold that ends without a switch
 *    doubles the next one's, up to the limit (lp_set_hold_limit), so that a
 *    program that drains slowly but steadily switches in the end.
 *  - After a hold that timed out the next one waits retry_ns. After one
 *    that stalled it waits at least 1, 3, 7, 15, 31, then 39 times that
 *    hold's length as stalls follow each other, so that lasting stalls take
 *    at most 1/40 of the program's time (a model's pending policy sees them
 *    in hold_timeouts, and may reverse).
 *  - Inside lp_transition_wait a hold also ends by the wait's deadline. */
int lp_set_switch_policy(uint64_t hold_ns, uint64_t retry_ns);
/* The most a hold's bound grows to by doubling (default one second); below
 * hold_ns the bound stays hold_ns. 1 ns to one second; -EINVAL otherwise. */
int lp_set_hold_limit(uint64_t limit_ns);

/* ---- status snapshot -------------------------------------------------------- */

/* Fill out: the transition status, each patch, and each live registered
 * thread (name, tid, patch_state, why it blocks), all taken under the
 * patcher lock (the registry counters of the status, registered_threads
 * among them, just after: threads register without that lock, so
 * registered_threads may differ from n_threads). Patches come in stack order (the enabled ones, oldest
 * first), then the others in slot order; threads in registration-list order.
 * Truncation: n_patches and n_threads are always the totals, and only the
 * first patches_cap (threads_cap) entries are written. Returns 0 when
 * everything fitted, 1 when an array was too small, -EINVAL out NULL or an
 * array NULL with a nonzero capacity.
 * patch_state: LP_PATCH_STATE_NONE with no transition in flight; otherwise
 * the state the thread runs in. A SWITCH_THREAD thread that does not block
 * is at the transition's target; a SWITCH_KERNEL (or LEAVE_KERNEL x
 * SWITCH_FUNCTION) thread is where the program-wide switch is; under
 * PATCHED_SET x SWITCH_FUNCTION every thread is at the start until the last
 * function has switched; under LEAVE_FUNCTION every thread is at the
 * target. */
int lp_status_snapshot(lp_snapshot_t *out);
/* The same snapshot as JSON (one object: "transition", "patches",
 * "threads"), written like snprintf: at most len-1 bytes and a NUL (nothing
 * when len is 0); returns the length of the whole document, so a return
 * >= len means truncated: call again with more room (the state may have
 * changed meanwhile, so check again). A name's non-ASCII bytes are escaped
 * as the code points U+0080..U+00FF, so the document is valid JSON whatever
 * the names hold.
 * -EINVAL buf NULL with len > 0. */
int lp_status_json(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIVEPATCH_H */
