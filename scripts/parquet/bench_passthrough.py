#!/usr/bin/env python3
"""pyarrow's Parquet passthrough, the baseline for tokengate's Parquet throughput and memory.

Usage: .venv/bin/python scripts/parquet/bench_passthrough.py IN OUT

pq.read_table(IN) then pq.write_table(t, OUT) with IN's codec (that of its first column chunk;
NONE when IN has no row group) and pyarrow's other defaults. Prints one JSON object:
{"rows", "row_groups_in", "row_groups_out", "codec", "bytes_in", "bytes_out", "seconds",
"max_rss_kib"}; seconds is the wall time of read + write, max_rss_kib the process's peak RSS
(resource.getrusage ru_maxrss, KiB on Linux; it includes the interpreter and pyarrow, ~100 MB).
"""
import json
import os
import resource
import sys
import time

import pyarrow.parquet as pq


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench_passthrough.py IN OUT")
    src, dst = sys.argv[1:]
    md = pq.ParquetFile(src).metadata
    codec = md.row_group(0).column(0).compression if md.num_row_groups and md.num_columns else "UNCOMPRESSED"
    codec = "NONE" if codec == "UNCOMPRESSED" else codec
    t0 = time.monotonic()
    t = pq.read_table(src)
    pq.write_table(t, dst, compression=codec)
    secs = time.monotonic() - t0
    out = pq.ParquetFile(dst).metadata
    print(json.dumps({"rows": t.num_rows, "row_groups_in": md.num_row_groups, "row_groups_out": out.num_row_groups,
                      "codec": codec, "bytes_in": os.path.getsize(src), "bytes_out": os.path.getsize(dst),
                      "seconds": round(secs, 3),
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
