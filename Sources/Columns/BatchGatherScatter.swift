/// The cells of one column that a value transform takes, picked out of a ``Batch`` by
/// ``Batch/gatherValues(column:)``: their rows, ascending, and their values as one dense column
/// (value `k` is the cell of row `rows[k]`).
public struct GatheredValues: Sendable, Equatable {
    /// The batch column the values came from.
    public let column: Int
    /// Per gathered value, its row in the batch (ascending).
    public private(set) var rows: [Int]
    /// The gathered values, contiguous.
    public private(set) var values: ByteColumn

    init(column: Int, rows: [Int], values: ByteColumn) {
        self.column = column
        self.rows = rows
        self.values = values
    }

    /// Number of gathered values.
    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }
}

extension Batch {
    /// Gathers the cells of a column that hold a scalar value — non-empty, and for JSON Lines a
    /// string or a number (not `null`, a boolean, an object, an array or an absent key) — into one
    /// dense column, so a stage transforms them with one call.
    ///
    /// Copies each value's bytes once; allocates the two buffers and the row list once per call.
    ///
    /// - Parameters:
    ///   - column: the column index.
    ///   - fromRow: rows before this one are not gathered (they keep their values on scatter).
    /// - Returns: the gathered values and their rows; empty when no cell holds a value.
    public func gatherValues(column: Int, fromRow: Int = 0) -> GatheredValues {
        let source = columns[column]
        let rows = rowCount
        var picked: [Int] = []
        picked.reserveCapacity(rows)
        var values = ByteColumn(reservingValues: rows, bytes: source.bytes.count)
        let kinds = layout.kinds[column]  // empty: every cell is plain CSV text
        source.bytes.withUnsafeBytes { all in
            for r in min(fromRow, rows)..<rows {
                let range = source.offsets[r]..<source.offsets[r + 1]
                guard !range.isEmpty else { continue }
                if !kinds.isEmpty {
                    let kind = CellKind(rawValue: kinds[r]) ?? .text
                    guard kind != .absent, kind != .null, kind != .boolean, kind != .object, kind != .array else { continue }
                }
                picked.append(r)
                values.append(bytes: UnsafeRawBufferPointer(rebasing: all[range]))
            }
        }
        return GatheredValues(column: column, rows: picked, values: values)
    }

    /// Gathers exactly the cells of `rows` (ascending) of a column, whatever they hold — for a stage
    /// that computes their new values itself (for example rebuilt JSON containers) and scatters
    /// them back with ``scatter(_:into:keepingSource:)``.
    public func gatherCells(column: Int, rows: [Int]) -> GatheredValues {
        let source = columns[column]
        var values = ByteColumn(reservingValues: rows.count, bytes: 0)
        source.bytes.withUnsafeBytes { all in
            for r in rows { values.append(bytes: UnsafeRawBufferPointer(rebasing: all[source.offsets[r]..<source.offsets[r + 1]])) }
        }
        return GatheredValues(column: column, rows: rows, values: values)
    }

    /// Scatters transformed values back into the cells they were gathered from: the column is
    /// replaced (``replaceColumn(_:with:)``) by its source values with each gathered cell set to
    /// its replacement, except the gathered values listed in `keepingSource`, which keep theirs.
    ///
    /// - Parameters:
    ///   - replacements: one value per gathered value, in the same order.
    ///   - gathered: what ``gatherValues(column:)`` returned for this batch.
    ///   - keepingSource: indexes into the gathered values (not rows) whose cell stays as it was,
    ///     for example values a transform rejected.
    public mutating func scatter(_ replacements: ByteColumn, into gathered: GatheredValues, keepingSource: Set<Int> = []) {
        precondition(replacements.count == gathered.count, "scatter: \(replacements.count) values for \(gathered.count) gathered cells")
        let source = columns[gathered.column]
        let rows = rowCount
        let picked = gathered.rows
        var replaced = ByteColumn(reservingValues: rows, bytes: source.bytes.count + 16 * picked.count)
        var e = 0
        source.bytes.withUnsafeBytes { src in
            replacements.bytes.withUnsafeBytes { new in
                for r in 0..<rows {
                    if e < picked.count && picked[e] == r {
                        if keepingSource.contains(e) {
                            replaced.append(bytes: UnsafeRawBufferPointer(rebasing: src[source.offsets[r]..<source.offsets[r + 1]]))
                        } else {
                            replaced.append(bytes: UnsafeRawBufferPointer(rebasing: new[replacements.offsets[e]..<replacements.offsets[e + 1]]))
                        }
                        e += 1
                    } else {
                        replaced.append(bytes: UnsafeRawBufferPointer(rebasing: src[source.offsets[r]..<source.offsets[r + 1]]))
                    }
                }
            }
        }
        replaceColumn(gathered.column, with: replaced)
    }
}
