internal import CLivePatchShim

@exclusivity(unchecked) nonisolated(unsafe) var transition: Transition? = nil

/// LP_BUG_*: a protocol break the torture checker must catch (testing only).
@exclusivity(unchecked) nonisolated(unsafe) var injectedBug: Int32 = 0

@exclusivity(unchecked) nonisolated(unsafe) var switchPolicy = SwitchPolicy()

@exclusivity(unchecked) nonisolated(unsafe) var transitionStats = TransitionStats()
