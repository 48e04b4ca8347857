// Public import: the inlinable functions below call libc from their callers' modules.
#if canImport(Glibc)
    public import Glibc
#elseif canImport(Musl)
    public import Musl
#elseif canImport(Darwin)
    public import Darwin
#endif

/// libc's byte search and comparison (`memchr`, `memcmp`) for hot loops in other modules;
/// inlinable, so they cost what the libc call costs.
public enum Memory {
    /// Offset of the first `byte` in the `count` bytes at `base`, or nil.
    @inlinable @inline(__always)
    public static func firstOffset(of byte: UInt8, in base: UnsafeRawPointer, count: Int) -> Int? {
        guard count > 0, let r = memchr(base, Int32(byte), count) else { return nil }
        return base.distance(to: UnsafeRawPointer(r))
    }

    /// Whether the `count` bytes at `a` and `b` are equal.
    @inlinable @inline(__always)
    public static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        memcmp(a, b, count) == 0
    }
}

/// The system's wall clock.
public enum SystemClock {
    /// Whole seconds since 1970-01-01T00:00:00Z (`clock_gettime(CLOCK_REALTIME)`).
    public static func secondsSinceEpoch() -> Int {
        var ts = timespec()
        // CLOCK_REALTIME always exists; a failure would leave ts at the epoch, so check it.
        guard clock_gettime(CLOCK_REALTIME, &ts) == 0 else {
            preconditionFailure("clock_gettime(CLOCK_REALTIME) failed")
        }
        return Int(ts.tv_sec)
    }
}
