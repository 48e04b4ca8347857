import Synchronization

/// Process-wide counts of PKCS#11 calls, for metrics (`tokengate serve`'s `/metrics`): the crypto
/// calls (`C_Encrypt`, `C_Decrypt`, `C_Sign`) by function and token label, and every failed call
/// by function and `CKR_*` name. Counting costs one uncontended lock per call, against the
/// 7.5 µs or more a call into a PKCS#11 module costs.
public enum HSMCallStats {
    /// A crypto call: which function, on which token.
    public struct Call: Hashable, Sendable {
        public var function: String
        public var token: String
    }

    /// A failed call: which function, which return value.
    public struct Failure: Hashable, Sendable {
        public var function: String
        public var code: String
    }

    public struct Snapshot: Sendable {
        public var calls: [Call: Int] = [:]
        public var errors: [Failure: Int] = [:]
    }

    private static let state = Mutex(Snapshot())

    /// The counts so far.
    public static func snapshot() -> Snapshot { state.withLock { $0 } }

    static func called(_ function: StaticString, token: String) {
        let k = Call(function: "\(function)", token: token)
        state.withLock { $0.calls[k, default: 0] += 1 }
    }

    static func failed(_ function: String, code: String) {
        let k = Failure(function: function, code: code)
        state.withLock { $0.errors[k, default: 0] += 1 }
    }
}
