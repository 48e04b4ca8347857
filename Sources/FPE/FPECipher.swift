public import Crypto

/// The format-preserving encryption algorithms of NIST SP 800-38G Rev. 1.
public enum FPEAlgorithm: String, Sendable, CaseIterable {
    /// FF1 (SP 800-38G §5.1): 10 rounds, AES-CBC-MAC round function, tweak of any length.
    case ff1 = "ff1"
    /// FF3-1 (SP 800-38G Rev. 1 §5.2): 8 rounds, one AES block per round, 56-bit tweak.
    case ff31 = "ff3-1"

    /// Number of Feistel rounds.
    var rounds: Int { self == .ff1 ? 10 : 8 }
}

/// FF1 / FF3-1 over batches of values: every Feistel round is evaluated for the whole batch at once,
/// with one ``BatchBlockCipher/encryptBlocks(_:)`` call per round (FF1 needs one more call per round
/// for each further CBC-MAC block of long values, and one for values whose round output spans more
/// than one block).
///
/// Values are sequences of numerals in `0..<radix` (see ``NumeralBatch``, ``Alphabet``). Each value
/// must have ``minLength``...``maxLength`` numerals; values of different lengths may share a batch.
///
/// Domain (SP 800-38G Rev. 1):
/// - radix 2...65536; `minLength` is the least length ≥ 2 with `radix^minLength ≥ 1,000,000`;
/// - FF3-1: `maxLength = 2·⌊log_radix(2^96)⌋` (56 for radix 10) and the tweak is 7 bytes (56 bits);
/// - FF1: the standard allows up to 2^32 − 1 numerals; this implementation caps values at
///   ``ff1MaxLength`` (4096) numerals and tweaks at ``ff1MaxTweakLength`` (1024) bytes. The cap bounds
///   the work one hostile value can cause (the radix conversions at entry and exit are quadratic in
///   the length: a 4096-numeral value at radix 65536 costs milliseconds, one at the standard's bound
///   would cost minutes) and is far above any field the gateway tokenizes (the longest are e-mail
///   addresses, at most 254 characters); longer data belongs in a sealed file, not in a token.
///
/// Numeral arithmetic runs on `UInt64` when `radix^⌈n/2⌉` fits (radix 10: up to 38 digits for FF1,
/// 38 for FF3-1) and on fixed-width multi-limb integers otherwise. Scratch buffers are held by the
/// cipher and reused, so steady-state calls do not allocate; they are zeroized after every call.
///
/// - Important: an `FPECipher` is not thread-safe (it owns scratch buffers and, through its block
///   cipher, an encryption context): use one per worker.
public final class FPECipher {
    /// Largest FF1 value, in numerals, this implementation accepts (see the type's discussion).
    public static let ff1MaxLength = 4096
    /// Largest FF1 tweak, in bytes.
    public static let ff1MaxTweakLength = 1024
    /// The FF3-1 tweak length in bytes (56 bits).
    public static let ff31TweakLength = 7

    public let algorithm: FPEAlgorithm
    /// Number of symbols of the format (2...65536).
    public let radix: Int
    /// Fewest numerals a value may have: least `L ≥ 2` with `radix^L ≥ 1,000,000`.
    public let minLength: Int
    /// Most numerals a value may have.
    public let maxLength: Int
    /// Accepted tweak lengths in bytes.
    public let tweakLengths: ClosedRange<Int>

    let blockCipher: any BatchBlockCipher
    let radixConstants: RadixConstants

    // Per-length constants, built on first use and kept.
    var paramIndexForLength: [Int32]
    var params: [LengthParams] = []
    var ff1TweakState: [FF1TweakState] = []
    var cachedTweak: [UInt8] = []
    var tweakEpoch = 0
    /// Limbs held by `params`.
    var cachedLimbs = 0
    /// Most limbs of per-length constants kept between calls (16 MiB): past it the cache is dropped
    /// and rebuilt on demand, so values of ever new lengths cannot grow it without bound.
    var cachedLimbBudget = 4 << 20

    // Per-call bookkeeping, reused.
    var activeOfParam: [Int32] = []
    var groups: [Group] = []
    var groupOrder: [Int] = []
    var groupOfValue: [Int32] = []
    var order: [Int32] = []
    var groupFill: [Int] = []
    var pending: [Int] = []
    /// Testing aid: route every length through the multi-limb path (set before first use).
    var forceMultiLimb = false
    /// Values on the 64-bit path in the current call; they occupy slots 0..<fastCount.
    var fastCount = 0
    /// Offset (in words) of the second half's array in `fastState`: `fastCount` at the start of a
    /// call, kept while cycle-walking shrinks `fastCount` to the values still walking.
    var fastStride = 0

    // Scratch buffers, reused and zeroized after each call.
    var blocks = Scratch()
    var extBlocks = Scratch()
    var qBytes = Scratch()
    var fastState = Scratch()
    var wideState = Scratch()
    var temp = Scratch()
    /// Per-value tweaks (current call): per slot, FF1 the CBC-MAC state after P and Q's constant
    /// blocks then the head of Q's first variable block (32 bytes); FF3-1 the round tails of
    /// T_R and T_L (8 bytes).
    var slotTweaks = Scratch()
    /// Whether the current call uses per-value tweaks (``slotTweaks``).
    var perValueTweaks = false

    /// A cipher over a batched block cipher.
    ///
    /// - Parameters:
    ///   - algorithm: FF1 or FF3-1.
    ///   - cipher: AES-ECB under the FF1 key `K` for FF1, under `REVB(K)` (the key's bytes reversed)
    ///     for FF3-1 — see ``BatchBlockCipher`` and `ff31ReversedKey(_:)`.
    ///   - radix: number of symbols, 2...65536.
    /// - Throws: ``FPEError/Code/invalidRadix``.
    public init(algorithm: FPEAlgorithm, cipher: any BatchBlockCipher, radix: Int) throws(FPEError) {
        guard (2...65536).contains(radix) else {
            throw FPEError(.invalidRadix, "radix must be in 2...65536, got \(radix)")
        }
        self.algorithm = algorithm
        self.blockCipher = cipher
        self.radix = radix
        var minLength = 2
        var power = radix * radix
        while power < 1_000_000 {
            minLength += 1
            power *= radix
        }
        self.minLength = minLength
        switch algorithm {
        case .ff1:
            maxLength = Self.ff1MaxLength
            tweakLengths = 0...Self.ff1MaxTweakLength
        case .ff31:
            // 2·⌊log_radix(2^96)⌋: the largest k with radix^k ≤ 2^96, doubled.
            var k = 0
            var p: UInt128 = 1
            let limit: UInt128 = 1 << 96
            while true {
                let (next, overflow) = p.multipliedReportingOverflow(by: UInt128(radix))
                if overflow || next > limit { break }
                p = next
                k += 1
            }
            maxLength = 2 * k
            tweakLengths = Self.ff31TweakLength...Self.ff31TweakLength
        }
        radixConstants = RadixConstants(radix: radix)
        paramIndexForLength = [Int32](repeating: -1, count: maxLength + 1)
    }

    /// A cipher with an in-process AES key (OpenSSL `AESECB`), for tests, conformance tooling and
    /// keys derived into process memory.
    ///
    /// For FF3-1 the AES context is keyed with `REVB(key)` as the standard requires; pass the FF3-1
    /// key as published (e.g. in test vectors), not reversed.
    ///
    /// - Parameter key: 16, 24 or 32 bytes (AES-128/192/256). The cipher keeps only the OpenSSL
    ///   context; the caller remains responsible for (and should zeroize) its own copy.
    /// - Throws: ``FPEError/Code/invalidKey``, ``FPEError/Code/invalidRadix``, or a ``CryptoError``.
    public convenience init(algorithm: FPEAlgorithm, key: UnsafeRawBufferPointer, radix: Int) throws {
        guard [16, 24, 32].contains(key.count) else {
            throw FPEError(.invalidKey, "an AES key is 16, 24 or 32 bytes, got \(key.count)")
        }
        let aes: AESECB
        switch algorithm {
        case .ff1:
            aes = try AESECB(key: key)
        case .ff31:
            let reversed = Self.ff31ReversedKey(key)
            aes = try reversed.withUnsafeBytes { try AESECB(key: $0) }
        }
        try self.init(algorithm: algorithm, cipher: aes, radix: radix)
    }

    /// A cipher with a key held in a zeroizing buffer (for instance a subkey derived in the HSM).
    ///
    /// - SeeAlso: `init(algorithm:key:radix:)` over a raw buffer.
    public convenience init(algorithm: FPEAlgorithm, key: borrowing SecretBytes, radix: Int) throws {
        guard [16, 24, 32].contains(key.count) else {
            throw FPEError(.invalidKey, "an AES key is 16, 24 or 32 bytes, got \(key.count)")
        }
        let aes: AESECB
        switch algorithm {
        case .ff1:
            aes = try key.withUnsafeBytes { try AESECB(key: $0) }
        case .ff31:
            let reversed = Self.ff31ReversedKey(key)
            aes = try reversed.withUnsafeBytes { try AESECB(key: $0) }
        }
        try self.init(algorithm: algorithm, cipher: aes, radix: radix)
    }

    /// `REVB(K)`: the FF3-1 key with its bytes in reverse order — the AES key that FF3-1's block
    /// cipher must use (SP 800-38G Rev. 1 §5.2, `CIPH_REVB(K)`). Import this into an HSM to run
    /// FF3-1 with an HSM-resident key under the FF3-1 key `K`.
    public static func ff31ReversedKey(_ key: UnsafeRawBufferPointer) -> SecretBytes {
        var out = SecretBytes(zeroedCount: key.count)
        out.withUnsafeMutableBytes { o in
            for i in 0..<key.count { o[i] = key[key.count - 1 - i] }
        }
        return out
    }

    /// `REVB(K)` of a key held in a zeroizing buffer.
    public static func ff31ReversedKey(_ key: borrowing SecretBytes) -> SecretBytes {
        key.withUnsafeBytes { ff31ReversedKey($0) }
    }

    /// Encrypts every value of `batch` in place under one tweak.
    ///
    /// - Throws: ``FPEError`` when the tweak or any value is outside the domain (naming the first
    ///   offending value's index), or the block cipher's error. On any error the batch is unchanged.
    public func encrypt(_ batch: inout NumeralBatch, tweak: [UInt8]) throws {
        try process(&batch, tweaks: .shared(tweak), decrypting: false)
    }

    /// Decrypts every value of `batch` in place under one tweak.
    ///
    /// - Throws: as ``encrypt(_:tweak:)``; on any error the batch is unchanged.
    public func decrypt(_ batch: inout NumeralBatch, tweak: [UInt8]) throws {
        try process(&batch, tweaks: .shared(tweak), decrypting: true)
    }

    /// Encrypts every value of `batch` and cycle-walks (Black–Rogaway): re-encrypts each value
    /// whose result `accept(index, numerals)` rejects, until every value is accepted. Restricted
    /// this way the permutation is a permutation of the accepted set, so
    /// ``decrypt(_:tweak:maxWalkPasses:walkingUntil:)`` with the same `accept` inverts it exactly.
    ///
    /// Values on the 64-bit path walk inside the engine (their halves stay integers between
    /// passes and only the values still walking are re-encrypted); others are re-submitted.
    ///
    /// - Parameter number: the same test on the value as a number, NUM_radix(X) (numerals most
    ///   significant first, leading zeros included), for callers that can tell membership from the
    ///   number: the caller guarantees `number(k, NUM_radix(X)) == accept(k, X)`. FF1 values whose
    ///   number fits in 64 bits are then tested without being written back as numerals between
    ///   passes; others use `accept`.
    ///
    /// - Parameter maxWalkPasses: re-encryption passes allowed after the first encryption; more
    ///   means the accepted set is far smaller than the caller said (or the cipher is broken).
    /// - Throws: as ``encrypt(_:tweak:)`` (batch unchanged), or `.walkDidNotConverge` and the
    ///   block cipher's errors during a walk, after which the batch's contents are unspecified.
    public func encrypt(
        _ batch: inout NumeralBatch, tweak: [UInt8], maxWalkPasses: Int,
        walkingUntil accept: (Int, UnsafeBufferPointer<UInt16>) -> Bool, number: ((Int, UInt64) -> Bool)? = nil
    ) throws {
        try processWalking(
            &batch, tweaks: .shared(tweak), decrypting: false, maxWalkPasses: maxWalkPasses, accept: accept, acceptNumber: number)
    }

    /// Inverts ``encrypt(_:tweak:maxWalkPasses:walkingUntil:)``: decrypts and cycle-walks until
    /// every value is accepted.
    public func decrypt(
        _ batch: inout NumeralBatch, tweak: [UInt8], maxWalkPasses: Int,
        walkingUntil accept: (Int, UnsafeBufferPointer<UInt16>) -> Bool, number: ((Int, UInt64) -> Bool)? = nil
    ) throws {
        try processWalking(
            &batch, tweaks: .shared(tweak), decrypting: true, maxWalkPasses: maxWalkPasses, accept: accept, acceptNumber: number)
    }

    // MARK: - Per-value tweaks

    /// Encrypts every value of `batch` in place, value `k` under its own tweak
    /// `tweaks[k·tweakLength ..< (k+1)·tweakLength]` (all tweaks have one length). Same result as
    /// encrypting each value alone under its tweak, at the cost of one batch: the tweak-dependent
    /// FF1 constants are computed per value in batched AES calls, the rounds stay one call each.
    ///
    /// - Throws: as ``encrypt(_:tweak:)``; `.invalidTweak` when `tweakLength` does not fit the
    ///   algorithm or `tweaks` does not hold one tweak per value.
    public func encrypt(_ batch: inout NumeralBatch, tweaks: [UInt8], tweakLength: Int) throws {
        try process(&batch, tweaks: .perValue(tweaks, tweakLength), decrypting: false)
    }

    /// Inverts ``encrypt(_:tweaks:tweakLength:)``.
    public func decrypt(_ batch: inout NumeralBatch, tweaks: [UInt8], tweakLength: Int) throws {
        try process(&batch, tweaks: .perValue(tweaks, tweakLength), decrypting: true)
    }

    /// ``encrypt(_:tweak:maxWalkPasses:walkingUntil:)`` with a tweak per value (see
    /// ``encrypt(_:tweaks:tweakLength:)``).
    public func encrypt(
        _ batch: inout NumeralBatch, tweaks: [UInt8], tweakLength: Int, maxWalkPasses: Int,
        walkingUntil accept: (Int, UnsafeBufferPointer<UInt16>) -> Bool, number: ((Int, UInt64) -> Bool)? = nil
    ) throws {
        try processWalking(
            &batch, tweaks: .perValue(tweaks, tweakLength), decrypting: false, maxWalkPasses: maxWalkPasses, accept: accept,
            acceptNumber: number)
    }

    /// Inverts ``encrypt(_:tweaks:tweakLength:maxWalkPasses:walkingUntil:)``.
    public func decrypt(
        _ batch: inout NumeralBatch, tweaks: [UInt8], tweakLength: Int, maxWalkPasses: Int,
        walkingUntil accept: (Int, UnsafeBufferPointer<UInt16>) -> Bool, number: ((Int, UInt64) -> Bool)? = nil
    ) throws {
        try processWalking(
            &batch, tweaks: .perValue(tweaks, tweakLength), decrypting: true, maxWalkPasses: maxWalkPasses, accept: accept,
            acceptNumber: number)
    }

    /// Encrypts one value (a batch of one).
    public func encrypt(_ value: [UInt16], tweak: [UInt8]) throws -> [UInt16] {
        var batch = NumeralBatch()
        batch.append(value)
        try encrypt(&batch, tweak: tweak)
        return batch.numerals
    }

    /// Decrypts one value (a batch of one).
    public func decrypt(_ value: [UInt16], tweak: [UInt8]) throws -> [UInt16] {
        var batch = NumeralBatch()
        batch.append(value)
        try decrypt(&batch, tweak: tweak)
        return batch.numerals
    }
}

/// A grow-only, 16-byte-aligned scratch buffer that remembers how much of it a call has used and
/// zeroizes that before it is reused for anything else, replaced or released.
struct Scratch: ~Copyable {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    /// Bytes handed out since the last wipe.
    private var used = 0

    init() {
        capacity = 256
        base = .allocate(byteCount: capacity, alignment: 16)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
    }

    /// Makes room for `bytes` bytes (contents are not preserved) and counts them as used.
    mutating func reserve(_ bytes: Int) {
        if bytes > capacity {
            zeroize(UnsafeMutableRawBufferPointer(start: base, count: used))
            base.deallocate()
            capacity = Swift.max(bytes, capacity * 2)
            base = .allocate(byteCount: capacity, alignment: 16)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
            used = 0
        }
        used = Swift.max(used, bytes)
    }

    /// Overwrites the used bytes with zeros.
    mutating func wipe() {
        zeroize(UnsafeMutableRawBufferPointer(start: base, count: used))
        used = 0
    }

    deinit {
        zeroize(UnsafeMutableRawBufferPointer(start: base, count: capacity))
        base.deallocate()
    }
}
