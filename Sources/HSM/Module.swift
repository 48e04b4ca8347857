internal import CPKCS11
internal import Glibc
import Synchronization

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
        let irv = initialize(&args)
        guard irv == CKR_OK || irv == CK_RV(0x191) /* CKR_CRYPTOKI_ALREADY_INITIALIZED */ else {
            dlclose(h)
            throw HSMError.fromRV(irv, function: "C_Initialize", context: "module '\(path)'")
        }
        self.path = path
        self.handle = h
        self.functions = list
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
