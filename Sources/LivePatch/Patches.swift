internal import CLivePatchShim

// Patches: what a patch replaces, the stack of enabled patches (the newest
// wins on each function), and the C verbs that create, fill, enable,
// disable and destroy them. All of it is guarded by the patcher lock.

final class Patch {
    let slot: Int
    let name: [UInt8]
    let model: Model
    /// LP_PATCH_REPLACE: enabling replaces the whole stack (atomic replace).
    let replace: Bool
    @exclusivity(unchecked) var replacements: [(function: UInt32, impl: UnsafeRawPointer)] = []
    @exclusivity(unchecked) var extended: [UInt32] = []
    /// lp_patch_add_func_by_name targets not registered yet (SystemState.swift
    /// and Functions.swift resolve them at registration).
    @exclusivity(unchecked) var pendingByName: [(name: [UInt8], impl: UnsafeRawPointer)] = []
    @exclusivity(unchecked) var states: [SystemState] = []
    @exclusivity(unchecked) var callbacks = lp_callbacks_t()
    @exclusivity(unchecked) var callbackContext: UnsafeMutableRawPointer? = nil
    @exclusivity(unchecked) var enabled = false
    @exclusivity(unchecked) var inTransition = false
    /// Its callbacks queued or running (Log.swift): it may not change meanwhile.
    @exclusivity(unchecked) var callbacksInFlight = 0

    init(slot: Int, name: [UInt8], model: Model, replace: Bool) {
        self.slot = slot
        self.name = name
        self.model = model
        self.replace = replace
    }

    var functions: [UInt32] { replacements.map { $0.function } + extended }

    func contains(_ function: UInt32) -> Bool { functions.contains(function) }

    /// May not be edited or destroyed now.
    var frozen: Bool { enabled || inTransition || callbacksInFlight != 0 }

    /// Nothing to replace, now or when a named target registers.
    var isEmpty: Bool { functions.isEmpty && pendingByName.isEmpty }
}

struct PatchRegistry {
    var patches: [Patch?] = []
    /// Slots of the enabled patches, oldest first: the stack.
    var enabledOrder: [Int] = []
    /// Where the search for a free slot starts.
    var nextSlot = 0
}

@exclusivity(unchecked) nonisolated(unsafe) var patchRegistry = PatchRegistry()

let patchTableBase: UnsafeMutablePointer<lp_patch_t> = lps_patch_table_base()

/// The implementation `function` has when the patches in `order` are enabled.
func effectiveImpl(_ function: UInt32, order: [Int]) -> UnsafeRawPointer {
    for slot in order.reversed() {
        if let patch = patchRegistry.patches[slot],
           let r = patch.replacements.last(where: { $0.function == function }) {
            return r.impl
        }
    }
    return functionRecord(function).pointee.orig!
}

/// The patch behind a handle, or an errno: -EINVAL for NULL, -ENOENT for a
/// pointer that is not a live patch handle (checked by address first).
func lookupPatch(_ p: UnsafeMutablePointer<lp_patch_t>?) -> (Patch?, Int32) {
    guard let p else { return (nil, LPError.invalid) }
    let offset = UnsafeRawPointer(p) - UnsafeRawPointer(patchTableBase)
    let size = MemoryLayout<lp_patch_t>.stride
    guard offset >= 0, offset % size == 0, offset / size < Int(LP_MAX_PATCHES) else { return (nil, LPError.notFound) }
    let slot = offset / size
    guard slot < patchRegistry.patches.count, p.pointee.live != 0, let patch = patchRegistry.patches[slot] else {
        return (nil, LPError.notFound)
    }
    return (patch, 0)
}

/// The bytes of a name as given (names are bytes, not text), or nil beyond
/// the bound of nameLength().
func copyName(_ s: UnsafePointer<CChar>) -> [UInt8]? {
    guard let n = nameLength(s) else { return nil }
    return [UInt8](UnsafeRawBufferPointer(start: s, count: n))
}

/// Runs `body` with the patcher lock held.
func withPatcherLock<R>(_ body: () -> R) -> R {
    lockPatcher()
    defer { unlockPatcher() }
    return body()
}

// MARK: - C API

/// A new, disabled patch. C: `lp_patch_create`.
@c public func lp_patch_create(_ name: UnsafePointer<CChar>?, _ model: lp_model_t, _ flags: UInt32) -> UnsafeMutablePointer<lp_patch_t>? {
    guard let name, flags & ~UInt32(LP_PATCH_REPLACE) == 0, let bytes = copyName(name) else { return failNull(LPError.invalid) }
    return withPatcherLock { () -> UnsafeMutablePointer<lp_patch_t>? in
        guard let decoded = Model(model) else { return failNull(LPError.invalid) }
        if patchRegistry.patches.isEmpty {
            patchRegistry.patches = [Patch?](repeating: nil, count: Int(LP_MAX_PATCHES))
        }
        if patchRegistry.patches.contains(where: { $0?.name == bytes }) { return failNull(LPError.exists) }
        // Slots are handed out round-robin, so a destroyed patch's handle
        // stays unknown (-ENOENT) for as long as possible: until every
        // other slot has been used since.
        let count = patchRegistry.patches.count
        guard let offset = (0..<count).first(where: { patchRegistry.patches[(patchRegistry.nextSlot + $0) % count] == nil })
        else { return failNull(LPError.noMemory) }
        let slot = (patchRegistry.nextSlot + offset) % count
        patchRegistry.nextSlot = (slot + 1) % count
        patchRegistry.patches[slot] = Patch(slot: slot, name: bytes, model: decoded,
                                                replace: flags & UInt32(LP_PATCH_REPLACE) != 0)
        let handle = patchTableBase + slot
        handle.pointee.live = 1
        return handle
    }
}

/// Checks shared by lp_patch_add_func(_by_name) and lp_patch_extend_set.
/// `replacing`: the function is to be replaced by that implementation,
/// which the cyg hooks cannot do for an auto-registered one (its
/// replacement would never run); its own address is no replacement, and
/// lets it join the patched set of any model.
func patchForEditing(_ p: UnsafeMutablePointer<lp_patch_t>?, _ f: UnsafeMutablePointer<lp_func_t>?,
                     replacing: UnsafeRawPointer?) -> (Patch?, UInt32, Int32) {
    let (patch, err) = lookupPatch(p)
    guard let patch else { return (nil, 0, err) }
    guard f != nil else { return (nil, 0, LPError.invalid) }
    guard let function = validFunction(f) else { return (nil, 0, LPError.notFound) }
    if let replacing, replacing != functionRecord(function).pointee.orig && isAutoRegistered(function) {
        return (nil, 0, LPError.invalid)
    }
    if patch.frozen { return (nil, 0, LPError.busy) }
    if patch.contains(function) { return (nil, 0, LPError.exists) }
    if patch.functions.count + patch.pendingByName.count >= Int(LP_MAX_FUNCS) { return (nil, 0, LPError.noMemory) }
    return (patch, function, 0)
}

/// Replaces `f` with `newImpl` while the patch is enabled. C: `lp_patch_add_func`.
@c public func lp_patch_add_func(_ p: UnsafeMutablePointer<lp_patch_t>?, _ f: UnsafeMutablePointer<lp_func_t>?,
                                 _ newImpl: UnsafeRawPointer?) -> Int32 {
    withPatcherLock {
        let (patch, function, err) = patchForEditing(p, f, replacing: newImpl)
        guard let patch else { return err }
        guard let newImpl else { return LPError.invalid }
        patch.replacements.append((function, newImpl))
        let armed = syncPad(function)
        if armed != 0 { patch.replacements.removeLast() }
        return armed
    }
}

/// Counts `f` in the patched set without replacing it. C: `lp_patch_extend_set`.
@c public func lp_patch_extend_set(_ p: UnsafeMutablePointer<lp_patch_t>?, _ f: UnsafeMutablePointer<lp_func_t>?) -> Int32 {
    withPatcherLock {
        let (patch, function, err) = patchForEditing(p, f, replacing: nil)
        guard let patch else { return err }
        patch.extended.append(function)
        let armed = syncPad(function)
        if armed != 0 { patch.extended.removeLast() }
        return armed
    }
}

/// Starts the transition that enables the patch, after its pre_patch
/// callback (run unlocked, the patcher marked busy meanwhile).
/// C: `lp_patch_enable`.
@c public func lp_patch_enable(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    let (prepared, err): (Patch?, Int32) = withPatcher {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return (nil, err) }
        if patch.enabled || patch.isEmpty { return (nil, LPError.invalid) }
        if transition != nil || patcherBusy { return (nil, LPError.busy) }
        if let refusal = stateRefusal(patch) { return (nil, refusal) }
        var line = LogLine()
        line.text("enabling patch ")
        line.quoted(patch.name)
        logLine(line)
        logPatch(patch, "initializing patching transition")
        preCallbackBegins(patch)
        return (patch, 0)
    }
    guard let patch = prepared else { return err }
    let cancelled = runPreCallback(patch, patching: true) != 0
    return withPatcher {
        preCallbackEnds(patch)
        if cancelled {
            var line = LogLine()
            line.text("pre-patch callback failed for patch ")
            line.quoted(patch.name)
            logLine(line)
            logFailedToEnable(patch)
            logPatch(patch, "canceling patching transition")
            return LPError.canceled
        }
        let from = patchRegistry.enabledOrder
        let r = startTransition(patch, enabling: true, from: from, to: patch.replace ? [patch.slot] : from + [patch.slot])
        if r == 0 {
            logPatch(patch, "starting patching transition")
        } else {
            // pre_patch ran: pair it with post_unpatch, as the kernel's
            // klp_cancel_transition does.
            logFailedToEnable(patch)
            queueCallback(patch, .postUnpatch)
        }
        return r
    }
}

func logFailedToEnable(_ patch: Patch) {
    var line = LogLine()
    line.text("failed to enable patch ")
    line.quoted(patch.name)
    logLine(line)
}

/// Starts the transition that disables the patch, after its pre_unpatch
/// callback (run unlocked, the patcher marked busy meanwhile).
/// C: `lp_patch_disable`.
@c public func lp_patch_disable(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    let (prepared, err): (Patch?, Int32) = withPatcher {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return (nil, err) }
        if transition != nil || patcherBusy { return (nil, LPError.busy) }
        if !patch.enabled { return (nil, LPError.invalid) }
        if patchRegistry.enabledOrder.last != patch.slot { return (nil, LPError.busy) }
        logPatch(patch, "initializing unpatching transition")
        preCallbackBegins(patch)
        return (patch, 0)
    }
    guard let patch = prepared else { return err }
    _ = runPreCallback(patch, patching: false)
    return withPatcher {
        preCallbackEnds(patch)
        let from = patchRegistry.enabledOrder
        let r = startTransition(patch, enabling: false, from: from, to: Array(from.dropLast()))
        if r == 0 {
            logPatch(patch, "starting unpatching transition")
        } else {
            // pre_unpatch ran and the patch stays enabled: post_patch pairs it.
            queueCallback(patch, .postPatch)
        }
        return r
    }
}

/// Frees a disabled patch. C: `lp_patch_destroy`.
@c public func lp_patch_destroy(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        if patch.frozen { return LPError.busy }
        patchRegistry.patches[patch.slot] = nil
        (patchTableBase + patch.slot).pointee.live = 0
        // A pad no patch names any more goes back to NOPs. Disarming only
        // rewrites a byte already written, on a page already made writable once.
        for function in patch.functions { _ = syncPad(function) }
        return 0
    }
}
