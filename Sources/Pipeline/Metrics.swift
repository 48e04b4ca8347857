import Foundation

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), in seconds.
public func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Monotonic wall-clock seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// What one stage did: CPU time spent in its own work (not waiting on queues), batches, rows, bytes.
public struct StageMetrics: Sendable, Codable, Equatable {
    public var name: String
    public var cpuSeconds: Double = 0
    public var batches: Int = 0
    public var rows: Int = 0
    public var bytes: Int = 0

    public init(name: String) { self.name = name }

    mutating func add(_ other: StageMetrics) {
        cpuSeconds += other.cpuSeconds
        batches += other.batches
        rows += other.rows
        bytes += other.bytes
    }
}
