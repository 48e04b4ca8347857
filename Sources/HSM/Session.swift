internal import CPKCS11
public import Crypto

/// A handle to an object (key) on a token. Valid across the sessions of this process.
public struct ObjectHandle: Hashable, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
}

/// A mechanism with its parameters.
public enum Mechanism: Sendable {
    case aesECB
    case aesCMAC
    case sha256HMAC
    /// AES-GCM with a 12-byte IV, additional authenticated data and a 128-bit tag (appended to the ciphertext).
    case aesGCM(iv: [UInt8], aad: [UInt8])

    public var type: MechanismType {
        switch self {
        case .aesECB: .aesECB
        case .aesCMAC: .aesCMAC
        case .sha256HMAC: .sha256HMAC
        case .aesGCM: .aesGCM
        }
    }
}

/// A session lent by ``Token/withSession(_:)``; valid only inside that closure, used by one thread.
public struct Session {
    let token: Token
    let handle: CK_SESSION_HANDLE

    private var module: PKCS11Module { token.module }
    private var f: CK_FUNCTION_LIST { token.module.functions.pointee }

    /// Generates a secret key on the token (serialized: see ``PKCS11Module``).
    public func generateKey(_ mechanism: MechanismType, template: [Attribute]) throws -> ObjectHandle {
        let gen = try module.require(f.C_GenerateKey, "C_GenerateKey")
        var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(mechanism.rawValue), pParameter: nil, ulParameterLen: 0)
        var h: CK_OBJECT_HANDLE = 0
        let rv = try module.objectCall {
            withTemplate(template) { t, n in gen(handle, &m, t, n, &h) }
        }
        try module.check(rv, "C_GenerateKey", "\(token.context) (\(mechanism))")
        return ObjectHandle(rawValue: UInt(h))
    }

    /// Creates a secret key object from `value` (an import: use only for keys generated
    /// elsewhere under your custody rules, e.g. test keys or a key ceremony). `CKA_VALUE_LEN` is
    /// implied by the value and dropped from the template (modules treat it as read-only here).
    public func importSecretKey(value: borrowing SecretBytes, template: [Attribute]) throws -> ObjectHandle {
        let create = try module.require(f.C_CreateObject, "C_CreateObject")
        let template = template.filter { $0.type != .valueLen }
        var h: CK_OBJECT_HANDLE = 0
        let rv: CK_RV = try value.withUnsafeBytes { v in
            try withTemplate(template) { t, n in
                // Append CKA_VALUE pointing straight at the zeroizing buffer.
                var all = Array(UnsafeBufferPointer(start: t, count: Int(n)))
                all.append(
                    CK_ATTRIBUTE(
                        type: CK_ATTRIBUTE_TYPE(AttributeType.value.rawValue),
                        pValue: UnsafeMutableRawPointer(mutating: v.baseAddress), ulValueLen: CK_ULONG(v.count)))
                return try module.objectCall {
                    all.withUnsafeMutableBufferPointer { create(handle, $0.baseAddress, CK_ULONG($0.count), &h) }
                }
            }
        }
        try module.check(rv, "C_CreateObject", token.context)
        return ObjectHandle(rawValue: UInt(h))
    }

    /// Creates an object (e.g. a `CKO_DATA` metadata object) from a full template (serialized).
    public func createObject(_ template: [Attribute]) throws -> ObjectHandle {
        let create = try module.require(f.C_CreateObject, "C_CreateObject")
        var h: CK_OBJECT_HANDLE = 0
        let rv = try module.objectCall { withTemplate(template) { t, n in create(handle, t, n, &h) } }
        try module.check(rv, "C_CreateObject", token.context)
        return ObjectHandle(rawValue: UInt(h))
    }

    /// Objects matching every attribute of `template` (serialized).
    public func findObjects(_ template: [Attribute]) throws -> [ObjectHandle] {
        let initF = try module.require(f.C_FindObjectsInit, "C_FindObjectsInit")
        let find = try module.require(f.C_FindObjects, "C_FindObjects")
        let final = try module.require(f.C_FindObjectsFinal, "C_FindObjectsFinal")
        return try module.objectCall {
            try module.check(withTemplate(template) { t, n in initF(handle, t, n) }, "C_FindObjectsInit", token.context)
            defer { _ = final(handle) }
            var out: [ObjectHandle] = []
            var buf = [CK_OBJECT_HANDLE](repeating: 0, count: 64)
            while true {
                var n: CK_ULONG = 0
                try module.check(find(handle, &buf, CK_ULONG(buf.count), &n), "C_FindObjects", token.context)
                if n == 0 { break }
                out.append(contentsOf: buf.prefix(Int(n)).map { ObjectHandle(rawValue: UInt($0)) })
            }
            return out
        }
    }

    /// Reads attributes of an object; attributes the module does not have or will not reveal are absent.
    public func attributes(of object: ObjectHandle, _ types: [AttributeType]) throws -> [AttributeType: [UInt8]] {
        let get = try module.require(f.C_GetAttributeValue, "C_GetAttributeValue")
        var out: [AttributeType: [UInt8]] = [:]
        // One attribute at a time: a sensitive or unknown one must not hide the others.
        for t in types {
            // First try a buffer that fits every attribute tokengate reads (SoftHSM2 2.6 answers a
            // NULL-buffer size query for CKA_START_DATE with CKR_GENERAL_ERROR); ask for the size
            // only if it is too small.
            // `bytes` may receive key material (CKA_VALUE of a non-sensitive key): wiped on every exit.
            var bytes = [UInt8](repeating: 0, count: 256)
            defer { zeroize(&bytes) }
            var a = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(t.rawValue), pValue: nil, ulValueLen: CK_ULONG(bytes.count))
            var rv = bytes.withUnsafeMutableBytes { b -> CK_RV in
                a.pValue = b.baseAddress
                return get(handle, CK_OBJECT_HANDLE(object.rawValue), &a, 1)
            }
            if rv == CK_RV(CKR_BUFFER_TOO_SMALL) {
                a = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(t.rawValue), pValue: nil, ulValueLen: 0)
                try module.check(get(handle, CK_OBJECT_HANDLE(object.rawValue), &a, 1), "C_GetAttributeValue", "\(token.context) (\(t))")
                zeroize(&bytes)
                bytes = [UInt8](repeating: 0, count: Int(a.ulValueLen))
                rv = bytes.withUnsafeMutableBytes { b -> CK_RV in
                    a.pValue = b.baseAddress
                    return get(handle, CK_OBJECT_HANDLE(object.rawValue), &a, 1)
                }
            }
            if rv == CK_RV(CKR_OBJECT_HANDLE_INVALID) {
                throw HSMError(
                    .keyNotFound, "object \(object.rawValue) no longer exists on \(token.context)", function: "C_GetAttributeValue", returnValue: UInt(rv))
            }
            // Sensitive, unknown or unavailable attributes are reported as absent.
            guard rv == CKR_OK, a.ulValueLen != CK_UNAVAILABLE_INFORMATION_VALUE else { continue }
            out[t] = Array(bytes.prefix(Int(a.ulValueLen)))
        }
        return out
    }

    /// Destroys an object (serialized).
    public func destroy(_ object: ObjectHandle) throws {
        let destroy = try module.require(f.C_DestroyObject, "C_DestroyObject")
        let rv = try module.objectCall { destroy(handle, CK_OBJECT_HANDLE(object.rawValue)) }
        try module.check(rv, "C_DestroyObject", token.context)
    }

    /// Single-part `C_Encrypt` of `input` into `output`; returns the number of bytes written.
    public func encrypt(
        _ mechanism: Mechanism, key: ObjectHandle, input: UnsafeRawBufferPointer,
        output: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        let initF = try module.require(f.C_EncryptInit, "C_EncryptInit")
        let enc = try module.require(f.C_Encrypt, "C_Encrypt")
        return try crypt(
            mechanism, key: key, input: input, output: output, initF: initF, op: enc,
            names: ("C_EncryptInit", "C_Encrypt"))
    }

    /// Single-part `C_Decrypt`; returns the number of plaintext bytes written to `output`.
    ///
    /// - Throws: ``HSMError/Code/authenticationFailed`` when an AES-GCM tag does not verify
    ///   (SoftHSM2 reports that as `CKR_GENERAL_ERROR`; it is mapped here).
    public func decrypt(
        _ mechanism: Mechanism, key: ObjectHandle, input: UnsafeRawBufferPointer,
        output: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        let initF = try module.require(f.C_DecryptInit, "C_DecryptInit")
        let dec = try module.require(f.C_Decrypt, "C_Decrypt")
        do {
            return try crypt(
                mechanism, key: key, input: input, output: output, initF: initF, op: dec,
                names: ("C_DecryptInit", "C_Decrypt"))
        } catch let e as HSMError where e.function == "C_Decrypt" && e.code != .invalidInput {
            if case .aesGCM = mechanism, e.returnValue == UInt(CKR_GENERAL_ERROR) || e.code == .authenticationFailed {
                throw HSMError(
                    .authenticationFailed, "AES-GCM authentication failed on \(token.context): wrong key, wrong context or tampered data",
                    function: "C_Decrypt", returnValue: e.returnValue)
            }
            throw e
        }
    }

    private typealias InitFn = @convention(c) (CK_SESSION_HANDLE, UnsafeMutablePointer<CK_MECHANISM>?, CK_OBJECT_HANDLE) -> CK_RV
    private typealias OpFn =
        @convention(c) (CK_SESSION_HANDLE, UnsafeMutablePointer<UInt8>?, CK_ULONG, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<CK_ULONG>?) -> CK_RV

    private func crypt(
        _ mechanism: Mechanism, key: ObjectHandle, input: UnsafeRawBufferPointer,
        output: UnsafeMutableRawBufferPointer, initF: InitFn, op: OpFn,
        names: (StaticString, StaticString)
    ) throws -> Int {
        try withMechanism(mechanism) { m in
            try module.check(initF(handle, m, CK_OBJECT_HANDLE(key.rawValue)), names.0, "\(token.context) (\(mechanism.type))")
            var outLen = CK_ULONG(output.count)
            let rv = op(
                handle, UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self)), CK_ULONG(input.count),
                output.baseAddress?.assumingMemoryBound(to: UInt8.self), &outLen)
            HSMCallStats.called(names.1, token: token.label)
            if rv == CK_RV(CKR_BUFFER_TOO_SMALL) {
                // The operation stays active after BUFFER_TOO_SMALL: finish it so the session stays usable.
                var scratch = [UInt8](repeating: 0, count: Int(outLen))
                _ = op(handle, UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self)), CK_ULONG(input.count), &scratch, &outLen)
                zeroize(&scratch)
                throw HSMError(
                    .invalidInput, "output buffer of \(output.count) bytes too small (\(outLen) needed) on \(token.context)", function: "\(names.1)",
                    returnValue: UInt(rv))
            }
            try module.check(rv, names.1, "\(token.context) (\(mechanism.type))")
            return Int(outLen)
        }
    }

    /// Single-part `C_Sign` (HMAC, CMAC) of `data` into `output`; returns the MAC length.
    public func sign(
        _ mechanism: Mechanism, key: ObjectHandle, data: UnsafeRawBufferPointer,
        output: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        let initF = try module.require(f.C_SignInit, "C_SignInit")
        let sign = try module.require(f.C_Sign, "C_Sign")
        return try crypt(
            mechanism, key: key, input: data, output: output, initF: initF, op: sign,
            names: ("C_SignInit", "C_Sign"))
    }

    /// `C_Sign` returning the MAC as an array (MACs are not secret).
    public func sign(_ mechanism: Mechanism, key: ObjectHandle, data: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        let n = try data.withUnsafeBytes { d in try out.withUnsafeMutableBytes { o in try sign(mechanism, key: key, data: d, output: o) } }
        return Array(out.prefix(n))
    }

    /// Fills `buffer` from the token's random number generator.
    public func generateRandom(_ buffer: UnsafeMutableRawBufferPointer) throws {
        let rand = try module.require(f.C_GenerateRandom, "C_GenerateRandom")
        guard buffer.count > 0 else { return }
        try module.check(
            rand(handle, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), CK_ULONG(buffer.count)),
            "C_GenerateRandom", token.context)
    }

    /// `count` random bytes from the token (for non-secret values: ids, IVs).
    public func randomBytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try generateRandom($0) }
        return out
    }

    private func withMechanism<R>(_ mechanism: Mechanism, _ body: (UnsafeMutablePointer<CK_MECHANISM>) throws -> R) throws -> R {
        switch mechanism {
        case .aesGCM(let iv, let aad):
            var iv = iv, aad = aad
            return try iv.withUnsafeMutableBufferPointer { ivp in
                try aad.withUnsafeMutableBufferPointer { aadp in
                    var params = CK_GCM_PARAMS(
                        pIv: ivp.baseAddress, ulIvLen: CK_ULONG(ivp.count), ulIvBits: CK_ULONG(ivp.count * 8),
                        pAAD: aadp.baseAddress, ulAADLen: CK_ULONG(aadp.count), ulTagBits: 128)
                    return try withUnsafeMutablePointer(to: &params) { pp in
                        var m = CK_MECHANISM(
                            mechanism: CK_MECHANISM_TYPE(mechanism.type.rawValue), pParameter: UnsafeMutableRawPointer(pp),
                            ulParameterLen: CK_ULONG(MemoryLayout<CK_GCM_PARAMS>.size))
                        return try body(&m)
                    }
                }
            }
        default:
            var m = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(mechanism.type.rawValue), pParameter: nil, ulParameterLen: 0)
            return try body(&m)
        }
    }
}

/// `CK_UNAVAILABLE_INFORMATION` (a cast macro in the header, so not imported).
let CK_UNAVAILABLE_INFORMATION_VALUE = CK_ULONG.max

/// Wipes a scratch array in place (`OPENSSL_cleanse` through ``Crypto/zeroize(_:)``): the array's
/// own storage, not a copy of it. Every HSM scratch buffer that held key or clear material goes
/// through here before it is released or replaced.
func zeroize(_ a: inout [UInt8]) {
    a.withUnsafeMutableBytes { Crypto.zeroize($0) }
}
