import ArgumentParser
import Glibc
import LivePatch

/// `livepatch status`: a small self-contained demonstration of the status
/// snapshot. Two patches: fix-read (KGRAFT), enabled and complete, and
/// fix-write (UPSTREAM), whose transition is held in flight by a thread asleep
/// inside write(); beside it an idle thread and an offline one. Prints the
/// snapshot as a sysfs-like text view, or as JSON (lp_status_json).
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Demonstrate the status snapshot: two patches, one transition held by a sleeping thread."
    )

    @Flag(help: "Print the snapshot as JSON (lp_status_json) instead of the sysfs-like text view.")
    var json = false

    func run() throws {
        let demo = try StatusDemo()
        defer { demo.finish() }
        print(json ? statusJSON() : statusText(), terminator: "")
    }
}

/// The snapshot as JSON, from the library's one formatter.
func statusJSON() -> String {
    let n = Int(lp_status_json(nil, 0))
    var buf = [CChar](repeating: 0, count: n + 1)
    _ = lp_status_json(&buf, UInt(buf.count))
    return String(cString: buf)
}

private func cName<T>(_ field: T) -> String {
    withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}

/// The snapshot as /sys/kernel/livepatch- and /proc/<tid>/patch_state-like lines.
func statusText() -> String {
    var patches = [lp_patch_info_t](repeating: lp_patch_info_t(), count: Int(LP_MAX_PATCHES))
    var threads = [lp_thread_state_t](repeating: lp_thread_state_t(), count: 1024)
    var snap = lp_snapshot_t()
    patches.withUnsafeMutableBufferPointer { p in
        threads.withUnsafeMutableBufferPointer { t in
            snap.patches = p.baseAddress
            snap.patches_cap = UInt32(p.count)
            snap.threads = t.baseAddress
            snap.threads_cap = UInt32(t.count)
            _ = lp_status_snapshot(&snap)
        }
    }
    let tx = snap.transition
    let states = ["idle", "patching", "unpatching"]
    var out = "/livepatch/transition \(states[Int(tx.state)])"
    if tx.state != LP_TRANSITION_IDLE { out += " \(cName(tx.patch)) (pending threads \(tx.pending_threads))" }
    out += "\n"
    for p in patches.prefix(Int(min(snap.n_patches, snap.patches_cap))) {
        let dir = "/livepatch/\(cName(p.name))"
        out += "\(dir)/enabled \(p.enabled)\n\(dir)/transition \(p.transition)\n"
        out += "\(dir)/model \(Model(id: p.model))\n\(dir)/stack_index \(p.stack_index)\n"
        out += "\(dir)/functions \(p.functions) replaced, \(p.extended) counted\n"
    }
    let reasons = ["none", "in-kernel", "in-set", "no-switch-point", "unreliable-stack"]
    for t in threads.prefix(Int(min(snap.n_threads, snap.threads_cap))) {
        let dir = "/proc/\(t.tid)"
        out += "\(dir)/comm \(cName(t.name))\n\(dir)/patch_state \(t.patch_state)\n"
        out += "\(dir)/blocking \(t.blocking >= 0 && t.blocking < reasons.count ? reasons[Int(t.blocking)] : "unknown")"
        out += t.offline != 0 ? " (offline)\n" : "\n"
        if t.n_inside != 0 { out += "\(dir)/stack \(insideNames(t))\n" }
    }
    if snap.n_threads > snap.threads_cap { out += "(\(snap.n_threads - snap.threads_cap) more threads)\n" }
    return out
}

/// The set functions a thread is inside, outermost first, as the kernel's
/// /proc/PID/stack would list them.
private func insideNames(_ t: lp_thread_state_t) -> String {
    var inside = t.inside
    let names = withUnsafeBytes(of: &inside) { raw in
        raw.bindMemory(to: UnsafePointer<lp_func_t>?.self).prefix(Int(t.n_inside)).compactMap { f in
            f.map { String(cString: $0.pointee.name) }
        }
    }
    let more = Int(t.n_inside) - names.count
    return names.joined(separator: " ") + (more > 0 ? " (\(more) more)" : "")
}

/// The demonstration's threads and patches; finish() lets the sleeper go and
/// completes the transition.
final class StatusDemo {
    static let readOld: @convention(c) () -> Void = {}
    static let readNew: @convention(c) () -> Void = {}
    static let writeOld: @convention(c) () -> Void = {}
    static let writeNew: @convention(c) () -> Void = {}
    nonisolated(unsafe) static var write: UnsafeMutablePointer<lp_func_t>? = nil
    nonisolated(unsafe) static var inside = sem_t()
    nonisolated(unsafe) static var release = sem_t()
    var threads: [pthread_t] = []

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func impl(_ f: @convention(c) () -> Void) -> UnsafeRawPointer {
        unsafeBitCast(f, to: UnsafeRawPointer.self)
    }

    static func check(_ rc: Int32, _ what: String) throws {
        if rc != 0 { throw Failure(description: "\(what): \(String(cString: lp_strerror(rc)))") }
    }

    init() throws {
        sem_init(&StatusDemo.inside, 0, 0)
        sem_init(&StatusDemo.release, 0, 0)
        _ = lp_thread_register("livepatch-status")
        guard let read = lp_func_register("read", StatusDemo.impl(StatusDemo.readOld)),
              let write = lp_func_register("write", StatusDemo.impl(StatusDemo.writeOld)),
              let fixRead = lp_patch_create("fix-read", lp_model(LP_LEAVE_KERNEL, LP_SWITCH_THREAD), 0),
              let fixWrite = lp_patch_create("fix-write",
                                             lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD) | LP_MODEL_F_KERNEL_EXIT_SWITCHES, 0)
        else { throw Failure(description: "registering the demonstration's functions and patches failed") }
        StatusDemo.write = write
        try StatusDemo.check(lp_patch_add_func(fixRead, read, StatusDemo.impl(StatusDemo.readNew)), "fix-read")
        try StatusDemo.check(lp_patch_enable(fixRead), "enable fix-read")
        try StatusDemo.check(lp_transition_wait(5_000_000_000), "fix-read's transition")
        try StatusDemo.check(lp_patch_add_func(fixWrite, write, StatusDemo.impl(StatusDemo.writeNew)), "fix-write")
        start { _ in
            // Asleep inside write(): its activation predates fix-write's transition.
            _ = lp_thread_register("demo-sleeper")
            let impl = lp_func_enter(StatusDemo.write)
            unsafeBitCast(impl, to: (@convention(c) () -> Void).self)()
            sem_post(&StatusDemo.inside)
            sem_wait(&StatusDemo.release)
            lp_func_exit(StatusDemo.write)
            return nil
        }
        start { _ in
            _ = lp_thread_register("demo-idle")
            sem_post(&StatusDemo.inside)
            sem_wait(&StatusDemo.release)
            return nil
        }
        start { _ in
            _ = lp_thread_register("demo-offline")
            lp_thread_offline()
            sem_post(&StatusDemo.inside)
            sem_wait(&StatusDemo.release)
            lp_thread_online()
            return nil
        }
        for _ in threads { sem_wait(&StatusDemo.inside) }
        try StatusDemo.check(lp_patch_enable(fixWrite), "enable fix-write")
        _ = lp_transition_try_complete() // pending: the sleeper is inside write()
    }

    func start(_ body: @escaping @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?) {
        var th = pthread_t()
        pthread_create(&th, nil, body, nil)
        threads.append(th)
    }

    func finish() {
        for _ in threads { sem_post(&StatusDemo.release) }
        for th in threads { pthread_join(th, nil) }
        _ = lp_transition_wait(5_000_000_000)
    }
}
