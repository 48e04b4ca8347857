internal import CPKCS11
public import Crypto
import Synchronization

/// A token in a slot of a loaded module, with a pool of sessions (one per concurrent worker).
///
/// Login is per token and application-wide in PKCS#11: ``login(pin:)`` logs in once; sessions
/// opened afterwards share that state. Sessions are not safe for concurrent operations, so
/// ``withSession(_:)`` lends each caller its own and returns it to the pool afterwards.
public final class Token: @unchecked Sendable {
    public let module: PKCS11Module
    public let slotID: UInt
    public let label: String
    private let idle = Mutex<[CK_SESSION_HANDLE]>([])
    private let loggedIn = Mutex<Bool>(false)

    init(module: PKCS11Module, slotID: UInt, label: String) {
        self.module = module
        self.slotID = slotID
        self.label = label
    }

    var context: String { "token '\(label)'" }

    /// Logs the user in. Accepts a token that is already logged in.
    ///
    /// - Throws: ``HSMError/Code/wrongPIN`` ("wrong PIN for token 'X'"), ``HSMError/Code/pinLocked``.
    public func login(pin: borrowing SecretBytes) throws {
        let f = module.functions.pointee
        let login = try module.require(f.C_Login, "C_Login")
        try loggedIn.withLock { state in
            if state { return }
            let session = try openSession()
            defer { closeOrPool(session) }
            // C_Login rewrites SoftHSM2's token file: under the module's cross-process lock.
            let rv = try module.exclusively {
                pin.withUnsafeBytes { p in
                    login(
                        session, CK_USER_TYPE(CKU_USER), UnsafeMutablePointer(mutating: p.baseAddress?.assumingMemoryBound(to: UInt8.self)), CK_ULONG(p.count))
                }
            }
            if rv != CKR_OK && rv != CK_RV(CKR_USER_ALREADY_LOGGED_IN) {
                throw HSMError.fromRV(rv, function: "C_Login", context: context)
            }
            state = true
        }
    }

    public var isLoggedIn: Bool { loggedIn.withLock { $0 } }

    private func openSession() throws -> CK_SESSION_HANDLE {
        let open = try module.require(module.functions.pointee.C_OpenSession, "C_OpenSession")
        var h: CK_SESSION_HANDLE = 0
        let flags = CK_FLAGS(CKF_SERIAL_SESSION) | CK_FLAGS(CKF_RW_SESSION)
        try module.check(open(CK_SLOT_ID(slotID), flags, nil, nil, &h), "C_OpenSession", context)
        return h
    }

    private func closeOrPool(_ h: CK_SESSION_HANDLE) {
        idle.withLock { $0.append(h) }
    }

    /// Runs `body` with a session of this token that no other thread uses meanwhile.
    public func withSession<R>(_ body: (borrowing Session) throws -> R) throws -> R {
        let h = try idle.withLock { $0.popLast() } ?? openSession()
        var healthy = true
        defer {
            if healthy {
                idle.withLock { $0.append(h) }
            } else if let close = module.functions.pointee.C_CloseSession {
                _ = close(h)
            }
        }
        do {
            return try body(Session(token: self, handle: h))
        } catch let e as HSMError where e.returnValue == UInt(CKR_SESSION_HANDLE_INVALID) || e.returnValue == UInt(CKR_SESSION_CLOSED) {
            healthy = false
            throw e
        }
    }
}
