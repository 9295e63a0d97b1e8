internal import CLivePatchShim

// The function registry: records live in the static lps_func_table for the
// life of the process (a function is never unregistered), so a handle is
// checked by its address alone; names are found through an open-addressing
// table of indices. Both are guarded by the registry lock.

struct FunctionRegistry {
    var count: UInt32 = 0
    /// index + 1 of the function whose name hashes here; 0 empty. Allocated
    /// (fallibly: lp_func_register answers ENOMEM) by the first registration.
    var byName: UnsafeMutablePointer<UInt32>? = nil
}

/// Slots of byName: twice the functions, a power of two.
let byNameSlots = 2 * Int(LP_MAX_FUNCS)


/// The index of a registered function's handle, or nil for anything else
/// (NULL, a foreign pointer, a misaligned one), without dereferencing it
/// unless it lies inside the table.
func validFunction(_ f: UnsafePointer<lp_func_t>?) -> UInt32? {
    guard let f else { return nil }
    let offset = UnsafeRawPointer(f) - UnsafeRawPointer(functionTableBase)
    let size = MemoryLayout<lp_func_t>.stride
    guard offset >= 0, offset % size == 0, offset / size < Int(LP_MAX_FUNCS) else { return nil }
    let index = UInt32(offset / size)
    // Pairs with the release store of `live` in lp_func_register().
    guard lps_load_acquire_u64(&lps_func_totals_of(index).pointee.live) != 0 else { return nil }
    return index
}

/// The length of a name, or nil from LP_NAME_MAX bytes on: the bound of every
/// call that takes a name, so that no copy of one is ever larger (and a
/// name is never read further than that).
func nameLength(_ s: UnsafePointer<CChar>) -> Int? {
    var n = 0
    while s[n] != 0 {
        n += 1
        if n >= Int(LP_NAME_MAX) { return nil }
    }
    return n
}

/// FNV-1a over a NUL-terminated string.
func nameHash(_ s: UnsafePointer<CChar>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    var p = s
    while p.pointee != 0 {
        h = (h ^ UInt64(UInt8(bitPattern: p.pointee))) &* 0x100_0000_01b3
        p += 1
    }
    return h
}

func sameName(_ a: UnsafePointer<CChar>, _ b: UnsafePointer<CChar>) -> Bool {
    var i = 0
    while a[i] == b[i] {
        if a[i] == 0 { return true }
        i += 1
    }
    return false
}

/// Whether `s` holds exactly `bytes` (which hold no NUL): compared in place,
/// so that registration copies no name but the one it keeps.
func sameName(_ bytes: [UInt8], _ s: UnsafePointer<CChar>) -> Bool {
    for (i, b) in bytes.enumerated() where UInt8(bitPattern: s[i]) != b { return false }
    return s[bytes.count] == 0
}

/// The slot of `name` in `byName`: where it is, or the empty slot where it
/// would go. Registry lock held.
func nameSlot(_ name: UnsafePointer<CChar>, in byName: UnsafeMutablePointer<UInt32>) -> Int {
    let mask = byNameSlots - 1
    var i = Int(truncatingIfNeeded: nameHash(name)) & mask
    while true {
        let entry = byName[i]
        if entry == 0 { return i }
        if let other = functionRecord(entry - 1).pointee.name, sameName(other, name) { return i }
        i = (i + 1) & mask
    }
}

/// The index of the function registered under `name`. Registry lock held.
func registeredIndex(_ name: UnsafePointer<CChar>) -> UInt32? {
    guard let byName = registry.functions.byName else { return nil }
    let entry = byName[nameSlot(name, in: byName)]
    return entry == 0 ? nil : entry - 1
}

/// Registers a function under `name`; with `byAddress`, also under its
/// implementation's address in lps_addr_table, for the cyg hooks. An enabled
/// patch (or one in transition) that waits for it by name
/// (lp_patch_add_func_by_name) applies at once: the patcher lock is taken
/// first (lock order: patcher, then registry) so that the function is
/// published with its patched implementation.
func registerFunction(_ name: UnsafePointer<CChar>?, _ impl: UnsafeRawPointer?, byAddress: Bool) -> FunctionRecord? {
    let (f, err) = tryRegisterFunction(name, impl, byAddress: byAddress)
    return f ?? failNull(err)
}

/// registerFunction, with the error returned rather than put in errno.
func tryRegisterFunction(_ name: UnsafePointer<CChar>?, _ impl: UnsafeRawPointer?, byAddress: Bool) -> (FunctionRecord?, Int32) {
    guard let name, let impl, nameLength(name) != nil else { return (nil, LPError.invalid) }
    return withPatcherLockDeliveringEvents { () -> (FunctionRecord?, Int32) in
        // Allocated before the registry lock: a thread parked in malloc may
        // be registering from a signal handler's hook, and waits for that
        // lock. byName is written only here, with the patcher lock held too,
        // so it reads the same under the registry lock below.
        let newTable = registry.functions.byName == nil ? lps_sys_calloc(byNameSlots, MemoryLayout<UInt32>.size) : nil
        guard registry.functions.byName != nil || newTable != nil, let copy = lps_sys_strdup(name) else {
            lps_sys_free(newTable)
            return (nil, LPError.noMemory)
        }
        lps_lock_registry()
        defer { lps_unlock_registry() }
        if let newTable { registry.functions.byName = newTable.assumingMemoryBound(to: UInt32.self) }
        let byName = registry.functions.byName!
        let slot = nameSlot(name, in: byName)
        let address = byAddress ? probeAddress(impl) : nil
        if byName[slot] != 0 || address?.found == true {
            lps_sys_free(copy)
            return (nil, LPError.exists)
        }
        if registry.functions.count >= UInt32(LP_MAX_FUNCS) {
            lps_sys_free(copy)
            return (nil, LPError.noMemory)
        }
        let index = registry.functions.count
        let f = functionRecord(index)
        f.pointee.name = UnsafePointer(copy)
        f.pointee.orig = impl
        f.pointee.index = index
        // The cyg hooks cannot redirect: an auto-registered function takes
        // no pending replacement.
        lps_store_release_ptr(&f.pointee.impl, byAddress ? impl : resolveLateTarget(name, index: index))
        // Pairs with the acquire load in validFunction().
        lps_store_release_u64(&lps_func_totals_of(UInt32(index)).pointee.live, 1)
        registry.functions.count += 1
        byName[slot] = index + 1
        // Last, with release: pairs with the acquire load of the key in
        // autoFunction(), so a cyg hook that finds f sees it whole.
        if let address { lps_addr_publish(address.slot, impl, f) }
        return (f, 0)
    }
}
