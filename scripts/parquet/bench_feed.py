#!/usr/bin/env python3
"""Convert a CSV feed to snappy Parquet with pyarrow defaults: the benchmark input for tokengate.

Usage: .venv/bin/python scripts/parquet/bench_feed.py CSV OUT.parquet

Every column is read as a string (pyarrow.csv.open_csv, streaming, so memory stays flat whatever
the feed's size); the header row names the columns. Written with pq.ParquetWriter, SNAPPY,
pyarrow's default page/dictionary settings, row groups of 1 Mi rows (pyarrow's default
row_group_size; the streamed batches are gathered until a row group is full). Prints one JSON
object: {"rows", "row_groups", "columns", "bytes", "seconds", "max_rss_kib"}.
"""
import json
import os
import resource
import sys
import time

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

ROW_GROUP = 1 << 20


def header(path):
    r = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 16))
    return r.schema.names


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench_feed.py CSV OUT.parquet")
    src, dst = sys.argv[1:]
    t0 = time.monotonic()
    names = header(src)
    conv = pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
    reader = pcsv.open_csv(src, read_options=pcsv.ReadOptions(block_size=8 << 20), convert_options=conv)
    writer = pq.ParquetWriter(dst, reader.schema, compression="snappy")
    pending, npending, rows, groups = [], 0, 0, 0

    def flush():
        nonlocal pending, npending, groups
        if npending:
            writer.write_table(pa.Table.from_batches(pending, reader.schema), row_group_size=ROW_GROUP)
            groups += 1
        pending, npending = [], 0

    for batch in reader:
        while batch.num_rows:
            take = min(batch.num_rows, ROW_GROUP - npending)
            pending.append(batch.slice(0, take))
            npending += take
            rows += take
            batch = batch.slice(take)
            if npending == ROW_GROUP:
                flush()
    flush()
    writer.close()
    print(json.dumps({"rows": rows, "row_groups": groups, "columns": len(names), "bytes": os.path.getsize(dst),
                      "seconds": round(time.monotonic() - t0, 3),
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
