internal import COpenSSL

/// AES-256 in CTR mode (OpenSSL), for the page modules of Parquet Modular Encryption's
/// AES_GCM_CTR_V1: the 16-byte initial counter block is the 12-byte nonce followed by the
/// big-endian counter 1.
///
/// - Warning: CTR has no integrity of its own: AES_GCM_CTR_V1 authenticates the page headers
///   (GCM), not the pages. Use AES-GCM where a format does not prescribe CTR.
///
/// One instance holds one context for one key and is reused for every module; it is not safe to
/// use from two threads at once.
public final class AESCTR {
    private let ctx: OpaquePointer

    /// - Parameter key: 32 bytes.
    public init(key: borrowing SecretBytes) throws {
        guard key.count == 32 else { throw CryptoError(.invalidKeySize, "AES-256-CTR key must be 32 bytes, got \(key.count)") }
        guard let cipher = Ciphers.aes256CTR else { throw CryptoError.openSSL("EVP_CIPHER_fetch(AES-256-CTR)") }
        guard let c = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        let ok = key.withUnsafeBytes { k in
            EVP_CipherInit_ex2(c, cipher, k.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 1, nil)
        }
        guard ok == 1 else {
            EVP_CIPHER_CTX_free(c)
            throw CryptoError.openSSL("EVP_CipherInit_ex2(AES-256-CTR)")
        }
        ctx = c
    }

    /// XORs `input` with the key stream of `nonce` (12 bytes) into `output` (at least as long):
    /// encryption and decryption are the same operation.
    public func apply(nonce: [UInt8], _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard nonce.count == 12 else { throw CryptoError(.invalidLength, "AES-CTR nonce must be 12 bytes") }
        let iv = nonce + [0, 0, 0, 1]
        guard EVP_CipherInit_ex2(ctx, nil, nil, iv, 1, nil) == 1 else { throw CryptoError.openSSL("EVP_CipherInit_ex2(counter)") }
        try cipherUpdate(ctx, input, into: output, mode: "AES-256-CTR")
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }
}
