import Foundation
import Keyring
import Sealing
import TestSupport
import Testing
import Transit

// The receiving state machine driven directly, with no socket: the same checks the TCP tests
// make, and a parity table that runs each case both ways.

/// What a receiver made of a byte stream: the plaintext released, the frames' record ranges, the
/// totals of the end message, and the error (nil when the stream was complete).
struct Driven {
    var plaintext: [UInt8] = []
    var frames: [Range<UInt64>] = []
    var hello: TransitHello?
    var totals: TransitTotals?
    var error: TransitError.Code?
}

/// Feeds `bytes` in pieces of `chunk` bytes (or cut at `cuts`), then ends the input.
func drive(_ kr: Keyring, _ bytes: [UInt8], chunk: Int = .max, cuts: [Int]? = nil) -> Driven {
    var r = TransitReceiver(keyring: kr)
    var d = Driven()
    let bounds = cuts ?? Array(stride(from: 0, to: bytes.count, by: max(1, min(chunk, bytes.count))))
    let pieces = zip(bounds, bounds.dropFirst() + [bytes.count]).map { bytes[$0..<$1] }
    do throws(TransitError) {
        for piece in pieces {
            for event in try r.consume(piece) {
                switch event {
                case .hello(let h):
                    #expect(d.hello == nil, "a second hello")
                    d.hello = h
                case .frame(let f):
                    #expect(d.hello != nil && d.totals == nil, "a frame outside hello … end")
                    #expect(f.index == d.frames.count)
                    d.frames.append(f.records)
                    f.withPlaintext { d.plaintext += $0 }
                case .end(let t):
                    #expect(d.totals == nil, "a second end")
                    d.totals = t
                }
            }
        }
        try r.finish()
        #expect(r.isComplete && d.totals != nil)
    } catch {
        d.error = error.code
        #expect(d.totals == nil, "an error after the end message")
    }
    return d
}

@Suite struct TransitReceiverStateMachine {
    @Test func aWholeStreamFedOneByteAtATime() throws {
        let fx = try Fixture("rxbytes", size: 700, frameSize: 64, chunk: 25)
        defer { fx.cleanup() }
        let m = try fx.record()
        let d = drive(fx.kr, Array(m.joined()), chunk: 1)
        #expect(d.error == nil)
        #expect(d.plaintext == fx.data)
        let src = try SealedReader(path: fx.source, keyring: fx.kr)
        #expect(
            d.frames
                == (0..<src.frameCount).map {
                    let r = try! src.frame(at: $0).records
                    return UInt64(r.lowerBound)..<UInt64(r.upperBound)
                })
        #expect(d.totals == TransitTotals(frames: src.frameCount, records: UInt64(src.totalRecords), bytes: fx.data.count))
        #expect(d.hello?.metadata == transitMetadata)
        #expect(d.hello?.frameSize == 64 && d.hello?.frameCount == src.frameCount)
    }

    @Test func everySplitPointGivesTheSameResult() throws {
        let fx = try Fixture("rxsplit", size: 90, frameSize: 32, chunk: 10)
        defer { fx.cleanup() }
        let all = Array(try fx.record().joined())
        let failures = Failures()
        for cut in 0...all.count {
            let d = drive(fx.kr, all, cuts: cut == 0 || cut == all.count ? [0] : [0, cut])
            if d.error != nil || d.plaintext != fx.data { failures.add("split at \(cut): \(String(describing: d.error))") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
    }

    @Test func theEmptyFile() throws {
        let fx = try Fixture("rxempty", size: 0)
        defer { fx.cleanup() }
        let d = drive(fx.kr, Array(try fx.record().joined()), chunk: 7)
        #expect(d.error == nil && d.plaintext == [] && d.totals == TransitTotals(frames: 1, records: 0, bytes: 0))
    }

    @Test func aTamperedByteIsNeverReleased() throws {
        let fx = try Fixture("rxtamper")
        defer { fx.cleanup() }
        var m = try fx.record()
        m[2][TransitFormat.frameHeaderSize + 5] ^= 0x01  // ciphertext of frame 1
        let d = drive(fx.kr, Array(m.joined()), chunk: 1)
        #expect(d.error == .frameAuthenticationFailed)
        #expect(d.frames.count == 1, "frame 0 is authentic; frame 1 must not be released")
        #expect(d.plaintext == Array(fx.data[0..<d.plaintext.count]))
        m = try fx.record()
        m[2][m[2].count - 1] ^= 0x80  // its tag
        #expect(drive(fx.kr, Array(m.joined())).error == .frameAuthenticationFailed)
        m = try fx.record()
        m[0][m[0].count - 20] ^= 0x01  // the metadata in the hello
        let h = drive(fx.kr, Array(m.joined()))
        #expect(h.error == .streamAuthenticationFailed && h.hello == nil && h.frames.isEmpty)
        m = try fx.record()
        m[m.count - 1][10] ^= 0x01  // the end message's record total
        #expect(drive(fx.kr, Array(m.joined())).error == .streamAuthenticationFailed)
        m = try fx.record()
        m[0][0] ^= 0x01  // the magic
        #expect(drive(fx.kr, Array(m.joined())).error == .streamProtocol)
        m = try fx.record()
        m[0][4] = 2  // the version
        #expect(drive(fx.kr, Array(m.joined())).error == .unsupportedVersion)
    }

    @Test func everySingleByteFlipIsRejected() throws {
        let fx = try Fixture("rxflip", size: 40, frameSize: 16, chunk: 8)
        defer { fx.cleanup() }
        let all = Array(try fx.record().joined())
        let failures = Failures()
        for i in 0..<all.count {
            var x = all
            x[i] ^= 0x10
            if drive(fx.kr, x, chunk: 1 + i % 5).error == nil { failures.add("flip at \(i) accepted") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
    }

    @Test func replayedReorderedDroppedOrSplicedFrames() throws {
        let fx = try Fixture("rxreplay")
        defer { fx.cleanup() }
        let m = try fx.record()
        #expect(drive(fx.kr, Array(([m[0], m[1], m[1]] + m[2...]).joined()), chunk: 3).error == .streamOutOfOrder)
        #expect(drive(fx.kr, Array(([m[0], m[2], m[1]] + m[3...]).joined())).error == .streamOutOfOrder)
        #expect(drive(fx.kr, Array(([m[0]] + m[2...]).joined())).error == .streamOutOfOrder)
        #expect(drive(fx.kr, Array((m.dropLast(2) + [m[m.count - 1]]).joined())).error == .streamOutOfOrder)
        #expect(drive(fx.kr, Array((m.dropLast() + [m[m.count - 2], m[m.count - 1]]).joined())).error == .streamOutOfOrder)
        let other = try fx.record()
        #expect(drive(fx.kr, Array(([m[0], m[1], other[2]] + m[3...]).joined())).error == .frameAuthenticationFailed)
        // The other stream's hello with this stream's frames: another session key.
        #expect(drive(fx.kr, Array(([other[0]] + m[1...]).joined())).error == .frameAuthenticationFailed)
        #expect(drive(fx.kr, Array(m.joined())).error == nil)
    }

    @Test func aTruncatedStreamIsIncomplete() throws {
        let fx = try Fixture("rxtrunc")
        defer { fx.cleanup() }
        let m = try fx.record()
        let all = Array(m.joined())
        for cut in [0, 30, m[0].count, m[0].count + 40, all.count - m[m.count - 1].count, all.count - 5] {
            let d = drive(fx.kr, Array(all[0..<cut]), chunk: 11)
            #expect(d.error == .connectionLost, "cut at \(cut)")
            #expect(d.totals == nil)
        }
        // Bytes after the end message are not part of the stream.
        let d = drive(fx.kr, all + [1, 2, 3], chunk: 13)
        #expect(d.error == nil && d.plaintext == fx.data)
    }

    @Test func aWrongKeyFailsAtTheHello() throws {
        let fx = try Fixture("rxwrongkey")
        defer { fx.cleanup() }
        let receiverKeyring = try makeKeyring("rxwrongkey-rx", names: [fx.atRest])
        let d = drive(receiverKeyring, Array(try fx.record().joined()), chunk: 1)
        #expect(d.error == .keyUnavailable && d.hello == nil && d.frames.isEmpty)
    }

    @Test func aFailedReceiverRefusesMoreInput() throws {
        let fx = try Fixture("rxfailed")
        defer { fx.cleanup() }
        var m = try fx.record()
        m[1][TransitFormat.frameHeaderSize] ^= 0x01
        var r = TransitReceiver(keyring: fx.kr)
        #expect(throws: TransitError(.frameAuthenticationFailed, "")) { _ = try r.consume(Array(m[0...1].joined())) }
        #expect(throws: TransitError(.streamProtocol, "")) { _ = try r.consume(m[2]) }
        #expect(throws: TransitError.self) { try r.finish() }
    }

    /// The same byte streams over TCP (a real receiver on loopback) and through the state machine.
    @Test func sameOutcomeAsOverTCP() throws {
        let fx = try Fixture("rxparity")
        defer { fx.cleanup() }
        let m = try fx.record()
        let other = try fx.record()
        var tampered = m
        tampered[2][TransitFormat.frameHeaderSize + 1] ^= 0x04
        var badEnd = m
        badEnd[m.count - 1][3] ^= 0x01
        let cases: [(String, [UInt8])] = [
            ("whole", Array(m.joined())),
            ("no end", Array(m.dropLast().joined())),
            ("cut in a frame", Array(Array(m.joined())[0..<(m[0].count + 40)])),
            ("tampered frame", Array(tampered.joined())),
            ("tampered end", Array(badEnd.joined())),
            ("replayed frame", Array(([m[0], m[1], m[1]] + m[2...]).joined())),
            ("reordered frames", Array(([m[0], m[2], m[1]] + m[3...]).joined())),
            ("spliced frame", Array(([m[0], m[1], other[2]] + m[3...]).joined())),
        ]
        for (name, bytes) in cases {
            let tcp = try fx.feed(bytes)
            #expect(drive(fx.kr, bytes, chunk: 1).error == tcp, "\(name): over TCP \(String(describing: tcp))")
            #expect(drive(fx.kr, bytes, chunk: 100).error == tcp, "\(name): over TCP \(String(describing: tcp))")
        }
    }
}
