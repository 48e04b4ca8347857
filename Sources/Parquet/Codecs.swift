import CBrotli
import CLz4
import CSnappy
import CZlib
import CZstd

/// Page compression and decompression for the codecs Parquet files use in practice:
/// UNCOMPRESSED, SNAPPY (raw snappy, not the framing format), GZIP (a gzip-wrapped deflate
/// stream; zlib-wrapped streams and concatenated gzip members are also read) and ZSTD (one or
/// more zstd frames, with or without a content size), LZ4_RAW (one LZ4 block), LZ4 (the
/// deprecated Hadoop framing — big-endian uncompressed and compressed sizes before each block —
/// read, like parquet-cpp, falling back to a plain block) and BROTLI. LZO is refused as
/// `.unsupported`.
///
/// Every C return value is checked; a failure is a ``ParquetError`` whose reason names the codec
/// and the C library's error name. A page that does not decompress to exactly the size its header
/// states is `.corrupt`.
public enum PageCodec {
    /// The zstd level ``compress(_:_:into:)`` uses: 1, the fastest standard level and pyarrow's
    /// (parquet-cpp's) default. The gateway rewrites whole files on its hot path, and level 1
    /// compresses about twice as fast as level 3 for a few percent larger pages.
    public static let zstdLevel: Int32 = 1

    /// Decompresses one page body and appends exactly `uncompressedSize` bytes to `output`.
    ///
    /// `uncompressedSize` is the page header's `uncompressed_page_size` (less the level bytes for
    /// a v2 page). Output of any other size, malformed input and a negative size are `.corrupt`;
    /// on any error `output` is left as it was. Uses a fresh context; a reader decompressing many
    /// pages should keep a ``PageCodecContext`` and call
    /// ``decompress(_:_:uncompressedSize:into:context:)``.
    public static func decompress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, uncompressedSize: Int, into output: inout [UInt8]) throws {
        var context = PageCodecContext()
        try decompress(codec, input, uncompressedSize: uncompressedSize, into: &output, context: &context)
    }

    /// ``decompress(_:_:uncompressedSize:into:)`` reusing `context`'s C state (a zstd
    /// decompression context) across calls.
    public static func decompress(
        _ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, uncompressedSize: Int, into output: inout [UInt8], context: inout PageCodecContext
    ) throws {
        guard uncompressedSize >= 0 else { throw ParquetError(.corrupt, "\(codec) page: negative uncompressed size \(uncompressedSize)") }
        try checkSupported(codec)
        if codec == .uncompressed {
            guard input.count == uncompressedSize else {
                throw ParquetError(.corrupt, "UNCOMPRESSED page: \(input.count) bytes, header states \(uncompressedSize)")
            }
            output.append(contentsOf: input)
            return
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: uncompressedSize))
        do {
            try output.withUnsafeMutableBytes { all in
                let dst = UnsafeMutableRawBufferPointer(rebasing: all[start...])
                switch codec {
                case .snappy: try snappyDecompress(input, dst)
                case .gzip: try inflateAll(input, dst)
                case .lz4Raw: try lz4Decompress(input, dst, what: "LZ4_RAW")
                case .lz4: try hadoopLZ4Decompress(input, dst)
                case .brotli: try brotliDecompress(input, dst)
                default: try context.zstdDecompress(input, dst)
                }
            }
        } catch {
            output.removeSubrange(start...)
            throw error
        }
    }

    /// Compresses `input` with `codec`, appending the page body to `output`; returns the number of
    /// bytes appended. UNCOMPRESSED copies. GZIP writes a gzip wrapper at zlib's default level;
    /// ZSTD writes one frame (with its content size) at ``zstdLevel``.
    @discardableResult
    public static func compress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws -> Int {
        var context = PageCodecContext()
        return try compress(codec, input, into: &output, context: &context)
    }

    /// ``compress(_:_:into:)`` reusing `context`'s C state (a zstd compression context).
    @discardableResult
    public static func compress(
        _ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, into output: inout [UInt8], context: inout PageCodecContext
    ) throws
        -> Int
    {
        try checkSupported(codec)
        if codec == .uncompressed {
            output.append(contentsOf: input)
            return input.count
        }
        let bound: Int
        switch codec {
        case .snappy: bound = snappy_max_compressed_length(input.count)
        case .gzip: bound = try gzipBound(input.count)
        case .lz4Raw, .lz4:
            guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else {
                throw ParquetError(.unencodable, "\(codec) compress: a page of \(input.count) bytes is too large")
            }
            bound = Int(LZ4_compressBound(Int32(input.count))) + (codec == .lz4 ? 8 : 0)
        case .brotli: bound = BrotliEncoderMaxCompressedSize(input.count)
        default:
            bound = ZSTD_compressBound(input.count)
            if ZSTD_isError(bound) != 0 { throw zstdError("ZSTD compress", bound) }
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        do {
            let written = try output.withUnsafeMutableBytes { all in
                let dst = UnsafeMutableRawBufferPointer(rebasing: all[start...])
                switch codec {
                case .snappy: return try snappyCompress(input, dst)
                case .gzip: return try deflateAll(input, dst)
                case .lz4Raw: return try lz4Compress(input, dst)
                case .lz4:
                    // Hadoop framing: one block, its sizes big-endian in front.
                    let n = try lz4Compress(input, UnsafeMutableRawBufferPointer(rebasing: dst[8...]))
                    for (i, v) in [UInt32(input.count), UInt32(n)].enumerated() {
                        for j in 0..<4 { dst[4 * i + j] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * j)) }
                    }
                    return n + 8
                case .brotli: return try brotliCompress(input, dst)
                default: return try context.zstdCompress(input, dst)
                }
            }
            output.removeSubrange((start + written)...)
            return written
        } catch {
            output.removeSubrange(start...)
            throw error
        }
    }

    /// Whether this implementation reads and writes `codec`.
    public static func isSupported(_ codec: CompressionCodec) -> Bool {
        [.uncompressed, .snappy, .gzip, .zstd, .lz4Raw, .lz4, .brotli].contains(codec)
    }

    /// The brotli quality ``compress(_:_:into:)`` uses: 5, far faster than the library's default
    /// (11) for pages a few percent larger.
    public static let brotliQuality: Int32 = 5

    // MARK: LZ4, brotli

    private static func lz4Decompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer, what: String) throws {
        guard input.count <= Int(Int32.max), dst.count <= Int(Int32.max) else { throw ParquetError(.corrupt, "\(what) page: too large") }
        var one: UInt8 = 0
        let n = withUnsafeMutablePointer(to: &one) { onePtr in
            let src = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafeRawPointer(onePtr).assumingMemoryBound(to: CChar.self)
            let out = dst.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafeMutableRawPointer(onePtr).assumingMemoryBound(to: CChar.self)
            return LZ4_decompress_safe(src, out, Int32(input.count), Int32(dst.count))
        }
        guard n >= 0 else { throw ParquetError(.corrupt, "\(what) page: LZ4_decompress_safe failed (\(n))") }
        guard Int(n) == dst.count else { throw ParquetError(.corrupt, "\(what) page: decompressed to \(n) bytes, header states \(dst.count)") }
    }

    private static func hadoopLZ4Decompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws {
        func be32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(input[at + $1]) } }
        // Hadoop blocks while their sizes add up exactly; otherwise a plain LZ4 block.
        var at = 0
        var out = 0
        var framed = input.count >= 8
        while framed && at < input.count {
            guard input.count - at >= 8 else {
                framed = false
                break
            }
            let raw = be32(at)
            let compressed = be32(at + 4)
            guard raw <= dst.count - out, compressed <= input.count - at - 8 else {
                framed = false
                break
            }
            do {
                try lz4Decompress(
                    UnsafeRawBufferPointer(rebasing: input[(at + 8)..<(at + 8 + compressed)]), UnsafeMutableRawBufferPointer(rebasing: dst[out..<(out + raw)]),
                    what: "LZ4")
            } catch {
                framed = false
                break
            }
            at += 8 + compressed
            out += raw
        }
        if framed && out == dst.count { return }
        try lz4Decompress(input, dst, what: "LZ4")
    }

    private static func lz4Compress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws -> Int {
        var one: UInt8 = 0
        let n = withUnsafeMutablePointer(to: &one) { onePtr in
            let src = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafeRawPointer(onePtr).assumingMemoryBound(to: CChar.self)
            return LZ4_compress_default(src, dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(input.count), Int32(min(dst.count, Int(Int32.max))))
        }
        guard n > 0 || input.isEmpty else { throw ParquetError(.unencodable, "LZ4 compress failed (LZ4_compress_default returned \(n))") }
        return Int(n)
    }

    private static func brotliDecompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws {
        var one: UInt8 = 0
        var size = dst.count
        let rc = withUnsafeMutablePointer(to: &one) { onePtr in
            let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(onePtr)
            let out = dst.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? onePtr
            return BrotliDecoderDecompress(input.count, src, &size, out)
        }
        guard rc == BROTLI_DECODER_RESULT_SUCCESS else { throw ParquetError(.corrupt, "BROTLI page: BrotliDecoderDecompress failed (result \(rc.rawValue))") }
        guard size == dst.count else { throw ParquetError(.corrupt, "BROTLI page: decompressed to \(size) bytes, header states \(dst.count)") }
    }

    private static func brotliCompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws -> Int {
        var one: UInt8 = 0
        var size = dst.count
        let ok = withUnsafeMutablePointer(to: &one) { onePtr in
            let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(onePtr)
            return BrotliEncoderCompress(
                brotliQuality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, input.count, src, &size, dst.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard ok == BROTLI_TRUE else { throw ParquetError(.unencodable, "BROTLI compress failed (BrotliEncoderCompress)") }
        return size
    }

    private static func checkSupported(_ codec: CompressionCodec) throws {
        guard isSupported(codec) else { throw ParquetError(.unsupported, "codec \(codec) is not supported") }
    }

    // MARK: snappy

    private static func snappyStatusName(_ s: snappy_status) -> String {
        switch s {
        case SNAPPY_OK: "SNAPPY_OK"
        case SNAPPY_INVALID_INPUT: "SNAPPY_INVALID_INPUT"
        case SNAPPY_BUFFER_TOO_SMALL: "SNAPPY_BUFFER_TOO_SMALL"
        default: "snappy_status \(s.rawValue)"
        }
    }

    private static func snappyDecompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws {
        var one: UInt8 = 0
        try withUnsafeMutablePointer(to: &one) { onePtr in
            let src = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafeRawPointer(onePtr).assumingMemoryBound(to: CChar.self)
            var stated = 0
            let s1 = snappy_uncompressed_length(src, input.count, &stated)
            guard s1 == SNAPPY_OK else { throw ParquetError(.corrupt, "SNAPPY page: snappy_uncompressed_length failed: \(snappyStatusName(s1))") }
            guard stated == dst.count else {
                throw ParquetError(.corrupt, "SNAPPY page: decompresses to \(stated) bytes, header states \(dst.count)")
            }
            var length = dst.count
            let out = dst.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafeMutableRawPointer(onePtr).assumingMemoryBound(to: CChar.self)
            let s2 = snappy_uncompress(src, input.count, out, &length)
            guard s2 == SNAPPY_OK else { throw ParquetError(.corrupt, "SNAPPY page: snappy_uncompress failed: \(snappyStatusName(s2))") }
            guard length == dst.count else {
                throw ParquetError(.corrupt, "SNAPPY page: decompressed to \(length) bytes, header states \(dst.count)")
            }
        }
    }

    private static func snappyCompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws -> Int {
        var one: UInt8 = 0
        return try withUnsafeMutablePointer(to: &one) { onePtr in
            let src = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafeRawPointer(onePtr).assumingMemoryBound(to: CChar.self)
            var length = dst.count
            let s = snappy_compress(src, input.count, dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            guard s == SNAPPY_OK else { throw ParquetError(.unencodable, "SNAPPY compress failed: \(snappyStatusName(s))") }
            return length
        }
    }

    // MARK: zlib

    private static func zlibName(_ code: Int32) -> String {
        switch code {
        case Z_OK: "Z_OK"
        case Z_STREAM_END: "Z_STREAM_END"
        case Z_NEED_DICT: "Z_NEED_DICT"
        case Z_ERRNO: "Z_ERRNO"
        case Z_STREAM_ERROR: "Z_STREAM_ERROR"
        case Z_DATA_ERROR: "Z_DATA_ERROR"
        case Z_MEM_ERROR: "Z_MEM_ERROR"
        case Z_BUF_ERROR: "Z_BUF_ERROR"
        case Z_VERSION_ERROR: "Z_VERSION_ERROR"
        default: "zlib code \(code)"
        }
    }

    private static func zlibError(_ code: ParquetErrorCode, _ what: String, _ rc: Int32, _ stream: z_stream) -> ParquetError {
        var reason = "GZIP page: \(what) failed: \(zlibName(rc))"
        if let msg = stream.msg { reason += " (\(String(cString: msg)))" }
        return ParquetError(code, reason)
    }

    /// Inflates gzip (or zlib) members from `input` into exactly `dst`.
    private static func inflateAll(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws {
        guard input.count <= Int(UInt32.max), dst.count <= Int(UInt32.max) else {
            throw ParquetError(.unsupported, "GZIP page: pages over 4 GiB are not supported")
        }
        var stream = z_stream()
        var rc = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw zlibError(.io, "inflateInit2", rc, stream) }
        defer { inflateEnd(&stream) }
        var scratch: UInt8 = 0
        try withUnsafeMutablePointer(to: &scratch) { scratchPtr in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self)) ?? scratchPtr
            stream.avail_in = UInt32(input.count)
            stream.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self) ?? scratchPtr
            stream.avail_out = UInt32(dst.count)
            while true {
                rc = inflate(&stream, Z_FINISH)
                if rc == Z_STREAM_END {
                    if stream.avail_in == 0 { break }
                    // Another gzip member follows.
                    rc = inflateReset(&stream)
                    guard rc == Z_OK else { throw zlibError(.corrupt, "inflateReset", rc, stream) }
                    continue
                }
                if rc == Z_BUF_ERROR || (rc == Z_OK && stream.avail_out == 0) {
                    if stream.avail_out == 0 {
                        throw ParquetError(.corrupt, "GZIP page: decompresses to more than the \(dst.count) bytes the header states")
                    }
                    throw ParquetError(.corrupt, "GZIP page: truncated deflate stream (\(zlibName(rc)))")
                }
                if rc != Z_OK { throw zlibError(.corrupt, "inflate", rc, stream) }
            }
            let produced = dst.count - Int(stream.avail_out)
            guard produced == dst.count else {
                throw ParquetError(.corrupt, "GZIP page: decompressed to \(produced) bytes, header states \(dst.count)")
            }
        }
    }

    private static func gzipBound(_ n: Int) throws -> Int {
        // Covers deflate's worst case (stored blocks: 5 bytes per 16 KiB block at most) plus the
        // gzip header and trailer (18 bytes).
        guard n <= Int(UInt32.max) / 2 else { throw ParquetError(.unencodable, "GZIP compress: pages over 2 GiB are not supported") }
        return n + (n >> 3) + (n >> 6) + 64
    }

    private static func deflateAll(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws -> Int {
        var stream = z_stream()
        var rc = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw zlibError(.io, "deflateInit2", rc, stream) }
        defer { deflateEnd(&stream) }
        var scratch: UInt8 = 0
        return try withUnsafeMutablePointer(to: &scratch) { scratchPtr in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self)) ?? scratchPtr
            stream.avail_in = UInt32(input.count)
            stream.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = UInt32(dst.count)
            rc = deflate(&stream, Z_FINISH)
            guard rc == Z_STREAM_END else { throw zlibError(.unencodable, "deflate", rc, stream) }
            return dst.count - Int(stream.avail_out)
        }
    }
}

/// Reusable C state for ``PageCodec``: a zstd decompression and compression context, created on
/// first use and freed with the value. Non-copyable and not `Sendable`: each task or thread
/// keeps its own, so no C state is ever shared.
public struct PageCodecContext: ~Copyable {
    private var dctx: OpaquePointer?
    private var cctx: OpaquePointer?

    /// An empty context (no C state allocated until a ZSTD page is seen).
    public init() {}

    deinit {
        if let dctx { ZSTD_freeDCtx(dctx) }
        if let cctx { ZSTD_freeCCtx(cctx) }
    }

    mutating func zstdDecompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws {
        if dctx == nil {
            dctx = ZSTD_createDCtx()
            guard dctx != nil else { throw ParquetError(.io, "ZSTD page: ZSTD_createDCtx failed (out of memory)") }
        }
        var scratch: UInt8 = 0
        let n = withUnsafeMutablePointer(to: &scratch) { scratchPtr in
            ZSTD_decompressDCtx(
                dctx, dst.baseAddress ?? UnsafeMutableRawPointer(scratchPtr), dst.count, input.baseAddress ?? UnsafeRawPointer(scratchPtr), input.count)
        }
        // A page larger than the stated size fails here too ("Destination buffer is too small").
        if ZSTD_isError(n) != 0 { throw zstdError("ZSTD page: ZSTD_decompressDCtx (header states \(dst.count) bytes)", n) }
        guard n == dst.count else { throw ParquetError(.corrupt, "ZSTD page: decompressed to \(n) bytes, header states \(dst.count)") }
    }

    mutating func zstdCompress(_ input: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) throws -> Int {
        if cctx == nil {
            cctx = ZSTD_createCCtx()
            guard cctx != nil else { throw ParquetError(.io, "ZSTD compress: ZSTD_createCCtx failed (out of memory)") }
        }
        var scratch: UInt8 = 0
        let n = withUnsafeMutablePointer(to: &scratch) { scratchPtr in
            ZSTD_compressCCtx(cctx, dst.baseAddress!, dst.count, input.baseAddress ?? UnsafeRawPointer(scratchPtr), input.count, PageCodec.zstdLevel)
        }
        if ZSTD_isError(n) != 0 { throw zstdError("ZSTD compress: ZSTD_compressCCtx", n, code: .unencodable) }
        return n
    }
}

private func zstdError(_ what: String, _ rc: Int, code: ParquetErrorCode = .corrupt) -> ParquetError {
    let name = ZSTD_getErrorName(rc).map { String(cString: $0) } ?? "unknown"
    return ParquetError(code, "\(what) failed: \(name))")
}
