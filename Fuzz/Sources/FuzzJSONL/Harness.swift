import Formats
import ReaderChecks

/// JSON Lines reader over arbitrary bytes. The first byte picks the batch, chunk, read and
/// record-size limits. Invariants: ReaderChecks.readChecked (rows in = rows out + rejected, every
/// line number once) and, with no rejects, the JSONLWriter output equals the input byte for byte.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let shape = ReadShape(data[0])
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    var options = JSONLReadOptions(batchRows: shape.batchRows, chunkSize: shape.chunkSize, maxRecordBytes: shape.maxRecordBytes)
    if (data[0] & 0x80) != 0 { options.maxDepth = 4 }
    guard var reader = try? JSONLReader(source: MemorySource(input, maxReadSize: shape.maxReadSize), options: options) else {
        fatalError("valid options refused")
    }
    guard let all = readChecked(&reader, input: input, batchRows: shape.batchRows, contiguousFrom: nil) else { return 0 }
    let sink = MemorySink()
    do {
        var writer = JSONLWriter(sink: sink)
        for b in all.batches { try writer.write(b) }
        try writer.flush()
    } catch {
        fatalError("writing back what was read failed: \(error)")
    }
    requireRoundTrip(input, sink.bytes, rejects: all.rejects)
    return 0
}
