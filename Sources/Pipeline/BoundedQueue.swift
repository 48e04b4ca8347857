import Foundation

/// A blocking FIFO of at most `capacity` items between two pipeline stages (back-pressure: a
/// fast producer waits for a slow consumer, so memory is bounded by capacity × item size).
///
/// `close()` ends the stream (consumers drain what is left, then get nil); `cancel()` drops it
/// (producers and consumers return at once) — used when a stage fails.
final class BoundedQueue<Element>: @unchecked Sendable {
    // @unchecked: all state is guarded by `condition`.
    private let condition = NSCondition()
    private var items: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false
    private var cancelled = false
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "queue capacity must be positive")
        self.capacity = capacity
        items = Array(repeating: nil, count: capacity)
    }

    /// Appends an item, waiting while the queue is full. Returns false if the queue was cancelled.
    func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while count == capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        precondition(!closed, "push after close")
        items[(head + count) % capacity] = item
        count += 1
        condition.broadcast()
        return true
    }

    /// Removes the oldest item, waiting while empty; nil once closed and drained, or cancelled.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !closed && !cancelled { condition.wait() }
        if cancelled || count == 0 { return nil }
        let item = items[head]
        items[head] = nil
        head = (head + 1) % capacity
        count -= 1
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        for i in items.indices { items[i] = nil }
        count = 0
        condition.broadcast()
        condition.unlock()
    }
}

/// Counts batches in flight between reader and writer; the reader waits while `limit` are
/// unwritten, so the writer's reorder buffer stays bounded however uneven the workers are.
final class InFlightGate: @unchecked Sendable {
    // @unchecked: all state is guarded by `condition`.
    private let condition = NSCondition()
    private var inFlight = 0
    private var cancelled = false
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Waits for a free slot; false if cancelled.
    func acquire() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while inFlight >= limit && !cancelled { condition.wait() }
        if cancelled { return false }
        inFlight += 1
        return true
    }

    func release() {
        condition.lock()
        inFlight -= 1
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
