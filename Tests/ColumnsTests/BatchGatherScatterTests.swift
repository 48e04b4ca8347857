import Columns
import Testing

@Suite struct BatchGatherScatter {
    /// A JSON Lines-like batch: column 0 with one cell of each kind, column 1 plain text.
    static func jsonBatch() -> Batch {
        let kinds: [CellKind] = [.string, .null, .number, .boolean, .absent, .object, .array, .quotedText, .text, .string]
        let values = ["ann", "null", "42", "true", "", "{\"a\":1}", "[1]", "q", "t", ""]
        var layout = SourceLayout(format: .jsonl, columnCount: 2)
        layout.kinds[0] = kinds.map(\.rawValue)
        return Batch(
            names: ["v", "w"], columns: [ByteColumn(values), ByteColumn((0..<10).map { "w\($0)" })],
            rowNumbers: Array(1...10), prologue: [], epilogue: [], layout: layout)
    }

    @Test func gatherTakesNonEmptyTextCellsInRowOrder() {
        let b = Batch(names: ["a"], columns: [ByteColumn(["x", "", "yyy", "", "z"])])
        let g = b.gatherValues(column: 0)
        #expect(g.column == 0 && g.rows == [0, 2, 4] && g.count == 3)
        #expect(g.values.strings == ["x", "yyy", "z"])
    }

    @Test func gatherSkipsNullBooleanObjectArrayAndAbsentCells() {
        let g = Self.jsonBatch().gatherValues(column: 0)
        #expect(g.rows == [0, 2, 7, 8])
        #expect(g.values.strings == ["ann", "42", "q", "t"])
        #expect(Self.jsonBatch().gatherValues(column: 1).rows == Array(0..<10), "a column without kinds is plain text")
    }

    @Test func gatherOfAColumnWithoutValuesIsEmpty() {
        let b = Batch(names: ["a", "b"], columns: [ByteColumn(["", ""]), ByteColumn(["1", "2"])])
        let g = b.gatherValues(column: 0)
        #expect(g.isEmpty && g.values.isEmpty)
        let none = Batch(names: ["a"], columns: [ByteColumn()]).gatherValues(column: 0)
        #expect(none.isEmpty)
    }

    @Test func scatterReplacesGatheredCellsAndKeepsTheRest() {
        var b = Self.jsonBatch()
        let g = b.gatherValues(column: 0)
        // Longer, shorter and empty replacements; gathered value 2 ("q") keeps its source.
        b.scatter(ByteColumn(["ANNE-MARIE", "7", "ignored", ""]), into: g, keepingSource: [2])
        #expect(b.columns[0].strings == ["ANNE-MARIE", "null", "7", "true", "", "{\"a\":1}", "[1]", "q", "", ""])
        #expect(b.isReplaced(column: 0) && !b.isReplaced(column: 1))
        #expect(b.sourceColumn(0) == Self.jsonBatch().columns[0], "the source values stay reachable")
        #expect(b.columns[1] == Self.jsonBatch().columns[1])
        #expect(b.kind(row: 1, column: 0) == .null, "cell kinds are untouched")
    }

    @Test func scatteringWhatWasGatheredLeavesTheValuesEqual() {
        var b = Batch(names: ["a", "b"], columns: [ByteColumn(["1", "", "333", "4444"]), ByteColumn(["p", "q", "r", "s"])])
        let before = b.columns
        let g = b.gatherValues(column: 0)
        b.scatter(g.values, into: g)
        #expect(b.columns == before)
        var all = b
        all.scatter(ByteColumn(["a", "b", "c"]), into: g, keepingSource: [0, 1, 2])
        #expect(all.columns == before)
    }

    @Test func gatherAndScatterFollowRowFiltering() {
        var b = Batch(names: ["a"], columns: [ByteColumn(["1", "", "3", "4"])])
        b.removeRows(keep: [true, true, false, true])
        let g = b.gatherValues(column: 0)
        #expect(g.rows == [0, 2])
        b.scatter(ByteColumn(["x", "y"]), into: g)
        #expect(b.columns[0].strings == ["x", "", "y"])
    }
}
