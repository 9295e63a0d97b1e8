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
    /// and Functions/FunctionRegistry.swift resolve them at registration).
    @exclusivity(unchecked) var pendingByName: [(name: [UInt8], impl: UnsafeRawPointer)] = []
    @exclusivity(unchecked) var states: [SystemState] = []
    @exclusivity(unchecked) var callbacks = lp_callbacks_t()
    @exclusivity(unchecked) var callbackContext: UnsafeMutableRawPointer? = nil
    @exclusivity(unchecked) var enabled = false
    @exclusivity(unchecked) var inTransition = false
    /// Its callbacks queued or running (EventQueue.swift): it may not change meanwhile.
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
    var slots: [Patch?] = []
    /// Slots of the enabled patches, oldest first: the stack.
    var enabledOrder: [Int] = []
    /// Where the search for a free slot starts.
    var nextSlot = 0
}


/// The implementation `function` has when the patches in `order` are enabled.
func effectiveImpl(_ function: UInt32, order: [Int]) -> UnsafeRawPointer {
    for slot in order.reversed() {
        if let patch = patcher.patches.slots[slot],
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
    guard slot < patcher.patches.slots.count, p.pointee.live != 0, let patch = patcher.patches.slots[slot] else {
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
