import Foundation
import Synchronization
public import SystemIO

/// Runs reader → N transform workers → writer as concurrent threads joined by bounded queues,
/// keeping batch order, and measures each stage's CPU time.
///
/// - The reader closure returns the next batch or nil at the end.
/// - `makeWorker` is called once per worker thread, so each worker owns its transform state
///   (FPE scratch buffers, cipher contexts, an HSM session at a time).
/// - The writer closure is called in input order.
/// Memory is bounded by `2 × queueDepth + workers` batches in flight (a gate makes the reader wait
/// while that many are unwritten, so a slow batch cannot make the reorder buffer grow). The first error in any stage cancels
/// the others and is rethrown; nothing further is written after it.
public enum Pipeline {
    public struct Result: Sendable {
        public var reader: StageMetrics
        public var transform: StageMetrics
        public var writer: StageMetrics
        public var wallSeconds: Double
    }

    /// Per-batch accounting a stage reports back: rows and bytes it handled.
    public typealias Count = (rows: Int, bytes: Int)

    public static func run<Batch: Sendable>(
        workers: Int = 1,
        queueDepth: Int = 4,
        read: @escaping @Sendable () throws -> (Batch, Count)?,
        makeWorker: @escaping @Sendable () throws -> (@Sendable (Batch) throws -> (Batch, Count)),
        write: @escaping @Sendable (Batch) throws -> Count
    ) throws -> Result {
        let start = monotonicSeconds()
        let toWorkers = BoundedQueue<(Int, Batch)>(capacity: queueDepth)
        let toWriter = BoundedQueue<(Int, Batch)>(capacity: queueDepth + workers)
        let gate = InFlightGate(limit: 2 * queueDepth + workers)
        let firstError = Mutex<(any Error)?>(nil)
        let metrics = Mutex<(reader: StageMetrics, transform: StageMetrics, writer: StageMetrics)>(
            (StageMetrics(name: "read"), StageMetrics(name: "transform"), StageMetrics(name: "write")))
        @Sendable func fail(_ e: any Error) {
            firstError.withLock { if $0 == nil { $0 = e } }
            toWorkers.cancel()
            toWriter.cancel()
            gate.cancel()
        }
        let group = DispatchGroup()
        func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
            group.enter()
            let t = Thread {
                body()
                group.leave()
            }
            t.name = name
            t.stackSize = 4 << 20
            t.start()
        }
        // Reader.
        spawn("tokengate-read") {
            var m = StageMetrics(name: "read")
            let cpu0 = threadCPUSeconds()
            var seq = 0
            do {
                while gate.acquire(), let (batch, count) = try read() {
                    m.batches += 1
                    m.rows += count.rows
                    m.bytes += count.bytes
                    // A thread blocked on a full queue accrues no CPU time.
                    if !toWorkers.push((seq, batch)) { break }
                    seq += 1
                }
                toWorkers.close()
            } catch { fail(error) }
            m.cpuSeconds += threadCPUSeconds() - cpu0
            metrics.withLock { $0.reader.add(m) }
        }
        // Workers: each pushes (seq, batch) downstream; done-count closes the writer queue.
        let remaining = Mutex(workers)
        for w in 0..<workers {
            spawn("tokengate-transform-\(w)") {
                var m = StageMetrics(name: "transform")
                do {
                    let cpuSetup = threadCPUSeconds()
                    let work = try makeWorker()
                    m.cpuSeconds += threadCPUSeconds() - cpuSetup
                    while let (seq, batch) = toWorkers.pop() {
                        let c0 = threadCPUSeconds()
                        let (out, count) = try work(batch)
                        m.cpuSeconds += threadCPUSeconds() - c0
                        m.batches += 1
                        m.rows += count.rows
                        m.bytes += count.bytes
                        if !toWriter.push((seq, out)) { break }
                    }
                } catch { fail(error) }
                metrics.withLock { $0.transform.add(m) }
                let last = remaining.withLock { r -> Bool in r -= 1; return r == 0 }
                if last { toWriter.close() }
            }
        }
        // Writer on this thread, reordering by sequence number.
        var m = StageMetrics(name: "write")
        var pending: [Int: Batch] = [:]
        var next = 0
        while let (seq, batch) = toWriter.pop() {
            pending[seq] = batch
            while let b = pending.removeValue(forKey: next) {
                let c0 = threadCPUSeconds()
                do {
                    let count = try write(b)
                    m.rows += count.rows
                    m.bytes += count.bytes
                    m.batches += 1
                } catch {
                    fail(error)
                    break
                }
                m.cpuSeconds += threadCPUSeconds() - c0
                gate.release()
                next += 1
            }
        }
        group.wait()
        if let e = firstError.withLock({ $0 }) { throw e }
        if !pending.isEmpty {
            throw PipelineError(.sequenceGap, "pipeline ended with \(pending.count) batches not written (sequence gap at \(next))")
        }
        let all = metrics.withLock { $0 }
        return Result(reader: all.reader, transform: all.transform, writer: m, wallSeconds: monotonicSeconds() - start)
    }
}

/// An error of the pipeline itself (not of a stage, whose errors are rethrown as they are).
/// Equality compares the code only; the description is `code: reason`.
public struct PipelineError: CodedError {
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// The run ended with batches that were never written (a sequence number went missing).
        case sequenceGap
    }

    public let code: Code
    public let reason: String
    public init(_ code: Code, _ reason: String) { self.code = code; self.reason = reason }
}
