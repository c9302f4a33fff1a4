import CStowageISAL

/// Reed-Solomon erasure coding over GF(2⁸) with ISA-L: `dataShards` (k) blocks of equal length
/// give `parityShards` (m) parity blocks, and any k of the k+m blocks give back the rest.
///
/// The code is systematic (data blocks are stored as they are) and uses ISA-L's Cauchy matrix,
/// every k×k submatrix of which is invertible, so any k surviving blocks reconstruct. Pure:
/// no I/O, no threads; callers run it off the event loops (see `Offload`).
///
/// ```swift
/// let code = try ReedSolomon(dataShards: 4, parityShards: 2)
/// let parity = code.encode(data)                       // 4 blocks in, 2 parity blocks out
/// let whole = try code.reconstruct([nil, data[1], data[2], nil, parity[0], parity[1]])
/// ```
public struct ReedSolomon: Sendable, Equatable {
    /// The most blocks a stripe may have (the cluster's limit, well inside GF(2⁸)'s).
    public static let maxShards = 16

    public let dataShards: Int
    public let parityShards: Int
    /// (k+m)×k, row-major: the identity on top, Cauchy rows for the parity below.
    let matrix: [UInt8]
    /// ISA-L's expanded tables for the parity rows.
    let parityTables: [UInt8]

    public var totalShards: Int { dataShards + parityShards }

    public init(dataShards: Int, parityShards: Int) throws(ErasureError) {
        guard dataShards >= 1, parityShards >= 0, dataShards + parityShards <= Self.maxShards else {
            throw .invalidGeometry("k=\(dataShards), m=\(parityShards): need k ≥ 1, m ≥ 0 and k+m ≤ \(Self.maxShards)")
        }
        self.dataShards = dataShards
        self.parityShards = parityShards
        var matrix = [UInt8](repeating: 0, count: (dataShards + parityShards) * dataShards)
        gf_gen_cauchy1_matrix(&matrix, Int32(dataShards + parityShards), Int32(dataShards))
        self.matrix = matrix
        self.parityTables = Self.tables(rows: Array(matrix[(dataShards * dataShards)...]), columns: dataShards)
    }

    public static func == (lhs: ReedSolomon, rhs: ReedSolomon) -> Bool {
        lhs.dataShards == rhs.dataShards && lhs.parityShards == rhs.parityShards
    }

    /// The m parity blocks of k data blocks, all `data[0].count` bytes long.
    public func encode(_ data: [[UInt8]]) -> [[UInt8]] {
        precondition(data.count == dataShards, "encode takes exactly k data blocks")
        let length = data.first?.count ?? 0
        precondition(data.allSatisfy { $0.count == length }, "data blocks must have equal length")
        return apply(tables: parityTables, rows: parityShards, to: data, length: length)
    }

    /// All k+m blocks from any k of them (`nil` marks a missing block); the blocks given come
    /// back unchanged. Throws when fewer than k are given.
    public func reconstruct(_ blocks: [[UInt8]?]) throws(ErasureError) -> [[UInt8]] {
        try reconstruct(blocks, wanting: Array(0..<totalShards))
    }

    /// The blocks at `wanted` indexes (data or parity) from any k given blocks. A read that
    /// needs only data asks for `0..<k`; a heal asks for the missing ones.
    public func reconstruct(_ blocks: [[UInt8]?], wanting wanted: [Int]) throws(ErasureError) -> [[UInt8]] {
        guard blocks.count == totalShards else {
            throw .invalidGeometry("\(blocks.count) blocks given for a \(dataShards)+\(parityShards) stripe")
        }
        let present = blocks.indices.filter { blocks[$0] != nil }
        guard present.count >= dataShards else {
            throw .tooFewShards(available: present.count, needed: dataShards)
        }
        let sources = Array(present.prefix(dataShards))
        let length = blocks[sources[0]]!.count
        guard sources.allSatisfy({ blocks[$0]!.count == length }) else {
            throw .invalidGeometry("blocks of one stripe differ in length")
        }
        let missing = wanted.filter { blocks[$0] == nil }
        var rebuilt: [Int: [UInt8]] = [:]
        if !missing.isEmpty {
            let decode = try decodeRows(sources: sources, for: missing)
            let outputs = apply(tables: Self.tables(rows: decode, columns: dataShards), rows: missing.count,
                                to: sources.map { blocks[$0]! }, length: length)
            for (index, block) in zip(missing, outputs) { rebuilt[index] = block }
        }
        return wanted.map { blocks[$0] ?? rebuilt[$0]! }
    }

    /// Parity in place, for callers that hold blocks in their own buffers: k data blocks in,
    /// m parity blocks written, each `length` bytes.
    public func encode(data: [UnsafeRawPointer], parity: [UnsafeMutableRawPointer], length: Int) {
        precondition(data.count == dataShards && parity.count == parityShards)
        guard parityShards > 0, length > 0 else { return }
        var tables = parityTables
        var inputs: [UnsafeMutablePointer<UInt8>?] = data.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: UInt8.self)) }
        var outputs: [UnsafeMutablePointer<UInt8>?] = parity.map { $0.assumingMemoryBound(to: UInt8.self) }
        ec_encode_data(Int32(length), Int32(dataShards), Int32(parityShards), &tables, &inputs, &outputs)
    }

    /// Rebuilds blocks in place, for callers that hold blocks in their own buffers: `sources`
    /// are k intact blocks (index and bytes), `missing` the blocks to write (index and
    /// destination), each `length` bytes.
    public func reconstruct(
        sources: [(index: Int, bytes: UnsafeRawPointer)], into missing: [(index: Int, bytes: UnsafeMutableRawPointer)], length: Int
    ) throws(ErasureError) {
        guard sources.count == dataShards else { throw .tooFewShards(available: sources.count, needed: dataShards) }
        guard !missing.isEmpty, length > 0 else { return }
        let rows = try decodeRows(sources: sources.map(\.index), for: missing.map(\.index))
        var tables = Self.tables(rows: rows, columns: dataShards)
        var inputs: [UnsafeMutablePointer<UInt8>?] = sources.map { UnsafeMutablePointer(mutating: $0.bytes.assumingMemoryBound(to: UInt8.self)) }
        var outputs: [UnsafeMutablePointer<UInt8>?] = missing.map { $0.bytes.assumingMemoryBound(to: UInt8.self) }
        ec_encode_data(Int32(length), Int32(dataShards), Int32(missing.count), &tables, &inputs, &outputs)
    }

    /// Rows that turn the `sources` blocks into the `missing` ones: the inverse of the sources'
    /// rows of the matrix gives the data; a parity row times that inverse gives the parity.
    func decodeRows(sources: [Int], for missing: [Int]) throws(ErasureError) -> [UInt8] {
        let k = dataShards
        var submatrix = [UInt8](repeating: 0, count: k * k)
        for (row, source) in sources.enumerated() {
            for column in 0..<k { submatrix[row * k + column] = matrix[source * k + column] }
        }
        var inverse = [UInt8](repeating: 0, count: k * k)
        guard gf_invert_matrix(&submatrix, &inverse, Int32(k)) == 0 else {
            throw .invalidGeometry("the surviving blocks' rows are singular")
        }
        var rows = [UInt8](repeating: 0, count: missing.count * k)
        for (output, index) in missing.enumerated() {
            for column in 0..<k {
                var sum: UInt8 = 0
                for j in 0..<k { sum ^= GF256.multiply(matrix[index * k + j], inverse[j * k + column]) }
                rows[output * k + column] = sum
            }
        }
        return rows
    }

    static func tables(rows: [UInt8], columns: Int) -> [UInt8] {
        let count = rows.count / max(columns, 1)
        var tables = [UInt8](repeating: 0, count: 32 * columns * max(count, 1))
        guard count > 0 else { return tables }
        var coefficients = rows
        ec_init_tables(Int32(columns), Int32(count), &coefficients, &tables)
        return tables
    }

    /// `rows` outputs of `length` bytes, each a GF(2⁸) combination of the inputs.
    func apply(tables: [UInt8], rows: Int, to inputs: [[UInt8]], length: Int) -> [[UInt8]] {
        guard rows > 0, length > 0 else { return [[UInt8]](repeating: [UInt8](repeating: 0, count: length), count: rows) }
        let outputs = (0..<rows).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: length) }
        defer { outputs.forEach { $0.deallocate() } }
        var destinations: [UnsafeMutablePointer<UInt8>?] = outputs
        var tables = tables
        withPointers(inputs[...], collected: []) { sources in
            ec_encode_data(Int32(length), Int32(inputs.count), Int32(rows), &tables, sources, &destinations)
        }
        return outputs.map { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }
}

/// Why a stripe cannot be coded.
public enum ErasureError: Error, Equatable, CustomStringConvertible {
    case invalidGeometry(String)
    case tooFewShards(available: Int, needed: Int)
    /// A block failed its CRC32C.
    case corruptBlock(index: Int)

    public var description: String {
        switch self {
        case .invalidGeometry(let reason): "invalid erasure geometry: \(reason)"
        case .tooFewShards(let available, let needed): "\(available) shards available, \(needed) needed"
        case .corruptBlock(let index): "block \(index) failed its CRC32C"
        }
    }
}

/// Calls `body` with pointers to every array's storage at once (ISA-L takes an array of them);
/// they are valid only during the call.
private func withPointers<R>(_ arrays: ArraySlice<[UInt8]>, collected: [UnsafeMutablePointer<UInt8>?],
                             _ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> R) -> R {
    guard let first = arrays.first else {
        var pointers = collected
        return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
    return first.withUnsafeBufferPointer { buffer in
        withPointers(arrays.dropFirst(), collected: collected + [UnsafeMutablePointer(mutating: buffer.baseAddress)], body)
    }
}

/// Multiplication in GF(2⁸) with ISA-L's polynomial (x⁸+x⁴+x³+x²+1, 0x11D), in Swift. Not
/// ISA-L's `gf_mul`: a release build links OpenSSL's libcrypto statically, and its curve448
/// code exports a `gf_mul` of its own that a call by that name would reach instead.
enum GF256 {
    private static let tables: (log: [UInt8], exp: [UInt8]) = {
        var log = [UInt8](repeating: 0, count: 256)
        var exp = [UInt8](repeating: 0, count: 510)
        var x: UInt16 = 1
        for i in 0..<255 {
            exp[i] = UInt8(x)
            exp[i + 255] = UInt8(x)
            log[Int(x)] = UInt8(i)
            x <<= 1
            if x & 0x100 != 0 { x ^= 0x11D }
        }
        return (log, exp)
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        guard a != 0, b != 0 else { return 0 }
        return tables.exp[Int(tables.log[Int(a)]) + Int(tables.log[Int(b)])]
    }
}
