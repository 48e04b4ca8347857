#!/usr/bin/env python3
"""Parquet interop corpus for tokengate's native Parquet reader/writer.

Usage: .venv/bin/python scripts/parquet/make_corpus.py OUTDIR

Writes into OUTDIR (created if missing):
  pa_<codec>_v<1|2>_<dict|plain>.parquet  16 files from pyarrow: codecs NONE/SNAPPY/ZSTD/GZIP x
      data page version 1.0/2.0 x dictionary on/off; 1050 rows in row groups [450, 0, 350, 250]
      (the second one is empty), pages of at most 48 rows / 4096 bytes, ~11% nulls with rows 128..223 null in
      every nullable column (so each nullable column has at least one all-null page).
  fp_<codec>[_utf8].parquet  fastparquet (SNAPPY, GZIP; with and without object_encoding='utf8').
  duck_<codec>[_rg].parquet  duckdb COPY (zstd, snappy, and zstd with a small ROW_GROUP_SIZE).
  mr_<codec>_v<1|2>.parquet  parquet-mr (Spark SQL's writer): copied from Fixtures/parquet/parquet-mr/
      (committed; made by make_spark_files.py, so the suite needs no JVM for them).
  corpus.json  a list of {file, writer, codec, page_version, dictionary, rows, row_groups,
      columns: [{name, physical_type, logical_type, nullable, nested, pages, all_null_pages}]};
      rows is the total, row_groups the list of per-row-group row counts. pages/all_null_pages are
      counted from the page headers of every chunk (leaf columns; for a nested column, its first
      leaf), so a test can tell that the all-null page really exists.

Deterministic: fixed seeds, no clocks. Pyarrow writes an empty row group when write_table gets a
0-row table; that is checked after writing. fastparquet drops empty row groups (repeated
row_group_offsets are collapsed), so only the pyarrow files have one.
"""
import datetime
import decimal
import json
import os
import random
import sys

import duckdb
import fastparquet
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fastparquet.cencoding import NumpyIO, ThriftObject

SEED = 20240611
ROW_GROUPS = [450, 0, 350, 250]
NROWS = sum(ROW_GROUPS)
NULL_RUN = range(128, 224)  # >= 2 * max_rows_per_page rows: at least one page wholly null
RANDOM_NULL = 0.02
POOL = 100  # distinct random values per fixed-width column (plus specials): keeps the corpus small


def pooled(rng, values, keep=()):
    """values[i] for i in keep (the specials), otherwise one of values[:POOL] at random."""
    keep = set(keep)
    return [values[i] if i in keep else values[rng.randrange(POOL)] for i in range(len(values))]
EPOCH = datetime.date(1970, 1, 1)

# ---------------------------------------------------------------------------------------------
# PII-like values (synthetic)

def luhn_check_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


# 16-digit issuer ranges: Visa 4, Mastercard 51-55 and 2221-2720, Discover 6011 / 644-649 / 65,
# JCB 3528-3589.
def issuer_prefix(rng):
    k = rng.randrange(6)
    if k == 0:
        return "4"
    if k == 1:
        return str(rng.randint(51, 55))
    if k == 2:
        return str(rng.randint(2221, 2720))
    if k == 3:
        return rng.choice(["6011", "65", str(rng.randint(644, 649))])
    if k == 4:
        return str(rng.randint(3528, 3589))
    return "4"


def card_number(rng):
    p = issuer_prefix(rng)
    body = p + "".join(rng.choice("0123456789") for _ in range(15 - len(p)))
    return body + luhn_check_digit(body)


def ssn(rng):
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        group = rng.randint(1, 99)
        serial = rng.randint(1, 9999)
        s = "%03d-%02d-%04d" % (area, group, serial)
        if s in ("078-05-1120", "219-09-9999"):
            continue
        return s


GIVEN = ["ana", "bo", "chen", "dmitri", "eve", "fatima", "gus", "hiro", "ines", "jo", "kai", "li"]
FAMILY = ["smith", "garcia", "kim", "novak", "okafor", "rossi", "tanaka", "weber", "x"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "test.example"]


def email(rng):
    return "%s.%s%s@%s" % (rng.choice(GIVEN), rng.choice(FAMILY),
                           rng.choice(["", str(rng.randint(1, 999)), "+tag"]), rng.choice(DOMAINS))


UNICODE_BITS = ["é", "ß", "Ω", "中文", "日本語", "😀", "e\u0301", "\u00a0", "🇫🇷", "ڈ", "\t", "\"quoted\"", "a\\b"]


def text(rng):
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.10:
        return "long-" + "x" * rng.randint(60, 120)
    n = rng.randint(1, 4)
    return "".join(rng.choice(UNICODE_BITS + ["abc", "Zed", "123", " "]) for _ in range(n))


# ---------------------------------------------------------------------------------------------
# The pyarrow table

def null_mask(rng, nrows):
    return [(i in NULL_RUN) or rng.random() < RANDOM_NULL for i in range(nrows)]


def with_nulls(values, mask):
    return [None if m else v for v, m in zip(values, mask)]


def ts_values(rng, unit, n):
    # 1901-12-14 .. 2199-12-31 in `unit` ticks; includes pre-epoch values (negative ticks).
    per_s = {"ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    lo, hi = -2147472000, 7258118399
    out = []
    for i in range(n):
        if i % 97 == 0:
            out.append(-1)  # 1969-12-31T23:59:59.999..., floor-division edge
        elif i % 101 == 0:
            out.append(0)
        else:
            out.append(rng.randint(lo, hi) * per_s + rng.randrange(per_s))
    return pooled(rng, out, [i for i in range(n) if i % 97 == 0 or i % 101 == 0])


def decimal_values(rng, precision, scale, n):
    ctx = decimal.Context(prec=80)
    q = decimal.Decimal(1).scaleb(-scale, ctx)
    lim = 10**precision - 1
    specials = [decimal.Decimal(lim).scaleb(-scale, ctx), decimal.Decimal(-lim).scaleb(-scale, ctx),
                decimal.Decimal("-0.5"), decimal.Decimal(0), decimal.Decimal(1)]
    out = []
    for i in range(n):
        if i % 50 < len(specials):
            out.append(specials[i % 50].quantize(q, context=ctx))
            continue
        digits = rng.randint(1, precision)
        v = rng.randrange(10**digits) * rng.choice([1, -1])
        out.append(decimal.Decimal(v).scaleb(-scale, ctx))
    return pooled(rng, out, [i for i in range(n) if i % 50 < len(specials)])


def build_table():
    rng = random.Random(SEED)
    n = NROWS
    m = lambda: null_mask(rng, n)  # noqa: E731

    def ints(lo, hi):
        v = [rng.randint(lo, hi) for _ in range(n)]
        v[POOL + 3], v[POOL + 4], v[POOL + 5] = lo, hi, 0
        return pooled(rng, v, (POOL + 3, POOL + 4, POOL + 5))

    f64 = [rng.uniform(-1e6, 1e6) for _ in range(n)]
    for i, s in enumerate([float("inf"), float("-inf"), float("nan"), -0.0, 0.0, 5e-324, 1.7976931348623157e308]):
        f64[600 + i * 37] = s
    f64 = pooled(rng, f64, [600 + i * 37 for i in range(7)])
    f32 = [float(np.float32(rng.uniform(-1e4, 1e4))) for _ in range(n)]
    for i, s in enumerate([float("inf"), float("-inf"), float("nan"), -0.0, 0.1]):
        f32[700 + i * 41] = s
    f32 = pooled(rng, f32, [700 + i * 41 for i in range(5)])

    cards = [card_number(rng) for _ in range(n)]
    card_mask = m()
    dates = [rng.randint(-25000, 80000) for _ in range(n)]
    dates[7] = 0

    def lists():
        out = []
        for _ in range(n):
            k = rng.randrange(5)
            out.append([None if rng.random() < 0.1 else rng.randint(-2**31, 2**31 - 1) for _ in range(k)])
        return out

    cols = [
        ("req_int64", pa.array(list(range(n)), pa.int64()), False),
        ("req_string", pa.array(["row-%05d" % i for i in range(n)], pa.string()), False),
        ("bool", pa.array(with_nulls([rng.random() < 0.5 for _ in range(n)], m()), pa.bool_()), True),
        ("int8", pa.array(with_nulls(ints(-128, 127), m()), pa.int8()), True),
        ("int16", pa.array(with_nulls(ints(-2**15, 2**15 - 1), m()), pa.int16()), True),
        ("int32", pa.array(with_nulls(ints(-2**31, 2**31 - 1), m()), pa.int32()), True),
        ("int64", pa.array(with_nulls(ints(-2**63, 2**63 - 1), m()), pa.int64()), True),
        ("uint32", pa.array(with_nulls(ints(0, 2**32 - 1), m()), pa.uint32()), True),
        ("uint64", pa.array(with_nulls(ints(0, 2**64 - 1), m()), pa.uint64()), True),
        ("float32", pa.array(with_nulls(f32, m()), pa.float32()), True),
        ("float64", pa.array(with_nulls(f64, m()), pa.float64()), True),
        ("string", pa.array(with_nulls([text(rng) for _ in range(n)], m()), pa.string()), True),
        ("binary", pa.array(with_nulls([bytes(rng.randrange(256) for _ in range(rng.randrange(12)))
                                        + b"\xff\xfe\x00" for _ in range(n)], m()), pa.binary()), True),
        ("fsb16", pa.array(with_nulls(pooled(rng, [bytes(rng.randrange(256) for _ in range(16)) for _ in range(n)]), m()),
                           pa.binary(16)), True),
        ("date32", pa.array(with_nulls(dates, m()), pa.int32()).cast(pa.date32()), True),
    ]
    for unit in ("ms", "us", "ns"):
        for tz, suffix in ((None, ""), ("UTC", "_utc")):
            cols.append(("ts_%s%s" % (unit, suffix),
                         pa.array(with_nulls(ts_values(rng, unit, n), m()), pa.int64()).cast(pa.timestamp(unit, tz)),
                         True))
    for p, s in ((9, 2), (18, 4), (38, 10)):
        cols.append(("dec%d_%d" % (p, s), pa.array(with_nulls(decimal_values(rng, p, s, n), m()), pa.decimal128(p, s)), True))
    cols += [
        ("card", pa.array(with_nulls(cards, card_mask), pa.string()), True),
        ("card_int", pa.array(with_nulls([int(c) for c in cards], card_mask), pa.int64()), True),
        ("ssn", pa.array(with_nulls([ssn(rng) for _ in range(n)], m()), pa.string()), True),
        ("email", pa.array(with_nulls([email(rng) for _ in range(n)], m()), pa.string()), True),
        ("list_i32", pa.array(with_nulls([v for v in lists()], m()), pa.list_(pa.int32())), True),
        ("struct_ab", pa.array(with_nulls([{"a": None if rng.random() < 0.1 else text(rng),
                                            "b": rng.randint(-2**63, 2**63 - 1)} for _ in range(n)], m()),
                               pa.struct([("a", pa.string()), ("b", pa.int64())])), True),
        ("map_s_i32", pa.array(with_nulls([[("k%d" % k, rng.randint(-100, 100))
                                            for k in rng.sample(range(100), rng.randrange(4))] for _ in range(n)], m()),
                               pa.map_(pa.string(), pa.int32())), True),
        ("list_struct_x", pa.array(with_nulls([[{"x": None if rng.random() < 0.1 else rng.choice(UNICODE_BITS)}
                                                for _ in range(rng.randrange(3))] for _ in range(n)], m()),
                                   pa.list_(pa.struct([("x", pa.string())]))), True),
    ]
    fields = [pa.field(name, arr.type, nullable=nullable) for name, arr, nullable in cols]
    schema = pa.schema(fields, metadata={"corpus.generator": "scripts/parquet/make_corpus.py",
                                         "corpus.seed": str(SEED)})
    return pa.Table.from_arrays([arr for _, arr, _ in cols], schema=schema)


# ---------------------------------------------------------------------------------------------
# Metadata and page scanning

def column_info(path):
    """Per top-level column: physical/logical type, nullability, nesting, pages, all-null pages."""
    pf = pq.ParquetFile(path)
    md = pf.metadata
    arrow_schema = pf.schema_arrow
    leaves = {}
    for i in range(len(pf.schema)):
        c = pf.schema.column(i)
        leaves.setdefault(c.path.split(".")[0], (i, c))
    pages = page_counts(path)
    out = []
    for field in arrow_schema:
        i, c = leaves[field.name]
        nested = "." in c.path
        out.append({
            "name": field.name,
            "physical_type": None if nested else c.physical_type,
            "logical_type": None if nested else json.loads(c.logical_type.to_json()),
            "nullable": field.nullable,
            "nested": nested,
            "pages": pages[i][0],
            "all_null_pages": pages[i][1],
        })
    return pf, out


def page_counts(path):
    """(data pages, data pages whose values are all null) per leaf column, over all row groups."""
    fpf = fastparquet.ParquetFile(path)
    with open(path, "rb") as f:
        data = f.read()
    counts = {}
    for rg in fpf.row_groups:
        for ci, cc in enumerate(rg.columns):
            meta = cc.meta_data
            # An empty chunk from pyarrow has data_page_offset 0 and either only a dictionary page
            # or no page at all (booleans, dictionary off).
            offsets = [o for o in (meta.dictionary_page_offset, meta.data_page_offset) if o]
            if not offsets:
                continue
            start = min(offsets)
            io = NumpyIO(data[start:start + meta.total_compressed_size])
            pages, all_null = counts.get(ci, (0, 0))
            while io.tell() < meta.total_compressed_size:
                ph = ThriftObject.from_buffer(io, "PageHeader")
                if ph.data_page_header_v2 is not None:
                    h = ph.data_page_header_v2
                    pages += 1
                    all_null += int(h.num_values > 0 and h.num_nulls == h.num_values)
                elif ph.data_page_header is not None:
                    h = ph.data_page_header
                    pages += 1
                    st = h.statistics
                    if st is not None and st.null_count is not None:
                        all_null += int(h.num_values > 0 and st.null_count == h.num_values)
                io.seek(ph.compressed_page_size, 1)
            counts[ci] = (pages, all_null)
    return counts


def entry(outdir, name, writer, codec, page_version, dictionary):
    path = os.path.join(outdir, name)
    pf, cols = column_info(path)
    md = pf.metadata
    return {
        "file": name, "writer": writer, "codec": codec, "page_version": page_version,
        "dictionary": dictionary, "rows": md.num_rows,
        "row_groups": [md.row_group(i).num_rows for i in range(md.num_row_groups)],
        "columns": cols,
    }


# ---------------------------------------------------------------------------------------------
# Writers

def write_pyarrow(outdir, table):
    entries = []
    variants = [(c, pv, d) for c in ("NONE", "SNAPPY", "ZSTD", "GZIP") for pv in ("1.0", "2.0") for d in (True, False)]
    # LZ4 (pyarrow writes LZ4_RAW) and BROTLI: two variants each.
    variants += [(c, pv, d) for c in ("LZ4", "BROTLI") for (pv, d) in (("1.0", True), ("2.0", False))]
    for codec, pv, dictionary in variants:
        name = "pa_%s_v%s_%s.parquet" % (codec.lower(), pv[0], "dict" if dictionary else "plain")
        path = os.path.join(outdir, name)
        w = pq.ParquetWriter(
            path, table.schema, compression=codec, data_page_version=pv,
            use_dictionary=dictionary, dictionary_pagesize_limit=16384,
            data_page_size=4096, write_batch_size=16, max_rows_per_page=48,
            store_decimal_as_integer=True, write_statistics=True)
        off = 0
        for n in ROW_GROUPS:
            w.write_table(table.slice(off, n), row_group_size=max(n, 1))
            off += n
        w.close()
        got = [pq.ParquetFile(path).metadata.row_group(i).num_rows
               for i in range(pq.ParquetFile(path).metadata.num_row_groups)]
        if got != ROW_GROUPS:
            sys.exit("make_corpus: %s has row groups %s, wanted %s (empty row group dropped?)"
                     % (name, got, ROW_GROUPS))
        e = entry(outdir, name, "pyarrow", codec, pv, dictionary)
        for c in e["columns"]:
            if c["nullable"] and not c["nested"] and c["all_null_pages"] == 0:
                sys.exit("make_corpus: %s column %s has no all-null page" % (name, c["name"]))
        entries.append(e)
    return entries


def write_empty_first(outdir, table):
    """A file whose first row group is empty (a reader that plans from the first rows must look
    past it), snappy, page v1, dictionary on."""
    name = "pa_empty_first.parquet"
    path = os.path.join(outdir, name)
    w = pq.ParquetWriter(path, table.schema, compression="SNAPPY", store_decimal_as_integer=True)
    w.write_table(table.slice(0, 0), row_group_size=1)
    w.write_table(table.slice(0, 300), row_group_size=300)
    w.close()
    got = [pq.ParquetFile(path).metadata.row_group(i).num_rows for i in range(pq.ParquetFile(path).metadata.num_row_groups)]
    if got != [0, 300]:
        sys.exit("make_corpus: %s has row groups %s, wanted [0, 300]" % (name, got))
    return [entry(outdir, name, "pyarrow", "SNAPPY", "1.0", True)]


def fastparquet_frame():
    rng = random.Random(SEED + 1)
    n = 1000
    nulls = lambda: [rng.random() < 0.1 for _ in range(n)]  # noqa: E731
    s = [None if m else text(rng) for m in nulls()]
    ints = pd.array([None if m else rng.randint(-2**31, 2**31 - 1) for m in nulls()], dtype="Int32")
    i64 = np.array([rng.randint(-2**63, 2**63 - 1) for _ in range(n)], dtype=np.int64)
    dbl = np.array([rng.uniform(-1e9, 1e9) for _ in range(n)])
    dbl[[5, 6, 7, 8]] = [np.nan, np.inf, -np.inf, -0.0]
    day0 = np.datetime64("1970-01-01", "D")
    dates = pd.Series([day0 + np.timedelta64(rng.randint(-20000, 60000), "D") for _ in range(n)]).astype("datetime64[ns]")
    dates[nulls()] = pd.NaT
    ts = pd.Series(np.array([rng.randint(-2 * 10**18, 2 * 10**18) // 1000 * 1000 for _ in range(n)], dtype="datetime64[ns]"))
    ts[nulls()] = pd.NaT
    tsz = ts.dt.tz_localize("UTC")
    b = pd.array([None if m else rng.random() < 0.5 for m in nulls()], dtype="boolean")
    by = [None if m else bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9))) for m in nulls()]
    cards = [None if m else card_number(rng) for m in nulls()]
    return pd.DataFrame({"string": s, "int32": ints, "int64": i64, "float64": dbl, "date_ts": dates,
                         "ts_ns": ts, "ts_ns_utc": tsz, "bool": b, "req_bool": np.array([i % 3 == 0 for i in range(n)]),
                         "binary": by, "card": cards,
                         "uint16": np.array([rng.randrange(65536) for _ in range(n)], dtype=np.uint16)})


# fastparquet writes datetime64[ns] as TIMESTAMP(NANOS) (date_ts too: it has no DATE writer) and
# cannot write DECIMAL (decimal.Decimal objects become DOUBLE): dates and decimals come from duckdb.
def write_fastparquet(outdir):
    df = fastparquet_frame()
    entries = []
    for codec in ("SNAPPY", "GZIP"):
        for utf8 in (False, True):
            name = "fp_%s%s.parquet" % (codec.lower(), "_utf8" if utf8 else "")
            kw = {"object_encoding": {"string": "utf8", "card": "utf8", "binary": "bytes"}} if utf8 else {}
            fastparquet.write(os.path.join(outdir, name), df, compression=codec,
                              row_group_offsets=[0, 400, 700], write_index=False, stats=True, **kw)
            entries.append(entry(outdir, name, "fastparquet", codec, "1.0", True))
    return entries


DUCK_SELECT = """
SELECT
  i::BIGINT AS req_int64,
  CASE WHEN i % 10 = 3 THEN NULL ELSE ((i * 7919) % 2000001 - 1000000)::BIGINT END AS int64,
  CASE WHEN i % 9 = 1 THEN NULL ELSE ((i * 31) % 256 - 128)::TINYINT END AS int8,
  CASE WHEN i % 11 = 2 THEN NULL ELSE ((i * 104729) % 4294967296)::UINTEGER END AS uint32,
  CASE WHEN i % 8 = 5 THEN NULL ELSE (i * 1.25 - 1000)::DOUBLE END AS float64,
  CASE WHEN i % 7 = 0 THEN NULL WHEN i % 7 = 1 THEN '' ELSE 'v' || i || '-é😀' END AS string,
  CASE WHEN i % 10 = 4 THEN NULL ELSE 'x' || (i % 17) END AS lowcard,
  CASE WHEN i % 6 = 2 THEN NULL ELSE DATE '1960-01-01' + (i * 13)::INTEGER END AS date,
  CASE WHEN i % 9 = 4 THEN NULL ELSE make_timestamp(i * 987654321 - 142000000000000) END AS ts_us,
  CASE WHEN i % 9 = 5 THEN NULL ELSE make_timestamp(i * 123456789 + 946684799000000)::TIMESTAMPTZ END AS ts_us_utc,
  CASE WHEN i % 9 = 6 THEN NULL ELSE make_timestamp_ns((i * 9876543210123)::BIGINT - 1000000000000000000) END AS ts_ns,
  CASE WHEN i % 9 = 7 THEN NULL ELSE (TIMESTAMP '2001-02-03 04:05:06' + i * INTERVAL 1 second)::TIMESTAMP_MS END AS ts_ms,
  CASE WHEN i % 10 = 6 THEN NULL ELSE (((i * 7) % 200001 - 100000)::DECIMAL(9,0) * 0.01)::DECIMAL(9,2) END AS dec9_2,
  CASE WHEN i % 10 = 7 THEN NULL ELSE (((i * 7919) % 2000001 - 1000000)::DECIMAL(18,0) * 0.0001)::DECIMAL(18,4) END AS dec18_4,
  CASE WHEN i % 10 = 8 THEN NULL ELSE ((i * 104729)::DECIMAL(38,10) - 123456789.5) * 1000000 END AS dec38_10,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 3) % 7 < 3 END AS bool,
  CASE WHEN i % 12 = 0 THEN NULL ELSE ('\\x' || lpad(to_hex(i % 256), 2, '0') || '\\xff')::BLOB END AS binary,
  CASE WHEN i % 13 = 0 THEN NULL ELSE [i % 5, NULL, i % 3] END AS list_i64
FROM range({rows}) t(i)
"""


def write_duckdb(outdir):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET threads = 1")  # one writer thread: row order and layout are deterministic
    entries = []
    # duckdb cuts row groups at multiples of its 2048-row vectors: the small-ROW_GROUP_SIZE file
    # has 4200 rows to get three row groups [2048, 2048, 104].
    for name, codec, rows, opts in (("duck_zstd.parquet", "ZSTD", 1500, "COMPRESSION zstd"),
                                    ("duck_snappy.parquet", "SNAPPY", 1500, "COMPRESSION snappy"),
                                    ("duck_zstd_rg.parquet", "ZSTD", 4200, "COMPRESSION zstd, ROW_GROUP_SIZE 2048")):
        path = os.path.join(outdir, name).replace("'", "''")
        con.execute("COPY (%s) TO '%s' (FORMAT parquet, %s)" % (DUCK_SELECT.format(rows=rows), path, opts))
        entries.append(entry(outdir, name, "duckdb", codec, "1.0", True))
    con.close()
    return entries


def write_parquet_mr(outdir):
    """The committed parquet-mr fixtures (INT96, DELTA encodings, pages v2, 3-level lists, maps)."""
    import shutil
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "Fixtures", "parquet", "parquet-mr")
    entries = []
    for name in sorted(os.listdir(src)):
        if not name.endswith(".parquet"):
            continue
        shutil.copyfile(os.path.join(src, name), os.path.join(outdir, name))
        codec, version = name[len("mr_"):-len(".parquet")].split("_")
        entries.append(entry(outdir, name, "parquet-mr", codec.upper(), version[1] + ".0", True))
    if len(entries) < 3:
        sys.exit("make_corpus: expected the parquet-mr fixtures in %s" % src)
    return entries


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    table = build_table()
    entries = write_pyarrow(outdir, table)
    entries += write_empty_first(outdir, table)
    entries += write_fastparquet(outdir)
    entries += write_duckdb(outdir)
    entries += write_parquet_mr(outdir)
    with open(os.path.join(outdir, "corpus.json"), "w") as f:
        json.dump(entries, f, indent=None, separators=(",", ":"))
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(outdir, e["file"])) for e in entries)
    print("make_corpus: %d files, %d bytes in %s" % (len(entries), total, outdir))


if __name__ == "__main__":
    main()
