import Crypto
import Dispatch

/// The size and SHA-256 of a byte stream (what `sha256sum` prints for the same bytes).
public struct StreamDigest: Sendable, Equatable {
    public let bytes: Int
    /// SHA-256 of the bytes (32 bytes).
    public let sha256: [UInt8]

    public init(bytes: Int, sha256: [UInt8]) {
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// Lowercase hex SHA-256.
    public var hex: String { Hex.encode(sha256) }
}

/// A ring of frame-sized buffers whose contents are SHA-256-hashed, in submission order, on a
/// helper queue while the caller goes on: seal and open hash their input and output on the way,
/// on another core, without copying a byte.
///
/// The caller takes the next slot with ``acquire()`` (waiting until the queue has finished
/// hashing what the slot held), fills it, hands it over with ``submit(_:count:)``, and may go on
/// *reading* it (encrypt from it, write it out) until it acquires the same slot again, a full turn
/// of the ring later. Small byte arrays (headers, trailers) join the stream with
/// ``submit(bytes:)``. ``finish()`` waits for the queue and returns the digest.
///
/// The slots may hold plaintext: they are wiped when the ring goes away. Memory is reserved for
/// `slotCount × slotSize` bytes but only the pages a frame actually fills are ever touched. One
/// ring is used from one thread.
final class DigestRing: @unchecked Sendable {
    // @unchecked Sendable: `hasher`, `total` and `failure` are touched only by closures on the
    // serial `queue`, and by `finish()` inside `queue.sync`; a slot's memory passes between the
    // caller and the queue under that slot's semaphore (the caller writes a slot only after
    // `acquire()` waited on it, which the queue signals once it has finished reading the slot).
    let slotSize: Int
    let slotCount: Int
    private let memory: UnsafeMutableRawBufferPointer
    private let free: [DispatchSemaphore]
    private let queue = DispatchQueue(label: "tokengate.sealing.digest")
    private let hasher: SHA256Hasher
    private var total = 0
    private var failure: (any Error)?
    /// Caller side: slot `i` was submitted and its semaphore not yet waited on. (Semaphores start
    /// at 0 and are waited on only after a submit, whose signal always comes: libdispatch traps
    /// if a semaphore is released below its initial value.)
    private var inFlight: [Bool]
    private var next = 0
    private var finished = false

    /// A slot lent to the caller by ``acquire()``.
    struct Slot {
        fileprivate let index: Int
        /// The slot's whole buffer (`slotSize` bytes).
        let buffer: UnsafeMutableRawBufferPointer
    }

    /// How many slots of `slotSize` bytes make a ring: 2 to 4, fewer for large frames (about
    /// 32 MiB of slots at most, but never fewer than the 2 a one-frame look-ahead needs).
    static func slots(for slotSize: Int) -> Int {
        max(2, min(4, (32 << 20) / max(slotSize, 1)))
    }

    init(slotSize: Int, slotCount: Int? = nil) throws {
        guard slotSize >= 1 else { throw SealingError(.invalidArgument, "digest ring slot size \(slotSize)") }
        self.slotSize = slotSize
        self.slotCount = slotCount ?? Self.slots(for: slotSize)
        guard self.slotCount >= 2 else { throw SealingError(.invalidArgument, "digest ring needs 2 slots or more") }
        do { hasher = try SHA256Hasher() } catch { throw SealingError(.internalError, "\(error)") }
        memory = UnsafeMutableRawBufferPointer.allocate(byteCount: slotSize * self.slotCount, alignment: 64)
        free = (0..<self.slotCount).map { _ in DispatchSemaphore(value: 0) }
        inFlight = [Bool](repeating: false, count: self.slotCount)
    }

    /// The next slot of the ring, once the queue has finished hashing what it held before.
    func acquire() -> Slot {
        let i = next
        next = (next + 1) % slotCount
        if inFlight[i] {
            free[i].wait()
            inFlight[i] = false
        }
        return Slot(index: i, buffer: UnsafeMutableRawBufferPointer(rebasing: memory[(i * slotSize)..<((i + 1) * slotSize)]))
    }

    /// Hands the first `count` bytes of `slot` to the queue for hashing (0: nothing to hash, the
    /// slot is simply given back). The caller may read the slot until it acquires it again.
    func submit(_ slot: Slot, count: Int) {
        let start = slot.index * slotSize, n = min(max(count, 0), slotSize)
        let done = free[slot.index]
        inFlight[slot.index] = true
        queue.async { [self] in
            update(UnsafeRawBufferPointer(rebasing: memory[start..<(start + n)]))
            done.signal()
        }
    }

    /// Adds a small byte array to the stream, after everything submitted before it.
    func submit(bytes: [UInt8]) {
        queue.async { [self] in bytes.withUnsafeBytes { update($0) } }
    }

    /// Waits for the queue and returns the size and digest of everything submitted.
    /// - Throws: ``SealingError`` `.internalError` if OpenSSL failed, `.invalidArgument` if called twice.
    func finish() throws -> StreamDigest {
        guard !finished else { throw SealingError(.invalidArgument, "digest ring finished twice") }
        finished = true
        return try queue.sync {
            if let failure { throw SealingError(.internalError, "SHA-256 of the stream failed: \(failure)") }
            do { return StreamDigest(bytes: total, sha256: try hasher.finalize()) } catch {
                throw SealingError(.internalError, "SHA-256 of the stream failed: \(error)")
            }
        }
    }

    /// On the queue only.
    private func update(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, bytes.count > 0 else { return }
        do {
            try hasher.update(bytes)
            total += bytes.count
        } catch {
            failure = error
        }
    }

    deinit {
        // Every closure on the queue holds the ring, so none is pending here.
        Crypto.zeroize(memory)
        memory.deallocate()
    }
}
