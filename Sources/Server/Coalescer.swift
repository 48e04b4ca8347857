import Columns
import NIOPosix
import Operations
import Synchronization

/// Coalesces concurrent requests of one transformation and operation into one engine batch.
///
/// A request's values are queued; at most `maxRunners` runners per transformation and operation
/// (the pool's size) take everything queued, up to `maxValues`, run it through the vectorized
/// transform as one batch and hand each request its slice. There is no waiting window: a request
/// only joins others when the runners are all busy, that is when it would have waited for a
/// pool thread anyway, so coalescing adds no latency of its own. It pays where the per-batch cost
/// is high: with `custody: hsm` each FF1 round of a batch is one `C_Encrypt`, whatever its size.
final class Coalescer: Sendable {
    /// Gets the request's result on the runner's thread, and how many requests shared its batch.
    typealias Completion = @Sendable (Result<OnlineResult, any Error>) -> Void

    struct Entry: Sendable {
        var values: ByteColumn
        var completion: Completion
    }

    struct Key: Hashable, Sendable {
        var transformation: String
        var operation: OnlineOperation
    }

    struct Queue: Sendable {
        var entries: [Entry] = []
        var running = 0
    }

    /// Requests are joined while their batch stays within this many values (one request larger
    /// than that runs alone): small requests gain most, and a large request does not wait
    /// behind a batch many times its size.
    static let batchValues = 1024

    let session: OnlineSession
    let pool: NIOThreadPool
    let maxRunners: Int
    let maxValues: Int
    /// Called once per engine batch: operation, transformation, values, requests in it.
    let onBatch: @Sendable (OnlineOperation, String, Int, Int) -> Void
    private let queues = Mutex<[Key: Queue]>([:])

    init(
        session: OnlineSession, pool: NIOThreadPool, maxRunners: Int, maxValues: Int,
        onBatch: @escaping @Sendable (OnlineOperation, String, Int, Int) -> Void
    ) {
        self.session = session
        self.pool = pool
        self.maxRunners = max(1, maxRunners)
        self.maxValues = max(1, maxValues)
        self.onBatch = onBatch
    }

    /// Queues `values`; `completion` runs on a pool thread with this request's result.
    func submit(_ operation: OnlineOperation, transformation: String, values: ByteColumn, completion: @escaping Completion) {
        let key = Key(transformation: transformation, operation: operation)
        let start = queues.withLock { q -> Bool in
            var e = q[key] ?? Queue()
            e.entries.append(Entry(values: values, completion: completion))
            let start = e.running < maxRunners
            if start { e.running += 1 }
            q[key] = e
            return start
        }
        guard start else { return }
        pool.submit { state in self.drain(key, active: state == .active) }
    }

    /// A runner: batches of what is queued until the queue is empty.
    private func drain(_ key: Key, active: Bool) {
        while true {
            let batch = queues.withLock { q -> [Entry] in
                guard var e = q[key] else { return [] }
                guard !e.entries.isEmpty else {
                    e.running -= 1
                    q[key] = e
                    return []
                }
                var n = 0
                var values = 0
                while n < e.entries.count, n == 0 || values + e.entries[n].values.count <= maxValues {
                    values += e.entries[n].values.count
                    n += 1
                }
                let taken = Array(e.entries.prefix(n))
                e.entries.removeFirst(n)
                q[key] = e
                return taken
            }
            if batch.isEmpty { return }
            guard active else {
                for b in batch { b.completion(.failure(ServerError(.shuttingDown, "server is shutting down"))) }
                continue
            }
            run(key, batch)
        }
    }

    private func run(_ key: Key, _ batch: [Entry]) {
        if batch.count == 1 {
            let r = Result { try session.run(key.operation, transformation: key.transformation, values: batch[0].values) }
            onBatch(key.operation, key.transformation, batch[0].values.count, 1)
            batch[0].completion(r)
            return
        }
        var total = 0
        var bytes = 0
        for b in batch {
            total += b.values.count
            bytes += b.values.bytes.count
        }
        var all = ByteColumn(reservingValues: total, bytes: bytes)
        for b in batch {
            let base = all.bytes.count
            all.bytes.append(contentsOf: b.values.bytes)
            for o in b.values.offsets.dropFirst() { all.offsets.append(base + o) }
        }
        let result: OnlineResult
        do {
            result = try session.run(key.operation, transformation: key.transformation, values: all)
        } catch {
            for b in batch { b.completion(.failure(error)) }
            return
        }
        onBatch(key.operation, key.transformation, total, batch.count)
        var start = 0
        for b in batch {
            let n = b.values.count
            let base = result.output.offsets[start]
            var out = ByteColumn()
            out.bytes = Array(result.output.bytes[base..<result.output.offsets[start + n]])
            out.offsets = result.output.offsets[start...(start + n)].map { $0 - base }
            var rejects: [Int: String] = [:]
            if !result.rejects.isEmpty {
                for k in 0..<n { if let why = result.rejects[start + k] { rejects[k] = why } }
            }
            b.completion(.success(OnlineResult(output: out, rejects: rejects, key: result.key)))
            start += n
        }
    }
}
