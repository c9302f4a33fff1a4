/// When a drive may delete data: "data lifetime is by reference" (CLUSTER.md §3, F6).
///
/// A collector deletes a value's data (its shard files, inline shards and staged rows) only
/// when all of these hold:
/// - (a) the writing coordinator is fenced for it: its request has ended, or its process
///   incarnation changed;
/// - (b) a register read of the key (with write-back) found a chosen value that does not
///   reference the data;
/// - (c) that chosen ballot is above every ballot at which any drive of the set holds an
///   accepted value referencing the data, with every drive answering;
/// - (d) a grace period has passed (the caller's: GETs that resolved the value before it was
///   replaced finish first).
///
/// Order matters for (c), and the rule relies on it: the collector reads each drive only
/// after **condemning** the data there (an accept that carries it is refused `noData` from
/// then on). An accept that adopted the data before the condemnation is in that read; one
/// that arrives after cannot adopt it. Without the condemnation, a late accept of a fenced
/// writer, still in the network, could be adopted after the read and chosen (the simulator
/// finds that interleaving).
///
/// ```swift
/// let verdict = DataCollectionRule.verdict(
///     dataRef: ref, writerFenced: true, chosen: readResult,
///     drives: answers)            // every drive's accepted value, read after condemning
/// if verdict == .collect { /* delete the shard files and the rows */ }
/// ```
public enum DataCollectionRule {
    /// One drive's answer to the collector's read of the key.
    public enum DriveView: Sendable, Hashable {
        /// The drive's accepted value for the key (nil: it holds none).
        case accepted(AcceptedValue?)
        /// No answer (down, timed out): nothing may be collected.
        case silent
    }

    public enum Verdict: Sendable, Hashable {
        case collect
        case keep(KeepReason)
    }

    public enum KeepReason: Sendable, Hashable {
        case writerMayRun
        /// Try again later: every drive must answer.
        case driveSilent
        case chosenValueReferencesIt
        case acceptedAtOrAboveChosen
        /// Only under the "collection by ballot" mutation.
        case noHigherBallotChosen
    }

    /// - Parameters:
    ///   - chosen: what a register read with write-back of the key returned (nil: no value
    ///     was ever chosen, the key is absent without a tombstone).
    ///   - drives: every drive of the set, in any order, read after the data was condemned.
    public static func verdict(
        dataRef: [UInt8], writerFenced: Bool, chosen: AcceptedValue?, drives: [DriveView]
    ) -> Verdict {
        verdict(dataRef: dataRef, writerFenced: writerFenced, chosen: chosen, drives: drives, rules: .all)
    }

    package static func verdict(
        dataRef: [UInt8], writerFenced: Bool, chosen: AcceptedValue?, drives: [DriveView],
        rules: RegisterSafetyRules
    ) -> Verdict {
        guard writerFenced else { return .keep(.writerMayRun) }
        var referencing: [Ballot] = []
        for view in drives {
            switch view {
            case .silent: return .keep(.driveSilent)
            case .accepted(let value?) where value.value.dataRef == dataRef: referencing.append(value.ballot)
            case .accepted: break
            }
        }
        let chosenBallot = chosen?.ballot ?? .zero
        guard rules.collectByReference else {
            // The first draft's rule: superseded once a higher ballot is chosen, whatever
            // that value references (F6: it deletes data a write-back or an identity accept
            // made current again).
            guard let oldest = referencing.min() else { return chosen == nil ? .keep(.noHigherBallotChosen) : .collect }
            return chosenBallot > oldest ? .collect : .keep(.noHigherBallotChosen)
        }
        if let chosen, chosen.value.dataRef == dataRef { return .keep(.chosenValueReferencesIt) }
        if let highest = referencing.max(), highest >= chosenBallot {
            return .keep(.acceptedAtOrAboveChosen)
        }
        return .collect
    }
}
