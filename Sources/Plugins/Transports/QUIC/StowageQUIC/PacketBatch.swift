/// Packets written back to back in one buffer, sent in runs: a run starts with a full-size
/// packet and takes packets of that size, the last possibly shorter, at most 44 (under
/// 64 KiB): the kernel splits it (UDP GSO). A packet that cannot start a run goes alone.
struct PacketBatch {
    let segmentation: Bool
    var start = 0
    var end = 0
    var segment = 0
    var count = 0

    /// Adds a packet of `size` written at `end` (`full`: the largest size a packet has);
    /// true when the run must be sent now.
    mutating func add(_ size: Int, full: Int) -> Bool {
        end += size
        count += 1
        guard segmentation else { return true }
        if count == 1 {
            segment = size
            return size < full
        }
        return size < segment || count == 44
    }

    mutating func sent() {
        start = end
        count = 0
        segment = 0
    }
}
