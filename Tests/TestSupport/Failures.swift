import Foundation

/// Collects failures from several threads for one assertion at the end.
public final class Failures: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var items: [String] = []
    public init() {}
    public func add(_ s: String) {
        lock.lock()
        items.append(s)
        lock.unlock()
    }
    public var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
