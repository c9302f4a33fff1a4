import Testing
@testable import StowageCluster

/// Each safety rule of the register switched off in turn: the simulator must find a history
/// that breaks linearizability or an invariant, which shows the rule is needed and the
/// simulator can see its absence. The failing seed is printed; it replays exactly.
@Suite struct RegisterMutationTests {
    static let budget: UInt64 = 40_000

    private func expectCaught(
        _ name: String, tweak: SimulationRunner.Tweak? = nil, change: (inout RegisterSafetyRules) -> Void = { _ in }
    ) {
        var rules = RegisterSafetyRules.all
        change(&rules)
        let result = SimulationRunner.sweep(0..<Self.budget, rules: rules, tweak: tweak)
        guard let failure = result.failure else {
            Issue.record("mutation '\(name)' survived \(result.tally.histories) histories")
            return
        }
        print("mutation '\(name)': caught after \(result.tally.histories) histories, seed \(failure.seed): \(failure.reason)")
    }

    /// The acceptor rule and the coordinator's guard express one property; the coordinator's
    /// guard alone masks the acceptor mutation, so both are removed together.
    @Test func acceptWithoutRaisingPromised() {
        expectCaught("accept without raising promised", change: {
            $0.acceptRaisesPromised = false
            $0.proposeAboveAccepted = false
        })
    }
    @Test func retryAfterSideEffects() { expectCaught("retry after a partial accept", change: { $0.noRetryAfterSideEffects = false }) }
    @Test func refusalWithoutIdentityAccept() { expectCaught("412 without the identity accept", change: { $0.identityAcceptBefore412 = false }) }
    @Test func readServesUnchosenValue() { expectCaught("a read serving a value not known chosen", change: { $0.readServesOnlyChosen = false }) }
    @Test func amnesiacDriveVotes() { expectCaught("a reset drive voting", change: { $0.amnesiacDrivesAbstain = false }) }
    @Test func collectionByBallot() { expectCaught("collection by ballot instead of by reference", change: { $0.collectByReference = false }) }
    @Test func replyBeforeDurable() { expectCaught("reply before the group commit is durable", change: { $0.replyAfterDurable = false }) }

    /// Not a register rule but a transport one the simulator found necessary: with duplicate
    /// deliveries processed twice, "every drive refused" no longer proves nothing was applied.
    /// The collector's order: reading every drive and then deleting, without condemning
    /// first, lets a fenced writer's late accept adopt the data in between.
    @Test func collectorReadsBeforeCondemning() {
        expectCaught("a collector that does not condemn before reading", tweak: {
            $0.collectorCondemnsFirst = false
            $0.collectors = 2...4
            $0.pauseRate = 0.1  // late accepts of fenced writers are what it lets through
        })
    }

    @Test func duplicateDeliveriesProcessed() {
        expectCaught("a duplicated request processed twice", tweak: {
            $0.dropsDuplicateRequests = false
            $0.duplicateRate = 0.2
        })
    }
}
