/// Packets written back to back in one buffer, grouped into runs the kernel splits again (UDP
/// GSO): a run is packets of one size, the last possibly shorter, under 64 KiB and at most
/// 64 segments. Without segmentation every packet is its own run.
///
/// The caller writes each packet at ``end``, then calls ``add(_:)``; a run that is complete
/// comes back to be sent at once (its bytes may be overwritten after). A packet larger than
/// the run's size cannot join it: the run goes, and the packet starts the next.
///
/// ```swift
/// var batch = PacketBatch(segmentation: true, capacity: buffer.count)
/// // write a packet of `size` bytes at batch.end, then:
/// if let run = batch.add(size) { send(buffer[run.bytes], segment: run.segment) }
/// if let run = batch.finish() { send(buffer[run.bytes], segment: run.segment) }
/// ```
struct PacketBatch {
    /// Bytes of the buffer to send as one datagram; `segment` is the size of each packet in it
    /// when there are several.
    struct Run: Equatable {
        let bytes: Range<Int>
        let segment: Int?
    }

    /// The kernel's limits for one GSO send: a UDP datagram's length (less headers) and
    /// UDP_MAX_SEGMENTS.
    static let maxRunBytes = 65_000
    static let maxSegments = 64

    let segmentation: Bool
    /// Where the next packet is written.
    private(set) var end = 0
    private var start = 0
    private var segment = 0
    private var count = 0

    init(segmentation: Bool) {
        self.segmentation = segmentation
    }

    /// Whether a packet of up to `size` bytes fits at ``end`` in a buffer of `capacity` bytes
    /// without overwriting the run in progress (if not, ``finish()`` it first).
    func fits(_ size: Int, capacity: Int) -> Bool {
        end + size <= capacity
    }

    /// Records the packet of `size` bytes just written at ``end``; returns the run to send now,
    /// if one is complete.
    mutating func add(_ size: Int) -> Run? {
        guard segmentation else {
            let run = Run(bytes: end..<end + size, segment: nil)
            end += size
            return settle(run)
        }
        if count > 0, size > segment || (end - start) + size > Self.maxRunBytes {
            // It cannot join: the run so far goes, and this packet starts the next one, in place.
            let run = Run(bytes: start..<end, segment: count > 1 ? segment : nil)
            start = end
            end += size
            count = 1
            segment = size
            return run
        }
        end += size
        count += 1
        if count == 1 { segment = size }
        if size < segment || count == Self.maxSegments || (end - start) + segment > Self.maxRunBytes {
            return settle(Run(bytes: start..<end, segment: count > 1 ? segment : nil))
        }
        return nil
    }

    /// The run in progress, if any, to send now; the buffer is free again after it.
    mutating func finish() -> Run? {
        guard end > start else {
            start = 0
            end = 0
            return nil
        }
        return settle(Run(bytes: start..<end, segment: count > 1 ? segment : nil))
    }

    /// Nothing is pending after `run` goes: the next packet may start at the buffer's beginning.
    private mutating func settle(_ run: Run) -> Run {
        start = 0
        end = 0
        count = 0
        segment = 0
        return run
    }
}
