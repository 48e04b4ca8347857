import Foundation
import Pipeline
import Synchronization
import Testing

struct Boom: Error {}

final class Box<T>: @unchecked Sendable {
    let lock = NSLock()
    var value: T
    init(_ v: T) { value = v }
    func with<R>(_ f: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return f(&value)
    }
}

/// A writer stage from a closure, for tests whose writer has nothing to finish.
struct Writes<Item>: PipelineWriter {
    let body: (Item) throws -> Pipeline.Count
    init(_ body: @escaping (Item) throws -> Pipeline.Count) { self.body = body }
    func write(_ item: Item) throws -> Pipeline.Count { try body(item) }
    func finish() {}
}

/// Stage state that is not `Sendable` (like encoders, cipher contexts, files).
final class Tally {
    var batches = 0
    var sum = 0
}

@Suite struct PipelineRuns {
    @Test(arguments: [1, 2, 4])
    func batchesArriveInOrderWithCountsAndCPUTimes(workers: Int) throws {
        let source = Box(0)
        let written = Box<[Int]>([])
        let inFlight = Box(0), maxInFlight = Box(0)
        let result = try Pipeline.run(
            workers: workers, queueDepth: 2,
            read: {
                let i = source.with { v -> Int in
                    v += 1
                    return v
                }
                guard i <= 200 else { return nil }
                inFlight.with { $0 += 1 }
                maxInFlight.with { m in m = max(m, inFlight.with { $0 }) }
                return ([i], (rows: 1, bytes: 8))
            },
            makeWorker: {
                { (b: [Int]) in
                    var x = 0
                    for k in 0..<(b[0] % 7) * 1000 { x &+= k }  // uneven work reorders completion
                    return (b.map { $0 * 2 + (x & 0) }, (rows: 1, bytes: 8))
                }
            },
            makeWriter: {
                Writes { (b: [Int]) in
                    written.with { $0.append(b[0]) }
                    inFlight.with { $0 -= 1 }
                    return (rows: 1, bytes: 8)
                }
            })
        #expect(written.value == (1...200).map { $0 * 2 })
        #expect(result.reader.rows == 200 && result.transform.rows == 200 && result.writer.rows == 200)
        #expect(result.reader.batches == 200 && result.writer.bytes == 1600)
        // Back-pressure: never more than the queues and workers can hold.
        #expect(maxInFlight.value <= 2 * 2 + workers)
        #expect(result.transform.cpuSeconds >= 0 && result.wallSeconds > 0)
    }

    @Test func aFailingStageStopsTheRunAndRethrows() throws {
        let written = Box(0)
        #expect(throws: Boom.self) {
            _ = try Pipeline.run(
                workers: 2, queueDepth: 2,
                read: { (1, (rows: 1, bytes: 1)) },  // endless source
                makeWorker: {
                    let n = Box(0)
                    return { (b: Int) in
                        if n.with({ v -> Int in
                            v += 1
                            return v
                        }) == 50 {
                            throw Boom()
                        }
                        return (b, (rows: 1, bytes: 1))
                    }
                },
                makeWriter: {
                    Writes { (_: Int) in
                        written.with { $0 += 1 }
                        return (rows: 1, bytes: 1)
                    }
                })
        }
        #expect(written.value < 200)
    }

    @Test func readerAndWriterErrorsPropagate() throws {
        #expect(throws: Boom.self) {
            _ = try Pipeline.run(
                read: { throw Boom() }, makeWorker: { { (b: Int) in (b, (rows: 1, bytes: 1)) } },
                makeWriter: { Writes { (_: Int) in (rows: 1, bytes: 1) } })
        }
        let n = Box(0)
        #expect(throws: Boom.self) {
            _ = try Pipeline.run(
                read: {
                    n.with { v -> Int? in
                        v += 1
                        return v < 100 ? v : nil
                    }.map { ($0, (rows: 1, bytes: 1)) }
                },
                makeWorker: { { (b: Int) in (b, (rows: 1, bytes: 1)) } },
                makeWriter: {
                    Writes { (b: Int) in
                        if b == 10 { throw Boom() }
                        return (rows: 1, bytes: 1)
                    }
                })
        }
    }

    /// Summing writer: state made on the writer thread, result handed back by `finish`.
    struct Summing: PipelineWriter {
        let tally = Tally()
        let madeOn = pthread_self()
        func write(_ b: Int) throws -> Pipeline.Count {
            tally.batches += 1
            tally.sum += b
            return (rows: 1, bytes: 8)
        }
        func finish() -> (batches: Int, sum: Int, thread: pthread_t) { (tally.batches, tally.sum, madeOn) }
    }

    @Test(arguments: [1, 3])
    func stageStateIsMadeOnItsThreadAndTheWriterOutputComesBack(workers: Int) throws {
        var next = 0  // reader state: a plain local on the calling thread
        let caller = pthread_self()
        var readOnCaller = true
        let made = Box(0)
        let result = try Pipeline.run(
            workers: workers, queueDepth: 2,
            read: {
                readOnCaller = readOnCaller && pthread_equal(pthread_self(), caller) != 0
                next += 1
                return next <= 100 ? (next, (rows: 1, bytes: 8)) : nil
            },
            makeWorker: {
                made.with { $0 += 1 }
                let seen = Tally()  // per-worker state, never shared
                return { (b: Int) in
                    seen.batches += 1
                    return (b * 3, (rows: 1, bytes: 8))
                }
            },
            makeWriter: { Summing() })
        #expect(made.value == workers)
        #expect(result.output.batches == 100 && result.output.sum == 3 * 5050)
        #expect(pthread_equal(result.output.thread, caller) == 0, "the writer is made on its own thread")
        #expect(readOnCaller, "the reader runs on the calling thread")
        #expect(result.reader.rows == 100 && result.writer.rows == 100 && result.transform.batches == 100)
    }

    @Test func theWriterIsNotFinishedWhenAStageFails() throws {
        let finished = Box(false)
        struct Flags: PipelineWriter {
            let finished: Box<Bool>
            func write(_ b: Int) throws -> Pipeline.Count { (rows: 1, bytes: 1) }
            func finish() { finished.with { $0 = true } }
        }
        let n = Box(0)
        #expect(throws: Boom.self) {
            _ = try Pipeline.run(
                read: {
                    let i = n.with { v -> Int in
                        v += 1
                        return v
                    }
                    if i == 20 { throw Boom() }
                    return (i, (rows: 1, bytes: 1))
                },
                makeWorker: { { (b: Int) in (b, (rows: 1, bytes: 1)) } },
                makeWriter: { Flags(finished: finished) })
        }
        #expect(finished.value == false)
    }
}
