/// SplitMix64: a tiny seeded generator, so a simulation seed replays bit for bit on every
/// platform (the standard library's generator is not seedable).
struct SimRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) * 0x1p-53 < p }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func int(_ range: Range<Int>) -> Int { int(range.lowerBound...(range.upperBound - 1)) }
}

/// Events ordered by time, then by insertion, so equal times replay in the same order. The
/// heap holds plain integer keys; events sit in a side table (fast in debug builds too).
struct SimEventQueue<Event> {
    private struct Key {
        var time: Int
        var seq: Int
        var slot: Int

        func before(_ other: Key) -> Bool { time != other.time ? time < other.time : seq < other.seq }
    }

    private var heap: [Key] = []
    private var storage: [Event?] = []
    private var free: [Int] = []
    private var nextSeq = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func schedule(_ event: Event, at time: Int) {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            storage[slot] = event
        } else {
            slot = storage.count
            storage.append(event)
        }
        heap.append(Key(time: time, seq: nextSeq, slot: slot))
        nextSeq += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].before(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: Int, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].before(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].before(heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        let event = storage[top.slot]!
        storage[top.slot] = nil
        free.append(top.slot)
        return (top.time, event)
    }
}
