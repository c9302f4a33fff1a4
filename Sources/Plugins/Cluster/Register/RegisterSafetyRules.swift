/// The register's safety rules, each of which the simulator's mutation runs switch off in
/// turn to show that the simulator notices (CLUSTER.md §12). Production code always uses
/// ``all``; only tests construct anything else.
package struct RegisterSafetyRules: Sendable, Equatable {
    /// An accept raises `promised` and a prepare compares against the accepted ballot too.
    package var acceptRaisesPromised = true
    /// The coordinator never proposes at a ballot below one a promise reported accepted (a
    /// second guard for the same property, in the coordinator).
    package var proposeAboveAccepted = true
    /// A write that may have had side effects is never proposed again under a new ballot
    /// except through recovery (F1).
    package var noRetryAfterSideEffects = true
    /// A 412 derived from a value not known chosen first makes it chosen (F5).
    package var identityAcceptBefore412 = true
    /// A read serves the newest value only when it is known chosen; else it writes back.
    package var readServesOnlyChosen = true
    /// A drive that lost its state answers as a learner until it is healed (F2).
    package var amnesiacDrivesAbstain = true
    /// A drive replies only after its change is durable (F3).
    package var replyAfterDurable = true
    /// Data is collected by reference (F6): only when the chosen value does not reference
    /// it and no drive holds it accepted at or above the chosen ballot.
    package var collectByReference = true

    package init() {}

    package static let all = RegisterSafetyRules()
}
