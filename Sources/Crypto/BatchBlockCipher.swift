/// A block cipher that encrypts many independent 16-byte blocks per call (AES-ECB semantics).
///
/// This is the only primitive the FF1 / FF3-1 engine (the FPE module) needs. `FPECipher`
/// evaluates one Feistel round for a whole batch of values at once and hands every value's
/// round-input block to a single ``encryptBlocks(_:)`` call, so an implementation backed by an HSM
/// costs one PKCS#11 `C_Encrypt` (AES-ECB) per round per batch rather than one per value.
///
/// ## What the implementation must compute
/// Every block `X` (16 bytes) in the buffer is replaced by `AES-ENC(key, X)`, independently of the
/// other blocks (ECB; no chaining, no padding, no IV). Which key depends on the algorithm:
///
/// - **FF1**: `key` is the FF1 key `K` itself (`CIPH_K` in NIST SP 800-38G §5.1; the CBC-MAC and
///   counter steps of FF1's PRF are done by the engine, one call per step across the batch).
/// - **FF3-1**: `key` is `REVB(K)`, the FF3-1 key with its *bytes in reverse order*
///   (`CIPH_REVB(K)` in SP 800-38G Rev. 1 §5.2). The engine performs the `REVB` of every round input
///   and output itself; the block cipher never reverses anything. For a key held in an HSM this means
///   the HSM object must *be* `REVB(K)`: either import `REVB(K)` (see `FPECipher.ff31ReversedKey(_:)`)
///   or generate the AES key inside the HSM and regard its byte reversal as the FF3-1 key `K` that
///   other implementations would be given (it never needs to leave the HSM).
///
/// Only the encryption direction is used, for both FPE encryption and decryption.
///
/// It lives in Crypto, next to ``AESECB``, so that key custody (Keyring's HSM-backed
/// implementation) and the FPE engine share it without Keyring depending on FPE.
///
/// - Important: the blocks carry material derived from the plaintext; an implementation must not
///   log or retain them.
/// - Note: implementations are used by one `FPECipher` at a time and need not be thread-safe;
///   give each worker its own (``AESECB/copy()``).
public protocol BatchBlockCipher: AnyObject {
    /// Encrypts `blocks.count / 16` independent blocks in place.
    ///
    /// - Parameter blocks: a whole number of 16-byte blocks (the engine never passes anything
    ///   else); each is replaced by its AES encryption.
    /// - Throws: whatever the implementation fails with; `FPECipher` propagates it unchanged and
    ///   leaves the batch it was processing unmodified.
    func encryptBlocks(_ blocks: UnsafeMutableRawBufferPointer) throws
}

extension AESECB: BatchBlockCipher {
    /// Encrypts the blocks in place with this context's key (OpenSSL AES-ECB, padding off).
    public func encryptBlocks(_ blocks: UnsafeMutableRawBufferPointer) throws {
        try encryptBlocks(UnsafeRawBufferPointer(blocks), into: blocks)
    }
}
