import Crypto
import Foundation
import HSM
import Keyring
import Sealing
import SystemIO
import TestSupport
import Testing
import Transit

// Loopback only: every socket here is on 127.0.0.1.

/// A keyring over the fixture tokens with key names unique to the calling test (tests run in parallel).
func makeKeyring(_ prefix: String, names: [String]) throws -> Keyring {
    let fx = SoftHSMFixture.shared
    let pin = try PINSource.file(fx.writePINFile(name: "pin-transit-\(prefix)"))
    var purposes: [KeyPurpose: PurposeConfig] = [:]
    for p in KeyPurpose.allCases {
        purposes[p] = PurposeConfig(token: "tg-test-\(p.rawValue)", pin: pin, keys: names)
    }
    let kr = try Keyring(config: KeyringConfig(module: fx.modulePath, purposes: purposes))
    try kr.initialize()
    return kr
}

/// A fresh private directory; the tests check that nothing (no temporary file) is left in it.
func tempDir(_ name: String) throws -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("transit-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func listing(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

func readFile(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

/// Deterministic pseudo-random bytes.
func payload(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}

let transitMetadata = SealedMetadata(
    columns: [.init(name: "pan", tag: "pan", key: "in-use/pan", keyVersion: 2, keyID: "00112233445566778899aabbccddeeff"), .init(name: "note")],
    attributes: ["format": "csv"])

/// Seals `data` at `path` in `chunk`-byte records.
func sealSource(_ path: String, _ kr: Keyring, key: String, _ data: [UInt8], frameSize: Int, chunk: Int) throws {
    let w = try SealedWriter(path: path, keyring: kr, keyName: key, metadata: transitMetadata, frameSize: frameSize)
    var i = 0
    while i < data.count {
        try w.write(Array(data[i..<min(i + chunk, data.count)]), records: 1)
        i += chunk
    }
    try w.finish()
}

final class Box<T>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var v: T?
    func set(_ x: T) {
        lock.lock()
        v = x
        lock.unlock()
    }
    var value: T? {
        lock.lock()
        defer { lock.unlock() }
        return v
    }
}

typealias Counts = (frames: Int, bytes: Int)

/// `Transit.receive` on its own thread, on an ephemeral loopback port.
final class Receiver: Sendable {
    let port: UInt16
    private let done = DispatchSemaphore(value: 0)
    private let result = Box<Result<Counts, any Error>>()

    init(keyring: Keyring, output: String, seal: String?, timeout: Double = 20) throws {
        let ready = DispatchSemaphore(value: 0)
        let portBox = Box<UInt16>()
        let result = self.result, done = self.done
        Thread {
            let r = Result { () throws -> Counts in
                try Transit.receive(
                    listenPort: 0, host: "127.0.0.1", keyring: keyring, output: output, seal: seal, timeout: timeout,
                    ready: { p in
                        portBox.set(p)
                        ready.signal()
                    })
            }
            result.set(r)
            ready.signal()  // in case listening failed
            done.signal()
        }.start()
        guard ready.wait(timeout: .now() + 30) == .success, let p = portBox.value else {
            throw FixtureError("receiver did not start listening: \(String(describing: result.value))")
        }
        port = p
    }

    /// The receive outcome (bounded wait).
    func wait() throws -> Counts {
        guard done.wait(timeout: .now() + 60) == .success, let r = result.value else { throw FixtureError("receiver did not finish in 60 s") }
        return try r.get()
    }

    /// The receive's error code, nil on success. Any error that is not a TransitError is a test
    /// failure of its own (reported as `.streamProtocol` so that it never reads as success).
    func errorCode() -> TransitError.Code? {
        do {
            _ = try wait()
            return nil
        } catch let e as TransitError { return e.code } catch {
            Issue.record("expected a TransitError, got \(error)")
            return .streamProtocol
        }
    }
}

/// A raw loopback client: sends `bytes`, optionally half-closes, and reads until the receiver
/// closes (or `holdOpen` keeps the connection open without sending more, for the timeout test).
func rawClient(port: UInt16, _ bytes: [UInt8], holdOpenSeconds: Double = 0) throws {
    let socket = try TCPSocket.connect(host: "127.0.0.1", port: port, timeout: 30)
    defer { socket.close() }
    do { try socket.send(bytes) } catch {
        if error.code == .disconnected { return }  // the receiver gave up early: fine
        throw error
    }
    if holdOpenSeconds > 0 {
        Thread.sleep(forTimeInterval: holdOpenSeconds)
        return
    }
    try socket.shutdownSending()
    var sink = [UInt8](repeating: 0, count: 64)
    while true {
        let n = sink.withUnsafeMutableBytes { b in Result { () throws(SystemError) in try socket.receive(into: b) } }
        guard case .success(let count) = n, count > 0 else { break }
    }
}

/// Source file, keyring, recorded stream messages.
struct Fixture {
    let kr: Keyring
    let dir: String
    let source: String
    let data: [UInt8]
    let atRest: String
    let transit: String

    init(_ prefix: String, size: Int = 1000, frameSize: Int = 100, chunk: Int = 30) throws {
        atRest = "\(prefix)-rest"
        transit = "\(prefix)-transit"
        kr = try makeKeyring(prefix, names: [atRest, transit])
        dir = try tempDir(prefix)
        source = dir + "/source.tgs"
        data = payload(size, seed: UInt64(prefix.utf8.count))
        try sealSource(source, kr, key: atRest, data, frameSize: frameSize, chunk: chunk)
    }

    func record() throws -> [[UInt8]] { try Transit.record(path: source, keyring: kr, transitKey: transit) }

    /// Feeds `bytes` to a receiver (plaintext output) and returns its error code; checks that
    /// nothing but the source is left in the directory.
    func feed(_ bytes: [UInt8], holdOpenSeconds: Double = 0, timeout: Double = 20) throws -> TransitError.Code? {
        let out = dir + "/out.bin"
        let r = try Receiver(keyring: kr, output: out, seal: nil, timeout: timeout)
        try rawClient(port: r.port, bytes, holdOpenSeconds: holdOpenSeconds)
        let code = r.errorCode()
        if code != nil {
            #expect(listing(dir) == ["source.tgs"], "a failed receive left files behind")
        } else {
            try? FileManager.default.removeItem(atPath: out)
        }
        return code
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
}

@Suite struct TransitRoundTrip {
    @Test func sendsToAResealedFile() throws {
        let fx = try Fixture("trseal", size: 5000, frameSize: 256, chunk: 40)
        defer { fx.cleanup() }
        let out = fx.dir + "/received.tgs"
        let r = try Receiver(keyring: fx.kr, output: out, seal: fx.atRest)
        let sent = try Transit.send(path: fx.source, to: "127.0.0.1", port: r.port, keyring: fx.kr, transitKey: fx.transit)
        let got = try r.wait()
        let src = try SealedReader(path: fx.source, keyring: fx.kr)
        #expect(sent.frames == src.frameCount && sent.bytes == fx.data.count)
        #expect(got.frames == sent.frames && got.bytes == sent.bytes)
        let dst = try SealedReader(path: out, keyring: fx.kr)
        #expect(try dst.readAll() == fx.data)
        #expect(dst.header.metadata == transitMetadata)
        #expect(dst.header.frameSize == src.header.frameSize)
        #expect(dst.totalRecords == src.totalRecords && dst.frameCount == src.frameCount)
        #expect(try (0..<dst.frameCount).map { try dst.frame(at: $0).records } == (0..<src.frameCount).map { try src.frame(at: $0).records })
        #expect(dst.header.fileID != src.header.fileID, "a new file under a new data key")
        #expect(listing(fx.dir) == ["received.tgs", "source.tgs"])
    }

    @Test func sendsToPlaintext() throws {
        let fx = try Fixture("trplain", size: 3001, frameSize: 128, chunk: 50)
        defer { fx.cleanup() }
        let out = fx.dir + "/received.csv"
        let r = try Receiver(keyring: fx.kr, output: out, seal: nil)
        let sent = try Transit.send(path: fx.source, to: "127.0.0.1", port: r.port, keyring: fx.kr, transitKey: fx.transit)
        #expect(try r.wait() == sent)
        #expect(try readFile(out) == fx.data)
    }

    @Test func emptyFileRoundTrips() throws {
        let fx = try Fixture("trempty", size: 0)
        defer { fx.cleanup() }
        let out = fx.dir + "/received.bin"
        let r = try Receiver(keyring: fx.kr, output: out, seal: nil)
        let sent = try Transit.send(path: fx.source, to: "127.0.0.1", port: r.port, keyring: fx.kr, transitKey: fx.transit)
        #expect(sent == (frames: 1, bytes: 0))
        #expect(try r.wait() == sent)
        #expect(try readFile(out) == [])
    }

    @Test func theStreamCarriesNoPlaintextAndNoAtRestEnvelope() throws {
        let fx = try Fixture("trwire", size: 2000)
        defer { fx.cleanup() }
        let wire = Data(try fx.record().joined())
        #expect(wire.range(of: Data(fx.data[100..<132])) == nil, "plaintext on the wire")
        let src = try SealedReader(path: fx.source, keyring: fx.kr)
        #expect(wire.range(of: Data(src.header.envelope.sealed)) == nil, "the at-rest wrapped key is on the wire")
        #expect(wire.range(of: Data(fx.atRest.utf8)) == nil, "the at-rest key name is on the wire")
    }
}

@Suite struct TransitFailures {
    @Test func senderThatDiesMidStreamLeavesNoFile() throws {
        let fx = try Fixture("trdrop")
        defer { fx.cleanup() }
        let m = try fx.record()
        #expect(m.count > 6)
        // Hello and half the frames, then the connection closes.
        #expect(try fx.feed(Array(m[0..<(m.count / 2)].joined())) == .connectionLost)
        // Everything but the end message.
        #expect(try fx.feed(Array(m.dropLast().joined())) == .connectionLost)
        // Cut inside a frame, and inside the hello.
        let all = Array(m.joined())
        #expect(try fx.feed(Array(all[0..<(m[0].count + 40)])) == .connectionLost)
        #expect(try fx.feed(Array(all[0..<30])) == .connectionLost)
        // The end message cut short.
        #expect(try fx.feed(Array(all.dropLast(5))) == .connectionLost)
        // The whole stream is accepted.
        #expect(try fx.feed(all) == nil)
    }

    @Test func aSenderThatStallsTimesOut() throws {
        let fx = try Fixture("trstall")
        defer { fx.cleanup() }
        let m = try fx.record()
        #expect(try fx.feed(Array(m[0..<3].joined()), holdOpenSeconds: 3, timeout: 1) == .timedOut)
    }

    @Test func noSenderAtAllTimesOut() throws {
        let fx = try Fixture("trnosender")
        defer { fx.cleanup() }
        let start = Date()
        #expect(throws: TransitError(.timedOut, "")) {
            try Transit.receive(listenPort: 0, keyring: fx.kr, output: fx.dir + "/out.bin", seal: nil, timeout: 0.5)
        }
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(listing(fx.dir) == ["source.tgs"])
    }

    @Test func theSendingProcessKilledMidStream() throws {
        // A real `send` whose connection the receiver sees drop: the receiver's output folder is
        // its own; the send is cut by closing the socket from a raw client that relays only part.
        let fx = try Fixture("trkill", size: 4000)
        defer { fx.cleanup() }
        let out = fx.dir + "/out.tgs"
        let r = try Receiver(keyring: fx.kr, output: out, seal: fx.atRest)
        let m = try fx.record()
        try rawClient(port: r.port, Array(m[0..<(m.count - 3)].joined()))
        #expect(r.errorCode() == .connectionLost)
        #expect(listing(fx.dir) == ["source.tgs"])
    }

    @Test func tamperedFrameIsAnAuthenticationError() throws {
        let fx = try Fixture("trtamper")
        defer { fx.cleanup() }
        var m = try fx.record()
        m[2][TransitFormat.frameHeaderSize + 5] ^= 0x01  // ciphertext of frame 1
        #expect(try fx.feed(Array(m.joined())) == .frameAuthenticationFailed)
        m = try fx.record()
        m[2][m[2].count - 1] ^= 0x80  // its tag
        #expect(try fx.feed(Array(m.joined())) == .frameAuthenticationFailed)
        m = try fx.record()
        m[0][70] ^= 0x01  // the session key envelope in the hello
        #expect(try fx.feed(Array(m.joined())) != nil)
        m = try fx.record()
        m[0][m[0].count - 20] ^= 0x01  // the metadata in the hello
        #expect(try fx.feed(Array(m.joined())) == .streamAuthenticationFailed)
        m = try fx.record()
        m[m.count - 1][10] ^= 0x01  // the end message's record total
        #expect(try fx.feed(Array(m.joined())) == .streamAuthenticationFailed)
    }

    @Test func everySingleByteFlipIsRejected() throws {
        let fx = try Fixture("trflip", size: 40, frameSize: 16, chunk: 8)
        defer { fx.cleanup() }
        let all = Array(try fx.record().joined())
        let failures = Failures()
        for i in 0..<all.count {
            var x = all
            x[i] ^= 0x10
            let code = try fx.feed(x, timeout: 5)
            if code == nil { failures.add("flip at \(i) accepted") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
    }

    @Test func replayedReorderedOrSplicedFramesAreErrors() throws {
        let fx = try Fixture("trreplay")
        defer { fx.cleanup() }
        let m = try fx.record()
        // Frame 0 twice.
        #expect(try fx.feed(Array(([m[0], m[1], m[1]] + m[2...]).joined())) == .streamOutOfOrder)
        // Frames 0 and 1 swapped.
        #expect(try fx.feed(Array(([m[0], m[2], m[1]] + m[3...]).joined())) == .streamOutOfOrder)
        // A frame dropped (the end message comes one frame early, or sequence skips).
        #expect(try fx.feed(Array(([m[0]] + m[2...]).joined())) == .streamOutOfOrder)
        #expect(try fx.feed(Array((m.dropLast(2) + [m[m.count - 1]]).joined())) == .streamOutOfOrder)
        // The last frame replayed where the end message is due.
        #expect(try fx.feed(Array((m.dropLast() + [m[m.count - 2], m[m.count - 1]]).joined())) == .streamOutOfOrder)
        // Frame 1 spliced in from another stream of the same file (same position, other session key).
        let other = try fx.record()
        #expect(try fx.feed(Array(([m[0], m[1], other[2]] + m[3...]).joined())) == .frameAuthenticationFailed)
        // A whole earlier stream replayed is accepted only as what it is (a full, authentic stream).
        #expect(try fx.feed(Array(m.joined())) == nil)
    }

    @Test func wrongInTransitKeyIsAnError() throws {
        let fx = try Fixture("trwrongkey")
        defer { fx.cleanup() }
        // The receiver's keyring has no in-transit key of that name.
        let receiverKeyring = try makeKeyring("trwrongkey-rx", names: [fx.atRest])
        let out = fx.dir + "/out.tgs"
        let r = try Receiver(keyring: receiverKeyring, output: out, seal: fx.atRest)
        var senderError: TransitError.Code?
        do { try Transit.send(path: fx.source, to: "127.0.0.1", port: r.port, keyring: fx.kr, transitKey: fx.transit, timeout: 10) } catch let e as TransitError
        {
            senderError = e.code
        }
        #expect(r.errorCode() == .keyUnavailable)
        #expect(senderError != nil, "the sender must not report success")
        #expect(listing(fx.dir) == ["source.tgs"])
        // An unknown in-transit key on the sending side fails before connecting.
        #expect(throws: TransitError(.keyUnavailable, "")) {
            try Transit.send(path: fx.source, to: "127.0.0.1", port: 9, keyring: fx.kr, transitKey: "no-such-key")
        }
    }
}
