internal import CLivePatchShim

// The status snapshot as JSON: one formatter for lp_status_json() and the
// CLI. Built byte by byte (no Foundation, no String formatting: the engine
// builds as Embedded Swift).

func transitionStateName(_ state: Int32) -> StaticString {
    switch state {
    case Int32(LP_TRANSITION_PATCHING): return "patching"
    case Int32(LP_TRANSITION_UNPATCHING): return "unpatching"
    default: return "idle"
    }
}

func stallName(_ reason: Int32) -> StaticString {
    switch reason {
    case 0: return "none"
    case Int32(LP_STALL_IN_KERNEL): return "in-kernel"
    case Int32(LP_STALL_IN_SET): return "in-set"
    case Int32(LP_STALL_NO_SWITCH_POINT): return "no-switch-point"
    case Int32(LP_STALL_UNRELIABLE_STACK): return "unreliable-stack"
    default: return "unknown"
    }
}

extension JSONWriter {
    /// A model by what it declares, user-registered ones included (their
    /// ids do not encode a cell).
    mutating func model(_ m: lp_model_t, _ snap: Snapshot) {
        member("model")
        open("{")
        if var info = snap.models.first(where: { $0.id == m })?.info {
            field("name", chars: &info.name)
            field("leave", CountedArea(rawValue: info.counts.rawValue)!.name)
            field("switch", SwitchUnit(rawValue: info.switches.rawValue)!.name)
            field("flags", UInt64(info.switch_points))
        }
        field("raw", UInt64(m))
        close("}")
    }
}

func snapshotJSON(_ snap: Snapshot) -> [UInt8] {
    var w = JSONWriter()
    var tx = snap.transition
    w.open("{")
    w.member("transition")
    w.open("{")
    w.field("state", transitionStateName(tx.state))
    w.field("patch", chars: &tx.patch)
    w.model(tx.model, snap)
    w.field("pending_threads", tx.pending_threads)
    w.field("pending_functions", tx.pending_functions)
    w.field("transitions", tx.transitions)
    w.field("completed", tx.completed)
    w.field("reversed", tx.reversed)
    w.field("forced", tx.forced)
    w.field("checks", tx.checks)
    w.field("hold_attempts", tx.hold_attempts)
    w.field("hold_timeouts", tx.hold_timeouts)
    w.field("hold_ns", tx.hold_ns)
    w.field("retry_ns", tx.retry_ns)
    w.field("nudges_sent", tx.nudges_sent)
    w.field("registered_threads", tx.registered_threads)
    w.field("registered_functions", tx.registered_functions)
    w.field("unbalanced_exits", tx.unbalanced_exits)
    w.field("abandoned_exits", tx.abandoned_exits)
    w.field("exited_inside", tx.exited_inside)
    w.field("unregistered_calls", tx.unregistered_calls)
    w.close("}")
    w.member("patches")
    w.open("[")
    for var p in snap.patches {
        w.member(nil)
        w.open("{")
        w.field("name", chars: &p.name)
        w.model(p.model, snap)
        w.field("enabled", Int64(p.enabled))
        w.field("transition", Int64(p.transition))
        w.field("replace", Int64(p.replace))
        w.field("stack_index", Int64(p.stack_index))
        w.field("functions", UInt64(p.functions))
        w.field("extended", UInt64(p.extended))
        w.close("}")
    }
    w.close("]")
    w.member("threads")
    w.open("[")
    for var t in snap.threads {
        w.member(nil)
        w.open("{")
        w.field("name", chars: &t.name)
        w.field("tid", Int64(t.tid))
        w.field("patch_state", Int64(t.patch_state))
        w.field("blocking", stallName(t.blocking))
        w.field("offline", Int64(t.offline))
        w.field("kernel_depth", UInt64(t.kernel_depth))
        w.field("function_depth", UInt64(t.function_depth))
        w.member("inside")
        w.open("[")
        forEachInside(count: t.n_inside, &t.inside) { f in
            w.member(nil)
            w.string(cString: f.pointee.name)
        }
        w.close("]")
        w.field("inside_count", UInt64(t.n_inside))
        w.close("}")
    }
    w.close("]")
    w.close("}")
    w.raw("\n")
    return w.out
}
