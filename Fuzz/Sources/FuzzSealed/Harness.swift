import Foundation
import FuzzSupport
import Keyring
@_spi(KeyAccess) import Operations
import Sealing

/// The valid sealed file the edits apply to, sealed once at start under the throwaway keyring
/// (frame size 96: six data frames), with its plaintext frames.
let original: (bytes: [UInt8], frames: [[UInt8]], records: [Range<Int>]) = {
    let dir = workDirectory
    var plain = "id,card,name\n"
    for i in 1...20 { plain += "\(i),4111111111111111,name \(i)\n" }
    let input = dir + "/original.csv", sealed = dir + "/original.tgs"
    writeFile(input, Array(plain.utf8))
    let g = ThrowawayKeyring.gateway
    do {
        _ = try g.seal(input: input, output: sealed, frameSize: 96)
        let (frames, records) = try g.withAuditedKeyring(operation: "fuzz-setup") { keyring in
            let r = try SealedReader(path: sealed, keyring: keyring)
            var frames: [[UInt8]] = [], records: [Range<Int>] = []
            try r.forEachFrame {
                frames.append($0.plaintext)
                records.append($0.records)
            }
            return (frames, records)
        }
        require(frames.joined().elementsEqual(plain.utf8), "the original does not open to its plaintext")
        return (readFile(sealed), frames, records)
    } catch {
        require(false, "sealing the original failed: \(error)")
        fatalError()
    }
}()

let candidate = workDirectory + "/candidate.tgs"
// libFuzzer calls the harness from one thread.
nonisolated(unsafe) var executions = 0

/// Sealed-file reader over edits of a valid sealed file (or, for an input starting with the
/// magic `TGSF`, over the input itself). Invariants: every frame the reader releases is the
/// original's frame with that index, byte for byte, with the original's record range; a frame
/// that does not authenticate throws a SealingError (so do a bad header, envelope, trailer or
/// index); the unchanged file opens completely.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let script = UnsafeBufferPointer(start: data, count: size)
    let raw = size >= 4 && Array(script[0..<4]) == SealedFormat.magic
    let bytes = raw ? Array(script) : applyEdits(script, to: original.bytes)
    let unchanged = bytes == original.bytes
    writeFile(candidate, bytes)
    executions += 1
    // Every audited call appends two records: start a new audit log now and then.
    if executions % 20_000 == 0 { unlink(ThrowawayKeyring.auditLog) }
    let g = ThrowawayKeyring.gateway
    do {
        try g.withAuditedKeyring(operation: "fuzz-open") { keyring in
            let reader: SealedReader
            do { reader = try SealedReader(path: candidate, keyring: keyring) } catch let e as SealingError {
                require(!unchanged, "the unchanged file was refused: \(e)")
                return
            }
            require(reader.frameCount == original.frames.count, "opened with \(reader.frameCount) frames, not \(original.frames.count)")
            for i in 0..<reader.frameCount {
                do {
                    let f = try reader.frame(at: i)
                    require(f.index == i, "frame \(i) came back as \(f.index)")
                    require(f.plaintext == original.frames[i], "frame \(i) released plaintext that is not the original's frame \(i)")
                    require(f.records == original.records[i], "frame \(i) released with records \(f.records), not \(original.records[i])")
                } catch let e as SealingError {
                    require(!unchanged, "a frame of the unchanged file was refused: \(e)")
                }
            }
        }
    } catch {
        require(false, "not a SealingError: \(type(of: error)): \(error)")
    }
    return 0
}
