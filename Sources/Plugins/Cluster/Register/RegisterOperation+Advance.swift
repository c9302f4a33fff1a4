/// How each phase of a ``RegisterOperation`` decides once answers arrive.
extension RegisterOperation {
    mutating func advance() -> [Action] {
        switch phase {
        case .reading(let tally): return advanceRead(tally)
        case .preparing(let purpose, let tally): return advancePrepare(purpose, tally)
        case .accepting(let purpose, let value, let tally): return advanceAccept(purpose, value, tally)
        default: return []
        }
    }

    /// Read rule: with R answers, serve the newest value if it is known chosen; otherwise
    /// wait for the rest (or the grace) and write back.
    private mutating func advanceRead(_ tally: RoundTally) -> [Action] {
        let states = tally.states
        if states.count >= readQuorum {
            let newest = RoundTally.newest(of: states, quorum: quorum)
            guard let value = newest.value else { return finish(.found(nil)) }
            if newest.knownChosen || !rules.readServesOnlyChosen { return finish(.found(value)) }
            guard tally.complete else { return [] }
            return askForBallot(.prepare(.writeBack), above: value.ballot, backoff: false)
        }
        guard tally.complete else { return [] }
        return retryOrFinish(.unavailable("a read quorum of drives did not answer")) { op in op.sendRead() }
    }

    private mutating func advancePrepare(_ purpose: PreparePurpose, _ tally: RoundTally) -> [Action] {
        let promises = tally.promises
        guard promises.count >= quorum else {
            guard tally.complete else { return [] }
            // A prepare changes no value: trying again under a higher ballot is always safe.
            let giveUp: Outcome = purpose == .recovery
                ? .outcomeUnknown("outcome unknown: no quorum to recover the write; retry")
                : .unavailable("no quorum of drives promised")
            let above = tally.highestRefusal
            return retryOrFinish(giveUp) { op in op.askForBallot(.prepare(purpose), above: above, backoff: true) }
        }
        let newest = RoundTally.newest(of: promises, quorum: quorum)
        if rules.proposeAboveAccepted, let value = newest.value, value.ballot >= ballot {
            // Cannot happen with correct acceptors (a promise is given only above every
            // accepted ballot); never propose below an accepted ballot regardless.
            return askForBallot(.prepare(purpose), above: value.ballot, backoff: false)
        }
        switch purpose {
        case .conditional:
            phase = .evaluating(current: newest.value, knownChosen: newest.knownChosen)
            return [.evaluate(current: newest.value)]
        case .recovery:
            guard let value = newest.value, value.value.writeID == proposal?.writeID else {
                return finish(.outcomeUnknown("outcome unknown: another write overtook this one; retry"))
            }
            return sendAccept(.recovery, value.value, carriesData: false)
        case .writeBack:
            guard let value = newest.value else { return finish(.found(nil)) }
            if newest.knownChosen { return finish(.found(value)) }
            return sendAccept(.writeBack, value.value, carriesData: false)
        }
    }

    private mutating func advanceAccept(_ purpose: AcceptPurpose, _ value: RegisterValue, _ tally: RoundTally) -> [Action] {
        // Recovery re-accepts this write's own value: it needs W_data holders like the first
        // accept (F8); the drives report whether they hold the data.
        let neededData = purpose == .newValue || purpose == .recovery ? dataQuorum : 0
        if tally.acceptingVoters >= quorum && tally.acceptingDataHolders >= neededData {
            let accepted = AcceptedValue(ballot: ballot, value: value)
            let learn = Action.send(round: nil, request: .learn(ballot, value.writeID))
            phase = .done
            switch purpose {
            case .newValue, .recovery: return [learn, .finish(.written(accepted))]
            case .identity: return [learn, .finish(.preconditionFailed(accepted))]
            case .writeBack: return [learn, .finish(.found(accepted))]
            }
        }
        guard tally.complete else { return [] }
        let above = tally.highestRefusal
        switch purpose {
        case .newValue:
            let restart: Pending = kind == .conditionalWrite ? .prepare(.conditional) : .blindAccept
            if !tally.allDefiniteNoEffect { mayHaveTakenEffect = true }
            if tally.allDefiniteNoEffect || !rules.noRetryAfterSideEffects {
                // F1: only when every drive refused is it certain nothing was applied.
                return retryOrFinish(.unavailable("no quorum of drives accepted the write")) { op in
                    op.askForBallot(restart, above: above, backoff: true)
                }
            }
            // The write may have taken effect: it is never proposed again under a new ballot
            // except by recovery, which finds it as the newest value.
            return askForBallot(.prepare(.recovery), above: above, backoff: false)
        case .recovery:
            return retryOrFinish(.outcomeUnknown("outcome unknown: the write could not be confirmed; retry")) { op in
                op.askForBallot(.prepare(.recovery), above: above, backoff: true)
            }
        case .identity:
            // The identity write proposes no new value, so starting over is safe.
            return retryOrFinish(.unavailable("no quorum of drives to confirm the current value")) { op in
                op.askForBallot(.prepare(.conditional), above: above, backoff: true)
            }
        case .writeBack:
            return retryOrFinish(.unavailable("no quorum of drives to confirm the current value")) { op in
                op.askForBallot(.prepare(.writeBack), above: above, backoff: true)
            }
        }
    }

    private mutating func retryOrFinish(_ giveUp: Outcome, _ retry: (inout RegisterOperation) -> [Action]) -> [Action] {
        attemptsLeft -= 1
        guard attemptsLeft > 0 else { return finish(giveUp) }
        return retry(&self)
    }
}
