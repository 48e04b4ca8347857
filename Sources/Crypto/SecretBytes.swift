internal import COpenSSL
package import Synchronization

/// Key material held in process memory: non-copyable, zeroized (`OPENSSL_cleanse`) on release.
///
/// The bytes are reachable only through ``withUnsafeBytes(_:)``; the type has no `description`
/// that could print them, and it cannot be copied implicitly, so exactly one owner releases it.
public struct SecretBytes: ~Copyable {
    private let storage: UnsafeMutableRawBufferPointer

    /// A buffer of `count` zero bytes.
    public init(zeroedCount count: Int) {
        precondition(count >= 0, "negative secret length")
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        self.count = count
    }

    /// Copies `bytes` into a new secret. The caller remains responsible for its own copy.
    public init(copying bytes: UnsafeRawBufferPointer) {
        self.init(zeroedCount: bytes.count)
        if bytes.count > 0 { storage.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
    }

    /// Copies `bytes` into a new secret, then overwrites the array's storage with zeros.
    public init(consumingArray bytes: inout [UInt8]) {
        self.init(zeroedCount: bytes.count)
        bytes.withUnsafeMutableBytes { src in
            if src.count > 0 {
                storage.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count)
                OPENSSL_cleanse(src.baseAddress, src.count)
            }
        }
        bytes.removeAll()
    }

    /// A secret of `count` bytes from OpenSSL's CSPRNG.
    public static func random(count: Int) throws -> SecretBytes {
        var s = SecretBytes(zeroedCount: count)
        try s.withUnsafeMutableBytes { buf in try SecureRandom.fill(buf) }
        return s
    }

    /// Number of secret bytes.
    public let count: Int

    public func withUnsafeBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    public mutating func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Constant-time comparison (`CRYPTO_memcmp`).
    public func constantTimeEquals(_ other: borrowing SecretBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return other.withUnsafeBytes { o in CRYPTO_memcmp(storage.baseAddress, o.baseAddress, count) == 0 }
    }

    /// An explicit copy (a new zeroizing buffer).
    public func duplicate() -> SecretBytes {
        SecretBytes(copying: UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        #if DEBUG
            if let observe = SecretBytes.wipeObserver.withLock({ $0 }) { observe(UnsafeRawBufferPointer(storage)) }
        #endif
        storage.deallocate()
    }

    #if DEBUG
        /// Test hook, debug builds only: called with every buffer after it was wiped and before it
        /// is freed, so a test can prove the wipe (nothing else can observe it).
        package static let wipeObserver = Mutex<(@Sendable (UnsafeRawBufferPointer) -> Void)?>(nil)
    #endif
}

/// Constant-time comparison of two byte buffers of equal length.
public func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
}

/// Overwrites a buffer with zeros in a way the optimizer may not remove.
public func zeroize(_ buffer: UnsafeMutableRawBufferPointer) {
    if buffer.count > 0 { OPENSSL_cleanse(buffer.baseAddress, buffer.count) }
}

/// OpenSSL's CSPRNG.
public enum SecureRandom {
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        guard RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            throw CryptoError.openSSL("RAND_bytes", code: .randomFailed)
        }
    }

    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { b in try fill(b) }
        return out
    }
}
