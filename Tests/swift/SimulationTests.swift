import CLivePatchShim
import Glibc
import LivePatch
import Synchronization
import Testing

// Simulation mode with the engine in the loop: a KPATCH transition (its
// holds keep the patcher lock across waits) while two workers call the
// patched function and a third thread reads the status (which takes the
// patcher lock). The same seed must give the same schedule and the same
// observations; the run must finish (no deadlock on the patcher lock).

final class SimObservations: @unchecked Sendable {
    // Written only by the thread holding the baton; read after the joins.
    var seen: [[UnsafeRawPointer?]] = [[], []]
}

struct SimOutcome: Equatable {
    var hash: UInt64
    var steps: UInt64
    var outcome: Int32
    var seen: [[UInt]]
}

func simulatedTransition(seed: UInt64, strategy: Int32) -> SimOutcome {
    let f = register("sim", impl(1))
    let p = makePatch("sim", presetKPatch)
    #expect(lp_patch_add_func(p, f, impl(2)) == 0)
    #expect(lp_set_switch_policy(50_000, 20_000) == 0)
    defer { #expect(lp_set_switch_policy(2_000_000, 5_000_000) == 0) }
    var cfg = lp_sim_config_t(seed: seed, strategy: strategy, pct_depth: 3, threads: 4, max_steps: 100_000, pct_horizon: 200)
    #expect(lp_sim_start(&cfg) == 0)
    let obs = SimObservations()
    var threads: [pthread_t] = []
    for w in 0..<2 {
        threads.append(spawn {
            #expect(lp_sim_thread_join(UInt32(w)) == 0)
            for _ in 0..<30 {
                lp_sim_point(Int32(LP_SIM_ENTER))
                let r = lp_func_enter(f)
                lp_sim_point(Int32(LP_SIM_EXIT))
                lp_func_exit(f)
                obs.seen[w].append(r)
            }
            _ = lp_thread_unregister()
            #expect(lp_sim_thread_leave() == 0)
        })
    }
    threads.append(spawn { // the patcher
        #expect(lp_sim_thread_join(2) == 0)
        lp_sim_point(Int32(LP_SIM_PATCHER))
        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_wait(1_000_000_000) == 0)
        #expect(lp_sim_thread_leave() == 0)
    })
    threads.append(spawn { // a reader of the status: takes the patcher lock
        #expect(lp_sim_thread_join(3) == 0)
        for _ in 0..<20 {
            var st = lp_transition_status_t()
            #expect(lp_transition_status(&st) == 0)
            lp_sim_point(Int32(LP_SIM_OTHER))
        }
        #expect(lp_sim_thread_leave() == 0)
    })
    join(threads)
    var res = lp_sim_result_t()
    #expect(lp_sim_stop(&res) == 0)
    #expect(call(f) == impl(2))
    #expect(lp_patch_disable(p) == 0)
    settle()
    #expect(lp_patch_destroy(p) == 0)
    // KPATCH: one switch instant, so each worker sees old calls, then new ones.
    for s in obs.seen {
        #expect(s.count == 30)
        let firstNew = s.firstIndex { $0 == impl(2) } ?? s.count
        #expect(s[..<firstNew].allSatisfy { $0 == impl(1) } && s[firstNew...].allSatisfy { $0 == impl(2) })
    }
    return SimOutcome(hash: res.hash, steps: res.steps, outcome: res.outcome,
                      seen: obs.seen.map { $0.map { UInt(bitPattern: $0) } })
}

extension Engine {
@Suite struct SimulationMode {
    @Test(arguments: [Int32(LP_SIM_RANDOM), Int32(LP_SIM_PCT)])
    func sameSeedSameRun(_ strategy: Int32) {
        let a = simulatedTransition(seed: 11, strategy: strategy)
        let b = simulatedTransition(seed: 11, strategy: strategy)
        #expect(a.outcome == Int32(LP_SIM_DONE))
        #expect(a == b)
        var hashes: Set<UInt64> = [a.hash]
        for seed in 12..<20 as Range<UInt64> { hashes.insert(simulatedTransition(seed: seed, strategy: strategy).hash) }
        #expect(hashes.count > 1)
    }
}
}
