internal import CLivePatchShim

// The status snapshot as JSON: one formatter for lp_status_json() and the
// CLI. Built byte by byte (no Foundation, no String formatting: the engine
// builds as Embedded Swift).

struct JSONWriter {
    var out: [UInt8] = []
    /// Whether the object or array being written already has a member.
    var hasMember: [Bool] = []

    mutating func raw(_ s: StaticString) {
        for i in 0..<s.utf8CodeUnitCount { out.append(s.utf8Start[i]) }
    }

    mutating func open(_ bracket: StaticString) {
        raw(bracket)
        hasMember.append(false)
    }

    mutating func close(_ bracket: StaticString) {
        hasMember.removeLast()
        raw(bracket)
    }

    /// Starts a member: a comma if one came before, then `"key": ` (or
    /// nothing more for an array element, key nil).
    mutating func member(_ key: StaticString?) {
        if hasMember[hasMember.count - 1] { raw(", ") }
        hasMember[hasMember.count - 1] = true
        if let key {
            raw("\"")
            raw(key)
            raw("\": ")
        }
    }

    mutating func number(_ v: UInt64) {
        var digits: [UInt8] = []
        var x = v
        repeat {
            digits.append(UInt8(48 + x % 10))
            x /= 10
        } while x != 0
        out.append(contentsOf: digits.reversed())
    }

    mutating func number(_ v: Int64) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        number(v.magnitude)
    }

    /// A string from bytes up to the first NUL. Quotes, backslashes and
    /// control characters are escaped, and so is every non-ASCII byte (as
    /// U+0080..U+00FF), so that the document is valid UTF-8 JSON whatever
    /// the bytes are.
    mutating func string(_ bytes: UnsafeRawBufferPointer) {
        let hex: StaticString = "0123456789abcdef"
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            if b == 0 { break }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out.append(UInt8(ascii: "\\"))
                out.append(b)
            } else if b < 0x20 || b >= 0x7f {
                raw("\\u00")
                out.append(hex.utf8Start[Int(b >> 4)])
                out.append(hex.utf8Start[Int(b & 15)])
            } else {
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    mutating func string(cString p: UnsafePointer<CChar>) {
        var n = 0
        while p[n] != 0 { n += 1 }
        string(UnsafeRawBufferPointer(start: p, count: n))
    }

    mutating func field(_ key: StaticString, _ v: UInt64) { member(key); number(v) }
    mutating func field(_ key: StaticString, _ v: Int64) { member(key); number(v) }
    mutating func field(_ key: StaticString, _ v: StaticString) { member(key); raw("\""); raw(v); raw("\"") }
    mutating func field<T>(_ key: StaticString, chars: inout T) {
        member(key)
        withUnsafeBytes(of: &chars) { string($0) }
    }
}

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
    mutating func model(_ m: lp_model_t) {
        member("model")
        open("{")
        var info = lp_model_info_t()
        if lp_model_describe(m, &info) == 0 {
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
    w.model(tx.model)
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
        w.model(p.model)
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
