internal import COpenSSL

/// SHA-256, HMAC-SHA-256 and HKDF-SHA-256 through OpenSSL.
public enum SHA256 {
    public static let byteCount = 32

    public static func hash(_ data: UnsafeRawBufferPointer) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { o in
            EVP_Digest(data.baseAddress, data.count, o.baseAddress, &len, Ciphers.sha256, nil)
        }
        guard ok == 1, len == 32 else { throw CryptoError.openSSL("EVP_Digest(SHA-256)") }
        return out
    }

    public static func hash(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { b in try hash(b) }
    }
}

/// Incremental SHA-256 for streamed data (file digests). Not thread-safe: feed it from one
/// thread (or one serial queue) at a time.
public final class SHA256Hasher {
    private let ctx: OpaquePointer
    private var finalized = false

    public init() throws {
        guard let c = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        guard EVP_DigestInit_ex2(c, Ciphers.sha256, nil) == 1 else {
            EVP_MD_CTX_free(c)
            throw CryptoError.openSSL("EVP_DigestInit_ex2")
        }
        ctx = c
    }

    /// Adds `data` to the digest.
    /// - Throws: ``CryptoError`` `.openSSL` if OpenSSL fails, `.invalidLength` after ``finalize()``.
    public func update(_ data: UnsafeRawBufferPointer) throws {
        guard !finalized else { throw CryptoError(.invalidLength, "SHA-256 update after finalize") }
        guard data.count > 0 else { return }
        guard EVP_DigestUpdate(ctx, data.baseAddress, data.count) == 1 else { throw CryptoError.openSSL("EVP_DigestUpdate") }
    }

    /// A second hasher in the same state (everything added so far), fed independently from here
    /// on: two digests of streams that share a prefix hash that prefix once.
    /// - Throws: ``CryptoError`` `.openSSL` if OpenSSL fails, `.invalidLength` after ``finalize()``.
    public func copy() throws -> SHA256Hasher {
        guard !finalized else { throw CryptoError(.invalidLength, "SHA-256 copy after finalize") }
        guard let c = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        guard EVP_MD_CTX_copy_ex(c, ctx) == 1 else {
            EVP_MD_CTX_free(c)
            throw CryptoError.openSSL("EVP_MD_CTX_copy_ex")
        }
        return SHA256Hasher(context: c)
    }

    private init(context: OpaquePointer) { ctx = context }

    /// The digest of everything added (32 bytes); the hasher takes no more input afterwards.
    /// - Throws: ``CryptoError`` `.openSSL` if OpenSSL fails, `.invalidLength` if already finalized.
    public func finalize() throws -> [UInt8] {
        guard !finalized else { throw CryptoError(.invalidLength, "SHA-256 finalized twice") }
        finalized = true
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        guard EVP_DigestFinal_ex(ctx, &out, &len) == 1, len == 32 else { throw CryptoError.openSSL("EVP_DigestFinal_ex") }
        return out
    }

    deinit { EVP_MD_CTX_free(ctx) }
}

public enum HMACSHA256 {
    /// HMAC-SHA-256 of `data` under an in-process `key`.
    public static func authenticationCode(key: borrowing SecretBytes, data: UnsafeRawBufferPointer) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            out.withUnsafeMutableBufferPointer { o in
                HMAC(
                    EVP_sha256(), k.baseAddress, Int32(k.count),
                    data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, o.baseAddress, &len)
            }
        }
        guard ok != nil, len == 32 else { throw CryptoError.openSSL("HMAC(SHA-256)") }
        return out
    }
}

public enum HKDFSHA256 {
    /// HKDF-SHA-256 (RFC 5869) extract-and-expand into a new zeroizing secret of `outputCount` bytes.
    public static func deriveKey(
        inputKey: borrowing SecretBytes, salt: [UInt8], info: [UInt8], outputCount: Int
    ) throws -> SecretBytes {
        guard outputCount > 0, outputCount <= 255 * 32 else {
            throw CryptoError(.invalidLength, "HKDF output length \(outputCount) out of range")
        }
        // EVP_PKEY HKDF API: plain functions in OpenSSL 3 (no OSSL_PARAM key strings to keep alive).
        guard let pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else { throw CryptoError.openSSL("EVP_PKEY_CTX_new_id(HKDF)") }
        defer { EVP_PKEY_CTX_free(pctx) }
        var out = SecretBytes(zeroedCount: outputCount)
        let ok: Int32 = inputKey.withUnsafeBytes { ikm in
            salt.withUnsafeBufferPointer { s in
                info.withUnsafeBufferPointer { i in
                    guard EVP_PKEY_derive_init(pctx) == 1,
                        EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) == 1,
                        EVP_PKEY_CTX_set1_hkdf_salt(pctx, s.baseAddress, Int32(s.count)) == 1,
                        EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(ikm.count)) == 1,
                        EVP_PKEY_CTX_add1_hkdf_info(pctx, i.baseAddress, Int32(i.count)) == 1
                    else { return 0 }
                    return out.withUnsafeMutableBytes { o in
                        var len = o.count
                        let r = EVP_PKEY_derive(pctx, o.baseAddress!.assumingMemoryBound(to: UInt8.self), &len)
                        return r == 1 && len == o.count ? 1 : 0
                    }
                }
            }
        }
        guard ok == 1 else { throw CryptoError.openSSL("EVP_PKEY_derive(HKDF-SHA-256)") }
        return out
    }
}

public enum AESCMAC {
    /// AES-CMAC (NIST SP 800-38B) of `data` under an in-process AES-128/192/256 `key`.
    public static func authenticationCode(key: borrowing SecretBytes, data: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard [16, 24, 32].contains(key.count) else {
            throw CryptoError(.invalidKeySize, "AES-CMAC key must be 16, 24 or 32 bytes, got \(key.count)")
        }
        var out = [UInt8](repeating: 0, count: 16)
        let ok = key.withUnsafeBytes { k in
            out.withUnsafeMutableBufferPointer { o in
                tg_aes_cmac(
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count,
                    data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, o.baseAddress)
            }
        }
        guard ok == 1 else { throw CryptoError.openSSL("EVP_MAC(AES-CMAC)") }
        return out
    }
}

public enum PBKDF2 {
    /// PBKDF2-HMAC-SHA-256 (RFC 8018) of a secret into `count` bytes.
    public static func sha256(password: borrowing SecretBytes, salt: [UInt8], iterations: Int, count: Int) throws -> [UInt8] {
        guard iterations >= 1, count >= 1 else { throw CryptoError(.invalidLength, "PBKDF2 needs iterations ≥ 1 and output ≥ 1 byte") }
        var out = [UInt8](repeating: 0, count: count)
        let ok = password.withUnsafeBytes { p in
            out.withUnsafeMutableBufferPointer { o in
                PKCS5_PBKDF2_HMAC(
                    p.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(p.count), salt, Int32(salt.count),
                    Int32(iterations), EVP_sha256(), Int32(count), o.baseAddress)
            }
        }
        guard ok == 1 else { throw CryptoError.openSSL("PKCS5_PBKDF2_HMAC") }
        return out
    }
}
