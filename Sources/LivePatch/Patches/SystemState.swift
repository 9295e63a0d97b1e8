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
    for slot in patcher.patches.enabledOrder {
        guard let installed = patcher.patches.slots[slot] else { continue }
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
