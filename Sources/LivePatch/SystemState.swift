internal import CLivePatchShim

// System state (Documentation/livepatch/system-state.rst): each patch says
// which states it modifies, at which version; enabling checks them against
// the enabled patches, and lp_state_get reads the enabled patches' states.
// Guarded by the patcher lock.

struct SystemState {
    let id: UInt
    let version: UInt32
    let data: UnsafeMutableRawPointer?
}

/// Why `patch` may not be enabled over the enabled patches (the kernel's
/// klp_is_patch_compatible), logged; nil when it may. Patcher lock held.
func stateRefusal(_ patch: Patch) -> Int32? {
    for slot in patchRegistry.enabledOrder {
        guard let installed = patchRegistry.patches[slot] else { continue }
        for old in installed.states {
            var line = LogLine(patch)
            if let mine = patch.states.first(where: { $0.id == old.id }) {
                guard mine.version < old.version else { continue }
                line.text("system state ")
                line.number(UInt64(old.id))
                line.text(" version ")
                line.number(UInt64(mine.version))
                line.text(" < ")
                line.number(UInt64(old.version))
                line.text(" installed by ")
            } else {
                guard patch.replace else { continue }
                line.text("cumulative patch drops system state ")
                line.number(UInt64(old.id))
                line.text(" of ")
            }
            line.quoted(installed.name)
            line.text(": refused")
            logLine(line)
            return LPError.invalid
        }
    }
    return nil
}

// MARK: - C API

/// Declares that the patch modifies system state `id` at `version`.
/// C: `lp_patch_add_state`.
@c public func lp_patch_add_state(_ p: UnsafeMutablePointer<lp_patch_t>?, _ id: CUnsignedLong, _ version: UInt32,
                                  _ data: UnsafeMutableRawPointer?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        if id == 0 { return LPError.invalid }
        if patch.frozen { return LPError.busy }
        if patch.states.contains(where: { $0.id == id }) { return LPError.exists }
        patch.states.append(SystemState(id: id, version: version, data: data))
        return 0
    }
}

/// The version and data of state `id` in the newest enabled patch that has
/// it. C: `lp_state_get`.
@c public func lp_state_get(_ id: CUnsignedLong, _ version: UnsafeMutablePointer<UInt32>?,
                            _ data: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    withPatcherLock {
        for slot in patchRegistry.enabledOrder.reversed() {
            guard let state = patchRegistry.patches[slot]?.states.first(where: { $0.id == id }) else { continue }
            version?.pointee = state.version
            data?.pointee = state.data
            return 0
        }
        return LPError.notFound
    }
}
