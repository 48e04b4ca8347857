import Testing
import Foundation
import Synchronization
import Pipeline

struct Boom: Error {}

final class Box<T>: @unchecked Sendable {
    let lock = NSLock()
    var value: T
    init(_ v: T) { value = v }
    func with<R>(_ f: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return f(&value) }
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
                let i = source.with { v -> Int in v += 1; return v }
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
            write: { b in
                written.with { $0.append(b[0]) }
                inFlight.with { $0 -= 1 }
                return (rows: 1, bytes: 8)
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
                        if n.with({ v -> Int in v += 1; return v }) == 50 { throw Boom() }
                        return (b, (rows: 1, bytes: 1))
                    }
                },
                write: { _ in written.with { $0 += 1 }; return (rows: 1, bytes: 1) })
        }
        #expect(written.value < 200)
    }

    @Test func readerAndWriterErrorsPropagate() throws {
        #expect(throws: Boom.self) {
            _ = try Pipeline.run(read: { throw Boom() }, makeWorker: { { (b: Int) in (b, (rows: 1, bytes: 1)) } }, write: { _ in (rows: 1, bytes: 1) })
        }
        let n = Box(0)
        #expect(throws: Boom.self) {
            _ = try Pipeline.run(
                read: { n.with { v -> Int? in v += 1; return v < 100 ? v : nil }.map { ($0, (rows: 1, bytes: 1)) } },
                makeWorker: { { (b: Int) in (b, (rows: 1, bytes: 1)) } },
                write: { b in if b == 10 { throw Boom() }; return (rows: 1, bytes: 1) })
        }
    }
}
