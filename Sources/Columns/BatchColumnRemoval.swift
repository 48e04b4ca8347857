extension Batch {
    /// The batch without the given columns (a policy's `drop`).
    ///
    /// - CSV read with a header: the header line in the prologue is rewritten with the remaining
    ///   names (quoted where needed, same line ending); rows lose those fields.
    /// - JSON Lines: each row's `"key": value` member is cut out of the source line with its
    ///   separating comma, so the rest of the line stays byte-identical.
    /// - Batches built in memory: the columns are simply removed.
    public func removingColumns(_ drop: Set<Int>) -> Batch {
        guard !drop.isEmpty else { return self }
        let keep = (0..<columnCount).filter { !drop.contains($0) }
        let newNames = keep.map { names[$0] }
        var newPrologue = prologue
        var l = layout
        l.kinds = keep.map { layout.kinds[$0] }
        l.originals = keep.map { layout.originals[$0] }
        if layout.sourceNames.count == columnCount { l.sourceNames = keep.map { layout.sourceNames[$0] } }
        switch layout.format {
        case .csv:
            newPrologue = Batch.rewriteHeader(prologue, names: newNames, delimiter: layout.delimiter)
        case .jsonl:
            Batch.cutMembers(
                &l, removed: drop.sorted().map { layout.spans[$0] }, kinds: drop.sorted().map { layout.kinds[$0] },
                keptSpans: keep.map { layout.spans[$0] }, rows: rowCount)
        case .memory, .parquet:
            break
        }
        return Batch(
            names: newNames, columns: keep.map { columns[$0] }, rowNumbers: rowNumbers,
            prologue: newPrologue, epilogue: epilogue, layout: l)
    }

    /// Replaces the last line of a CSV prologue (the header, when there is one: blank lines are
    /// empty) with `names`.
    static func rewriteHeader(_ prologue: [UInt8], names: [String], delimiter d: UInt8) -> [UInt8] {
        guard !prologue.isEmpty else { return prologue }
        var end = prologue.count
        var ending: [UInt8] = []
        if end > 0 && prologue[end - 1] == 0x0A {
            end -= 1
            ending = [0x0A]
            if end > 0 && prologue[end - 1] == 0x0D {
                end -= 1
                ending = [0x0D, 0x0A]
            }
        } else if end > 0 && prologue[end - 1] == 0x0D {
            end -= 1
            ending = [0x0D]  // a CR-terminated stream
        }
        let crOnly = ending == [0x0D]
        var start = end
        while start > 0 && prologue[start - 1] != 0x0A && !(crOnly && prologue[start - 1] == 0x0D) { start -= 1 }
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        if start == 0 && prologue.count >= 3 && Array(prologue[0..<3]) == bom { start = 3 }
        guard start < end else { return prologue }  // no header line (blank lines only)
        var header: [UInt8] = []
        for (j, name) in names.enumerated() {
            if j > 0 { header.append(d) }
            let b = Array(name.utf8)
            if b.contains(where: { $0 == d || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                header.append(0x22)
                for c in b {
                    header.append(c)
                    if c == 0x22 { header.append(0x22) }
                }
                header.append(0x22)
            } else {
                header.append(contentsOf: b)
            }
        }
        return Array(prologue[0..<start]) + header + ending
    }

    /// Cuts the members of removed JSON Lines columns out of each row's line and shifts the spans
    /// of the kept columns accordingly.
    static func cutMembers(_ l: inout SourceLayout, removed: [[Int]], kinds: [[UInt8]], keptSpans: [[Int]], rows: Int) {
        var lines = ByteColumn(reservingValues: rows, bytes: l.lines.bytes.count)
        var spans = keptSpans
        let absent = CellKind.absent.rawValue
        for r in 0..<rows {
            let line = Array(l.lines[r])
            var cuts: [Range<Int>] = []
            for (c, s) in removed.enumerated() where s.count > 2 * r {
                if !kinds[c].isEmpty && kinds[c][r] == absent { continue }
                if let cut = memberRange(line, valueStart: s[2 * r], valueEnd: s[2 * r + 1]) { cuts.append(cut) }
            }
            cuts.sort { $0.lowerBound < $1.lowerBound }
            // Merge overlaps (two adjacent removed members may share a comma).
            var merged: [Range<Int>] = []
            for c in cuts {
                if let last = merged.last, c.lowerBound <= last.upperBound {
                    merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, c.upperBound)
                } else {
                    merged.append(c)
                }
            }
            var newLine: [UInt8] = []
            var p = 0
            for c in merged {
                newLine.append(contentsOf: line[p..<c.lowerBound])
                p = c.upperBound
            }
            newLine.append(contentsOf: line[p...])
            lines.append(newLine[...])
            func shifted(_ x: Int) -> Int { x - merged.filter { $0.upperBound <= x }.reduce(0) { $0 + $1.count } }
            for k in spans.indices where spans[k].count > 2 * r {
                spans[k][2 * r] = shifted(spans[k][2 * r])
                spans[k][2 * r + 1] = shifted(spans[k][2 * r + 1])
            }
        }
        l.lines = lines
        l.spans = spans
    }

    /// The bytes of `"key": value` plus one separating comma (and the white space after it), given
    /// the value's span in the line; nil when the line does not have that shape.
    static func memberRange(_ line: [UInt8], valueStart: Int, valueEnd: Int) -> Range<Int>? {
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        var i = valueStart - 1
        while i >= 0 && isSpace(line[i]) { i -= 1 }
        guard i >= 0, line[i] == UInt8(ascii: ":") else { return nil }
        i -= 1
        while i >= 0 && isSpace(line[i]) { i -= 1 }
        guard i >= 0, line[i] == 0x22 else { return nil }
        // The key's opening quote: a quote preceded by an even number of backslashes.
        var q = i - 1
        while q >= 0 {
            if line[q] == 0x22 {
                var slashes = 0
                var b = q - 1
                while b >= 0 && line[b] == 0x5C {
                    slashes += 1
                    b -= 1
                }
                if slashes % 2 == 0 { break }
            }
            q -= 1
        }
        guard q >= 0 else { return nil }
        let keyStart = q
        var j = valueEnd
        while j < line.count && isSpace(line[j]) { j += 1 }
        if j < line.count && line[j] == UInt8(ascii: ",") {
            j += 1
            while j < line.count && isSpace(line[j]) { j += 1 }
            return keyStart..<j
        }
        // The last member: take the comma before it instead.
        var k = keyStart - 1
        while k >= 0 && isSpace(line[k]) { k -= 1 }
        if k >= 0 && line[k] == UInt8(ascii: ",") { return k..<valueEnd }
        return keyStart..<valueEnd
    }
}
