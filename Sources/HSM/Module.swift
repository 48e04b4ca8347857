internal import CPKCS11
internal import Glibc
import Synchronization
import SystemIO

/// A loaded PKCS#11 module (`libsofthsm2.so`, the p11-kit proxy, a vendor library).
///
/// Loaded once per path per process with `C_Initialize(CKF_OS_LOCKING_OK)` and kept for the life of
/// the process: finalizing a module other code may still use would invalidate its sessions.
/// Immutable after init except for the lock-protected caches, hence `@unchecked Sendable`.
public final class PKCS11Module: @unchecked Sendable {
    /// The path the module was loaded from.
    public let path: String
    let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
    private let handle: UnsafeMutableRawPointer
    /// SoftHSM2 2.6 races when objects are created, found or destroyed from several sessions at
    /// once: every such call goes through this lock.
    let objectLock = Mutex<Void>(())
    /// The cross-process lock (see ``exclusively(_:)``): an `flock(2)` on the module file itself,
    /// which every process that loads the module can open read-only.
    private let processLock: FileDescriptor
    private let processLockHeld = Mutex<Void>(())

    private static let loaded = Mutex<[String: PKCS11Module]>([:])

    /// Loads (or returns the already loaded) module at `path`.
    ///
    /// - Throws: ``HSMError/Code/moduleNotFound`` when the file does not exist or cannot be
    ///   loaded, ``HSMError/Code/moduleInvalid`` when it is not a PKCS#11 module.
    public static func load(path: String) throws -> PKCS11Module {
        try loaded.withLock { cache in
            if let m = cache[path] { return m }
            let m = try PKCS11Module(path: path)
            cache[path] = m
            return m
        }
    }

    private init(path: String) throws {
        guard access(path, F_OK) == 0 else {
            throw HSMError(
                .moduleNotFound,
                "PKCS#11 module not found at '\(path)' (check 'module' in the keyring config; for development, scripts/setup.sh installs SoftHSM2)")
        }
        guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let msg = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw HSMError(.moduleNotFound, "cannot load PKCS#11 module '\(path)': \(msg)")
        }
        guard let sym = dlsym(h, "C_GetFunctionList") else {
            dlclose(h)
            throw HSMError(.moduleInvalid, "'\(path)' is not a PKCS#11 module (no C_GetFunctionList)")
        }
        let lockFile: FileDescriptor
        do { lockFile = try FileDescriptor.open(path, .readOnly) } catch {
            dlclose(h)
            throw HSMError(.moduleNotFound, "cannot open PKCS#11 module '\(path)' for its process lock: \(error)")
        }
        typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
        let getList = unsafeBitCast(sym, to: GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let rv = getList(&list)
        guard rv == CKR_OK, let list else {
            dlclose(h)
            throw HSMError.fromRV(rv, function: "C_GetFunctionList", context: "module '\(path)'")
        }
        guard let initialize = list.pointee.C_Initialize else {
            dlclose(h)
            throw HSMError(.functionNotSupported, "module '\(path)' has no C_Initialize")
        }
        var args = CK_C_INITIALIZE_ARGS()
        args.flags = CK_FLAGS(2)  // CKF_OS_LOCKING_OK: the module may be called from several threads
        // C_Initialize reads every token's files: under the cross-process lock, so that it never
        // reads a token file another process is rewriting (a login does).
        let irv: CK_RV
        do {
            try lockFile.lockExclusive()
            irv = initialize(&args)
            try lockFile.unlock()
        } catch {
            dlclose(h)
            throw HSMError(.deviceError, "cannot take the process lock of PKCS#11 module '\(path)': \(error)")
        }
        guard irv == CKR_OK || irv == CK_RV(0x191) /* CKR_CRYPTOKI_ALREADY_INITIALIZED */ else {
            dlclose(h)
            throw HSMError.fromRV(irv, function: "C_Initialize", context: "module '\(path)'")
        }
        self.path = path
        self.handle = h
        self.functions = list
        self.processLock = lockFile
    }

    /// Runs `body` holding the module's cross-process lock (and an in-process mutex, since
    /// `flock(2)` does not exclude threads sharing a descriptor).
    ///
    /// SoftHSM2 keeps each token in files that it rewrites on login (its token flags) and on
    /// every token-object change, and re-reads them when listing slots and at `C_Initialize`:
    /// a process that reads while another writes sees the token missing (`no token labelled …`),
    /// its user PIN "not initialized" or fails with `CKR_GENERAL_ERROR`, and has been seen to abort.
    /// Slot enumeration, login and token-object creation and destruction therefore run under an
    /// `flock` on the module file, held for milliseconds. Processes of other programs using the
    /// same token are not covered; ``retryingContention(_:)`` absorbs what remains.
    func exclusively<R: Sendable>(_ body: () throws -> R) throws -> R {
        try processLockHeld.withLock { _ in
            do { try processLock.lockExclusive() } catch {
                throw HSMError(.deviceError, "cannot take the process lock of PKCS#11 module '\(path)': \(error)")
            }
            defer { try? processLock.unlock() }
            return try body()
        }
    }

    /// Runs an object call (create, generate, find, destroy) serialized within the process and
    /// under the cross-process lock.
    func objectCall<R: Sendable>(_ body: () throws -> R) throws -> R {
        try objectLock.withLock { _ in try exclusively(body) }
    }

    /// Errors a token store returns transiently while another process rewrites it.
    static func isContention(_ e: HSMError) -> Bool {
        switch e.code {
        case .tokenNotFound, .tokenAbsent, .deviceError: return true
        case .other:
            return e.returnValue == UInt(CKR_GENERAL_ERROR) || e.returnValue == UInt(CKR_USER_PIN_NOT_INITIALIZED)
                || e.returnValue == UInt(CKR_FUNCTION_FAILED)
        default: return false
        }
    }

    /// Runs `body`, retrying up to 6 times with exponential backoff (10 ms … 320 ms, with jitter)
    /// while it fails with a contention error (``isContention(_:)``). Never retries a wrong or
    /// locked PIN: each attempt would count against the token's PIN retry limit.
    public static func retryingContention<R>(_ body: () throws -> R) throws -> R {
        var delay = 10_000
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let e as HSMError where attempt < 6 && isContention(e) {
                usleep(useconds_t(delay + Int.random(in: 0..<delay)))
                delay *= 2
                attempt += 1
            }
        }
    }

    /// Resolves a function slot, throwing instead of crashing on a NULL entry.
    @inline(__always)
    func require<F>(_ f: F?, _ name: StaticString) throws -> F {
        guard let f else {
            throw HSMError(.functionNotSupported, "PKCS#11 module '\(path)' does not provide \(name)", function: "\(name)")
        }
        return f
    }

    func check(_ rv: CK_RV, _ function: StaticString, _ context: @autoclosure () -> String) throws {
        if rv != CKR_OK { throw HSMError.fromRV(rv, function: "\(function)", context: context()) }
    }

    /// Slots that hold a token, with their token labels (trailing padding removed).
    public func tokenLabels() throws -> [(slot: UInt, label: String)] {
        let getSlotList = try require(functions.pointee.C_GetSlotList, "C_GetSlotList")
        let getTokenInfo = try require(functions.pointee.C_GetTokenInfo, "C_GetTokenInfo")
        return try exclusively { try slotLabels(getSlotList, getTokenInfo) }
    }

    private func slotLabels(
        _ getSlotList: CK_C_GetSlotList, _ getTokenInfo: CK_C_GetTokenInfo
    ) throws -> [(slot: UInt, label: String)] {
        var count: CK_ULONG = 0
        try check(getSlotList(CK_BBOOL(CK_TRUE), nil, &count), "C_GetSlotList", "module '\(path)'")
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        if count > 0 {
            try check(getSlotList(CK_BBOOL(CK_TRUE), &slots, &count), "C_GetSlotList", "module '\(path)'")
        }
        var out: [(UInt, String)] = []
        for slot in slots.prefix(Int(count)) {
            var info = CK_TOKEN_INFO()
            guard getTokenInfo(slot, &info) == CKR_OK else { continue }
            guard info.flags & CK_FLAGS(CKF_TOKEN_INITIALIZED) != 0 else { continue }
            let label = withUnsafeBytes(of: info.label) { raw in
                String(decoding: raw, as: UTF8.self)
            }
            out.append((UInt(slot), label.trimmingTrailingSpaces()))
        }
        return out
    }

    /// Opens the token with the given label.
    ///
    /// - Throws: ``HSMError/Code/tokenNotFound`` naming the labels that are present.
    public func token(label: String) throws -> Token {
        let tokens = try tokenLabels()
        let matches = tokens.filter { $0.label == label }
        guard let match = matches.first else {
            let present = tokens.map { "'\($0.label)'" }.joined(separator: ", ")
            throw HSMError(.tokenNotFound, "no token labelled '\(label)' in module '\(path)' (present: \(present.isEmpty ? "none" : present))")
        }
        guard matches.count == 1 else {
            throw HSMError(.tokenNotFound, "\(matches.count) tokens are labelled '\(label)' in module '\(path)': labels must be unique")
        }
        return Token(module: self, slotID: match.slot, label: label)
    }

    /// Whether the module's token in `slot` supports `mechanism`.
    func supports(slot: UInt, mechanism: CK_MECHANISM_TYPE) -> Bool {
        guard let getInfo = functions.pointee.C_GetMechanismInfo else { return false }
        var info = CK_MECHANISM_INFO()
        return getInfo(CK_SLOT_ID(slot), mechanism, &info) == CKR_OK
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\0" { s = s.dropLast() }
        return String(s)
    }
}
