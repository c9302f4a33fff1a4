public import StowageCore
import StowageLocalFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileStoreBackend {
    /// `index`: unavailable until opened. `disk`: degraded when less than 1% (at least the space
    /// reserve's size) is free, or while the disk is too full to hold the space reserve (writes
    /// that take space wait for deletes); the free space is in the detail.
    public func health() async -> BackendHealth {
        guard let (statted, stats) = withOpenRoot({ rootFD -> (Bool, statvfs) in
            var stats = statvfs()
            return (fstatvfs(rootFD, &stats) == 0, stats)
        }) else {
            return BackendHealth(components: [.init(name: "index", status: .unavailable, detail: "storage is not open")])
        }
        var disk = BackendHealth.Component(name: "disk", status: .ok)
        if statted {
            let free = Int64(stats.f_bavail) * Int64(stats.f_frsize)
            let capacity = Int64(stats.f_blocks) * Int64(stats.f_frsize)
            disk.detail = "\(free / (1024 * 1024)) MiB free of \(capacity / (1024 * 1024)) MiB"
            // Nearly full: writes are about to fail, and whoever watches should know first.
            if free < max(reserve.size, capacity / 100) {
                disk.status = .degraded
                disk.detail = "low on space: " + (disk.detail ?? "")
            }
        }
        if reserve.isMissingForLackOfRoom {
            disk.status = .degraded
            disk.detail = "the disk is full; writes wait for deletes to free space" + (disk.detail.map { " (\($0))" } ?? "")
        }
        return BackendHealth(components: [.init(name: "index", status: .ok), disk])
    }
}
