import Testing
@testable import StowageCluster

@Suite struct InlinePrefetchTests {
    private func key(_ n: Int) -> InlinePrefetch.Key { .init(dataRef: withUnsafeBytes(of: n) { Array($0) }, part: 1, slot: n % 6) }

    @Test func takenEntriesDoNotAccumulate() {
        let prefetch = InlinePrefetch(capacity: 64 << 10)
        for n in 0..<20_000 {
            prefetch.put(key(n), [1, 2, 3])
            #expect(prefetch.take(key(n)) == [1, 2, 3])
        }
        #expect(prefetch.count.entries == 0)
        #expect(prefetch.count.order <= 64)
    }

    @Test func untakenEntriesAreBoundedAndEmptyShardsSkipped() {
        let prefetch = InlinePrefetch(capacity: 64 << 10)
        for n in 0..<20_000 { prefetch.put(key(n), [UInt8](repeating: 7, count: 1_000)) }
        #expect(prefetch.count.entries <= 64)
        #expect(prefetch.count.order <= 3 * 64 + 64)
        prefetch.put(key(99_999), [])
        #expect(prefetch.take(key(99_999)) == nil)
        // The newest survive eviction, the oldest are gone.
        #expect(prefetch.take(key(19_999)) != nil)
        #expect(prefetch.take(key(0)) == nil)
    }
}
