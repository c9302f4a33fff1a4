import Foundation
import Logging
import Stowage
import StowageCore
import Synchronization

/// `stowage --management`: the server driven by another program over newline-delimited JSON on
/// standard input and output (the protocol smartstorage's TypeScript wrapper speaks).
///
/// Requests: `{"id": …, "method": "start" | "stop" | "createBucket" | "clusterStatus", "params": {…}}`;
/// `start` takes the configuration (the JSON file's structure) as `params`, `createBucket` takes
/// `{"name": …}`. Responses: `{"id": …, "success": true, "result": …}` or
/// `{"id": …, "success": false, "error": "…"}`. Once the server listens, an unsolicited
/// `{"event": "ready", "port": …, "endpoint": …}` follows. A malformed line is answered with an
/// error and the session goes on; end of input (or SIGINT/SIGTERM) stops the server and exits 0.
/// Standard output carries only protocol lines; logs go to standard error.
final class ManagementSession: Sendable {
    private let server = Mutex<Stowage?>(nil)
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func run() async {
        OpenFileLimit.raiseToHardLimit()
        let (lines, credits) = Self.standardInputLines()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await piece in lines {
                    credits.signal()
                    switch piece {
                    case .line(let line): await self.handle(line)
                    case .tooLong: self.reply(id: NSNull(), error: "malformed request: a line longer than \(Self.lineLimit) bytes")
                    }
                }
            }
            group.addTask {
                _ = await TerminationSignal.shared.wait()
            }
            // Whichever ends first, end of input or a signal, ends the session.
            await group.next()
            group.cancelAll()
        }
        await stop()
    }

    // MARK: Requests

    private func handle(_ line: String) async {
        let trimmed = line.trimmingSpaces()
        if trimmed.isEmpty { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed]),
              let request = object as? [String: Any]
        else {
            return reply(id: NSNull(), error: "malformed request: not a JSON object")
        }
        let id = request["id"] ?? NSNull()
        guard let method = request["method"] as? String else {
            return reply(id: id, error: "malformed request: missing \"method\"")
        }
        let params: [String: Any]
        switch request["params"] {
        case nil, is NSNull: params = [:]
        case let object as [String: Any]: params = object
        default: return reply(id: id, error: "malformed request: \"params\" must be an object")
        }
        do {
            let result: Any
            switch method {
            case "start": result = try await start(params)
            case "stop": result = ["stopped": await stop()]
            case "createBucket": result = try await createBucket(params)
            case "clusterStatus": result = await clusterStatus()
            default: throw ManagementError("unknown method \"\(method)\" (known: start, stop, createBucket, clusterStatus)")
            }
            reply(id: id, result: result)
        } catch let error as ConfigurationError {
            reply(id: id, error: error.description)
        } catch let error as ManagementError {
            reply(id: id, error: error.message)
        } catch let error as S3Error {
            reply(id: id, error: "\(error.code.name): \(error.message)")
        } catch {
            reply(id: id, error: "\(error)")
        }
    }

    private func start(_ params: [String: Any]) async throws -> Any {
        if server.withLock({ $0 != nil }) { throw ManagementError("already running; send stop first") }
        let data = try JSONSerialization.data(withJSONObject: params)
        let configuration = try StowageConfiguration.load(json: String(decoding: data, as: UTF8.self), source: "start params")
        try configuration.validate()
        let started = try await Stowage.createAndStart(configuration, logger: logger)
        let alreadyRunning = server.withLock { current -> Bool in
            if current != nil { return true }
            current = started
            return false
        }
        if alreadyRunning {
            try? await started.stop()
            throw ManagementError("already running; send stop first")
        }
        let descriptor = started.storageDescriptor()
        let endpoint = "\(started.scheme)://\(configuration.server.address == "0.0.0.0" ? "127.0.0.1" : configuration.server.address):\(started.port)"
        let result: [String: Any] = [
            "port": started.port, "endpoint": endpoint, "accessKey": descriptor.accessKey,
            "accessSecret": descriptor.accessSecret, "useSsl": descriptor.useSsl, "region": configuration.server.region,
        ]
        emit(["event": "ready", "port": started.port, "endpoint": endpoint])
        return result
    }

    /// Stops the server if one runs; `true` when one was stopped.
    @discardableResult
    private func stop() async -> Bool {
        guard let running = server.withLock({ current -> Stowage? in
            defer { current = nil }
            return current
        }) else { return false }
        do {
            try await running.stop()
        } catch {
            logger.error("stop failed", metadata: ["error": "\(error)"])
        }
        return true
    }

    private func createBucket(_ params: [String: Any]) async throws -> Any {
        guard let name = (params["name"] ?? params["bucketName"]) as? String else {
            throw ManagementError("createBucket needs params {\"name\": \"…\"}")
        }
        guard let running = server.withLock({ $0 }) else { throw ManagementError("not running; send start first") }
        let info = try await running.createBucket(name)
        return ["name": info.name, "region": info.region]
    }

    /// The server's mode and its backend's health: the overall status and a line per
    /// component; for a cluster also its nodes, drives (state, free space, errors, latency)
    /// and erasure sets.
    private func clusterStatus() async -> Any {
        let running = server.withLock { $0 }
        var status: [String: Any] = [
            "mode": "standalone", "running": running != nil,
            "backend": running?.configuration.storage.backend ?? NSNull(),
            "nodes": [] as [Any],
        ]
        if let running {
            let health = await running.backend.health()
            status["health"] = [
                "status": health.status.rawValue,
                "components": health.components.map { component -> [String: Any] in
                    ["name": component.name, "status": component.status.rawValue, "detail": component.detail ?? NSNull()]
                },
            ] as [String: Any]
            if let cluster = running.backend as? any ClusterStatusSource {
                let report = await cluster.clusterStatus()
                status["mode"] = "cluster"
                status["backend"] = "cluster"
                if let data = try? JSONEncoder().encode(report),
                   let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                    status["nodes"] = object["nodes"] ?? []
                    status["drives"] = object["drives"] ?? []
                    status["sets"] = object["sets"] ?? []
                }
            }
        }
        return status
    }

    // MARK: Output

    private func reply(id: Any, result: Any) {
        emit(["id": id, "success": true, "result": result])
    }

    private func reply(id: Any, error: String) {
        emit(["id": id, "success": false, "error": error])
    }

    /// One JSON object per line on standard output, written whole.
    private func emit(_ object: [String: Any]) {
        // An id JSON cannot write back (a number too large for a double) must not leave the
        // client waiting: answer with a null id instead.
        let encoded = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? (try? JSONSerialization.data(withJSONObject: ["id": NSNull(), "success": false, "error": "the response could not be encoded (unrepresentable id?)"], options: [.sortedKeys]))
        guard var data = encoded else { return }
        data.append(0x0A)
        outputLock.withLock { _ in data.withUnsafeBytes { StandardStreams.write($0, to: .output) } }
    }
    private let outputLock = Mutex(())

    /// Requests are configurations and bucket names: a megabyte is far more than any needs.
    static let lineLimit = 1 << 20

    /// Lines read ahead of the one being handled: beyond these the reader stops reading, and a
    /// program writing faster than requests are handled blocks on its pipe instead of growing
    /// our memory.
    static let readAhead = 64

    /// Standard input, line by line, read on a thread of its own (reads block). The reader takes
    /// a credit per line and the consumer returns it as it takes the line.
    private static func standardInputLines() -> (AsyncStream<LineSplitter.Piece>, DispatchSemaphore) {
        let (stream, continuation) = AsyncStream.makeStream(of: LineSplitter.Piece.self)
        let credits = DispatchSemaphore(value: readAhead)
        @Sendable func hand(_ piece: LineSplitter.Piece) {
            credits.wait()
            continuation.yield(piece)
        }
        let thread = Thread {
            var splitter = LineSplitter(limit: lineLimit)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                for piece in splitter.feed(buffer[..<count]) { hand(piece) }
            }
            for piece in splitter.finish() { hand(piece) }
            continuation.finish()
        }
        thread.name = "stowage-management-stdin"
        thread.start()
        return (stream, credits)
    }
}

struct ManagementError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
