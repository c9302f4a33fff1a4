import NIOCore

/// Runs a request's task on the event loop of its connection.
///
/// Without it, every request crosses threads twice (event loop → cooperative pool → event loop),
/// which on a small machine costs more than the request's own work. With it, a request that
/// never blocks stays on one thread from socket to socket. Work that may block for long (multi-GiB
/// copies, fsync) leaves the loop explicitly (see `FileStoreBackend.offload`).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
