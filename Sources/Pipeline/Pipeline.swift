import Foundation
import Synchronization
public import SystemIO

/// The writer stage of a ``Pipeline``: made by its factory on the writer thread, fed the batches
/// in input order, then finished there. Its state (encoders, buffers, files, digests) never
/// crosses a thread, so it need not be `Sendable`; what the caller needs afterwards comes back as
/// ``Output``.
///
/// The writer's type is used on the writer thread, hence `SendableMetatype` (its values are not
/// `Sendable`).
public protocol PipelineWriter: SendableMetatype {
    associatedtype Item
    associatedtype Output: Sendable
    /// Writes one batch; returns the rows and bytes it handled.
    mutating func write(_ item: Item) throws -> Pipeline.Count
    /// Called once after the last batch when no stage failed (flush, seal the end, digests).
    mutating func finish() throws -> Output
}

/// Runs reader → N transform workers → writer as concurrent threads joined by bounded queues,
/// keeping batch order, and measures each stage's CPU time.
///
/// - `read` runs on the calling thread (where its state was made, for example after the caller
///   read the first batch to plan the run) and returns the next batch or nil at the end.
/// - `makeWorker` is called once on each worker thread, so each worker makes and owns its
///   transform state (FPE scratch buffers, cipher contexts, an HSM session at a time).
/// - `makeWriter` is called once on the writer thread; the writer gets the batches in input order.
///
/// Stage state is made on the thread that uses it, so it needs no lock and no `Sendable`
/// wrapper; only the batches cross threads. Memory is bounded by `2 × queueDepth + workers`
/// batches in flight (a gate makes the reader wait while that many are unwritten, so a slow batch
/// cannot make the reorder buffer grow). The first error in any stage cancels the others and is
/// rethrown; nothing further is written after it.
public enum Pipeline {
    public struct Result<Output: Sendable>: Sendable {
        public var reader: StageMetrics
        public var transform: StageMetrics
        public var writer: StageMetrics
        public var wallSeconds: Double
        /// What the writer's ``PipelineWriter/finish()`` returned.
        public var output: Output
    }

    /// Per-batch accounting a stage reports back: rows and bytes it handled.
    public typealias Count = (rows: Int, bytes: Int)

    public static func run<Item: Sendable, Writer: PipelineWriter>(
        workers: Int = 1,
        queueDepth: Int = 4,
        read: () throws -> (Item, Count)?,
        makeWorker: @escaping @Sendable () throws -> (Item) throws -> (Item, Count),
        makeWriter: @escaping @Sendable () throws -> Writer
    ) throws -> Result<Writer.Output> where Writer.Item == Item {
        let start = monotonicSeconds()
        let toWorkers = BoundedQueue<(Int, Item)>(capacity: queueDepth)
        let toWriter = BoundedQueue<(Int, Item)>(capacity: queueDepth + workers)
        let gate = InFlightGate(limit: 2 * queueDepth + workers)
        let firstError = Mutex<(any Error)?>(nil)
        let metrics = Mutex<(transform: StageMetrics, writer: StageMetrics)>((StageMetrics(name: "transform"), StageMetrics(name: "write")))
        let output = Mutex<Writer.Output?>(nil)
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
                let last = remaining.withLock { r -> Bool in
                    r -= 1
                    return r == 0
                }
                if last { toWriter.close() }
            }
        }
        // Writer, reordering by sequence number.
        spawn("tokengate-write") {
            var m = StageMetrics(name: "write")
            var pending: [Int: Item] = [:]
            var next = 0
            do {
                let cpuSetup = threadCPUSeconds()
                var writer = try makeWriter()
                m.cpuSeconds += threadCPUSeconds() - cpuSetup
                while let (seq, batch) = toWriter.pop() {
                    pending[seq] = batch
                    while let b = pending.removeValue(forKey: next) {
                        let c0 = threadCPUSeconds()
                        let count = try writer.write(b)
                        m.cpuSeconds += threadCPUSeconds() - c0
                        m.rows += count.rows
                        m.bytes += count.bytes
                        m.batches += 1
                        gate.release()
                        next += 1
                    }
                }
                if firstError.withLock({ $0 == nil }) {
                    if !pending.isEmpty {
                        throw PipelineError(.sequenceGap, "pipeline ended with \(pending.count) batches not written (sequence gap at \(next))")
                    }
                    let c0 = threadCPUSeconds()
                    let out = try writer.finish()
                    m.cpuSeconds += threadCPUSeconds() - c0
                    output.withLock { $0 = out }
                }
            } catch { fail(error) }
            metrics.withLock { $0.writer.add(m) }
        }
        // Reader on this thread.
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
        group.wait()
        if let e = firstError.withLock({ $0 }) { throw e }
        guard let out = output.withLock({ $0 }) else {
            throw PipelineError(.writerUnfinished, "the writer stage ended without finishing")
        }
        let all = metrics.withLock { $0 }
        return Result(reader: m, transform: all.transform, writer: all.writer, wallSeconds: monotonicSeconds() - start, output: out)
    }
}

/// An error of the pipeline itself (not of a stage, whose errors are rethrown as they are).
/// Equality compares the code only; the description is `code: reason`.
public typealias PipelineError = ModuleError<PipelineErrorCode>

/// The codes of ``PipelineError``.
public enum PipelineErrorCode: String, ErrorCode {
    /// The run ended with batches that were never written (a sequence number went missing).
    case sequenceGap
    /// The writer stage stopped without an error and without finishing (a bug).
    case writerUnfinished
}
