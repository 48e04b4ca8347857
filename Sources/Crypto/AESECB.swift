internal import COpenSSL

/// AES in ECB mode over many independent 16-byte blocks per call — the batched primitive of the
/// FPE round function.
///
/// - Warning: ECB is a building block, not an encryption mode for data: equal blocks give equal
///   ciphertext. Use it only inside constructions (FF1, FF3-1) that need a raw block cipher.
///
/// One instance owns one initialized `EVP_CIPHER_CTX` (padding off) and is reused for every call;
/// it is not safe to use from two threads at once — give each worker its own (``copy()``).
public final class AESECB {
    private let ctx: OpaquePointer
    /// Key length in bytes (16, 24 or 32).
    public let keySize: Int

    /// - Parameter key: 16, 24 or 32 bytes (AES-128/192/256). The context keeps its own expanded
    ///   key schedule, freed and cleansed by `EVP_CIPHER_CTX_free`.
    public init(key: UnsafeRawBufferPointer) throws {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = Ciphers.aes128ECB
        case 24: cipher = Ciphers.aes192ECB
        case 32: cipher = Ciphers.aes256ECB
        default: throw CryptoError(.invalidKeySize, "AES key must be 16, 24 or 32 bytes, got \(key.count)")
        }
        guard let cipher else { throw CryptoError.openSSL("EVP_CIPHER_fetch(AES-ECB)") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        guard EVP_EncryptInit_ex2(ctx, cipher, key.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, nil) == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            throw CryptoError.openSSL("EVP_EncryptInit_ex2")
        }
        guard EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            throw CryptoError.openSSL("EVP_CIPHER_CTX_set_padding")
        }
        self.ctx = ctx
        self.keySize = key.count
    }

    private init(ctx: OpaquePointer, keySize: Int) {
        self.ctx = ctx
        self.keySize = keySize
    }

    /// A second context with the same key, for another worker thread.
    public func copy() throws -> AESECB {
        guard let c = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        guard EVP_CIPHER_CTX_copy(c, ctx) == 1 else {
            EVP_CIPHER_CTX_free(c)
            throw CryptoError.openSSL("EVP_CIPHER_CTX_copy")
        }
        return AESECB(ctx: c, keySize: keySize)
    }

    /// Encrypts `input.count / 16` independent blocks into `output` (which may be `input`).
    ///
    /// - Throws: ``CryptoError/Code/invalidLength`` unless both buffers are the same multiple of 16.
    public func encryptBlocks(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard input.count % 16 == 0, output.count >= input.count else {
            throw CryptoError(.invalidLength, "AES-ECB needs whole 16-byte blocks (input \(input.count), output \(output.count))")
        }
        var offset = 0
        // EVP_EncryptUpdate takes an Int32 length: feed at most 1 GiB at a time.
        while offset < input.count {
            let n = min(input.count - offset, 1 << 30)
            var outLen: Int32 = 0
            let ok = EVP_EncryptUpdate(
                ctx,
                output.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), &outLen,
                input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(n))
            guard ok == 1, Int(outLen) == n else { throw CryptoError.openSSL("EVP_EncryptUpdate(AES-ECB)") }
            offset += n
        }
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }
}

/// Ciphers fetched once per process (OpenSSL 3: fetching is expensive, the result is immutable).
enum Ciphers {
    nonisolated(unsafe) static let aes128ECB: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-128-ECB", nil)
    nonisolated(unsafe) static let aes192ECB: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-192-ECB", nil)
    nonisolated(unsafe) static let aes256ECB: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-ECB", nil)
    nonisolated(unsafe) static let aes256GCM: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
    nonisolated(unsafe) static let aes256CTR: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-CTR", nil)
    nonisolated(unsafe) static let sha256: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)
}
