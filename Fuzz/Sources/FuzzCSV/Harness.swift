import Formats
import ReaderChecks

/// CSV reader over arbitrary bytes. The first byte picks the batch, chunk, read and record-size
/// limits, the second the dialect (delimiter, header or not); the rest is the CSV. Invariants: ReaderChecks.readChecked (rows in =
/// rows out + rejected, every record number once) and, with no rejects, the CSVWriter output
/// equals the input byte for byte.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let shape = ReadShape(data[0])
    let input = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    let delimiter = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")][Int(data[1] & 3)]
    let hasHeader = (data[1] & 4) == 0
    let options = CSVReadOptions(
        delimiter: delimiter, hasHeader: hasHeader, batchRows: shape.batchRows, chunkSize: shape.chunkSize,
        maxRecordBytes: shape.maxRecordBytes)
    guard var reader = try? CSVReader(source: MemorySource(input, maxReadSize: shape.maxReadSize), options: options) else {
        fatalError("valid options refused")
    }
    guard let all = readChecked(&reader, input: input, batchRows: shape.batchRows, contiguousFrom: hasHeader ? 2 : 1) else { return 0 }
    let sink = MemorySink()
    do {
        var writer = try CSVWriter(sink: sink)
        for b in all.batches { try writer.write(b) }
        try writer.flush()
    } catch {
        fatalError("writing back what was read failed: \(error)")
    }
    requireRoundTrip(input, sink.bytes, rejects: all.rejects)
    return 0
}
