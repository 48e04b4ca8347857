#!/usr/bin/env python3
"""Check a tokenized Parquet file against its input.

Usage: .venv/bin/python scripts/parquet/verify_tokenized.py INPUT OUTPUT [--tokenized a,b] [--dropped c,d]
                                                           [--skip-reader duckdb|fastparquet]

Column names are top-level names. Stops at the first failure with "verify_tokenized: FAIL: ..." on
stderr and exit status 1 (2 for usage errors); on success prints
"ok: N row groups, M rows, K columns checked" (K = output top-level columns).

Checks, in order:
 1. same number of row groups, same row count in each;
 2. same schema minus the dropped columns: every leaf's path, physical type, logical type (JSON),
    converted type, max definition/repetition levels (= repetition of it and its ancestors),
    type length, precision and scale, in the same order; same top-level names and nullability;
 3. same file key-value metadata, except that keys starting with "tokengate." may be added;
    ARROW:schema, unless byte-identical, is compared field by field (with field metadata) as the
    Arrow schema pyarrow derives for each file, minus the dropped fields;
 4. every other column equals the input's (pyarrow ChunkedArray.equals, nested columns
    included; NaN equals NaN);
 5. every tokenized column (string or integer, flat): same null positions; each value has the same
    length as the input's and the same class at each position (digit stays a digit, letter stays a
    letter, any other character is unchanged; integers are checked on their decimal text);
    at least 90% of the non-null values differ from the input's;
 6. for every flat column chunk of OUTPUT with statistics: null_count equals the chunk's nulls;
    with has_min_max, min/max equal the chunk's actual min/max (integers, dates, timestamps as
    their stored integers, unsigned as unsigned; decimals as decimals; floats ignoring NaN, with
    -0.0 == 0.0; strings and binary byte-wise);
 7. OUTPUT read by duckdb and by fastparquet gives the same values as pyarrow for every flat column.
    Normalized before comparing: timestamps -> integer ns since the epoch (UTC, tz dropped);
    duckdb returns datetime (us), so TIMESTAMP(NANOS) is compared truncated toward zero to us, as
    duckdb truncates; dates -> days (fastparquet returns datetime64); UUID -> bytes; numpy/pandas
    scalars -> Python; fastparquet reads DECIMAL as float64 (compared with rel. tol. 1e-12) and a
    null float/decimal as NaN (NaN and null compare equal for those); strings fastparquet returns
    as bytes are decoded, and the NaN pandas' string dtype gives for a null is null;
    duckdb reads only the flat columns (SELECT "a", ... FROM read_parquet(?), path as a
    parameter). fastparquet 2026.9.0 cannot read nullable DATA_PAGE_V2 columns split
    over several pages (its own bug: "operands could not be broadcast"): --skip-reader
    fastparquet skips that reader.
"""
import argparse
import datetime
import decimal
import json
import math
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dump  # noqa: E402  (canonical type handling shared with dump.py)

EPOCH = datetime.datetime(1970, 1, 1)
UTC = datetime.timezone.utc


class Fail(Exception):
    pass


def fail(msg):
    raise Fail(msg)


def kind_of(col):
    lt = json.loads(col.logical_type.to_json())
    k = lt.get("Type", "None")
    phys = col.physical_type
    if k == "Decimal" or col.converted_type == "DECIMAL":
        return "decimal", lt
    if phys == "BOOLEAN":
        return "bool", lt
    if phys in ("FLOAT", "DOUBLE") or k == "Float16":
        return "float", lt
    if k == "Date":
        return "date", lt
    if k == "Timestamp" or phys == "INT96":
        return "ts", lt
    if k == "Time":
        return "time", lt
    if phys in ("INT32", "INT64"):
        return "int", lt
    if k in ("String", "Enum", "JSON") or col.converted_type in ("UTF8", "ENUM", "JSON"):
        return "str", lt
    return "bytes", lt


def leaves(pf, dropped=()):
    out = []
    for i in range(len(pf.schema)):
        c = pf.schema.column(i)
        if c.path.split(".")[0] in dropped:
            continue
        out.append((c.path, c.physical_type, c.logical_type.to_json(), c.converted_type,
                    c.max_definition_level, c.max_repetition_level, c.length, c.precision, c.scale))
    return out


# --------------------------------------------------------------------------------------------
# 1-3: layout, schema, metadata

def check_layout(pin, pout):
    a = [pin.metadata.row_group(i).num_rows for i in range(pin.metadata.num_row_groups)]
    b = [pout.metadata.row_group(i).num_rows for i in range(pout.metadata.num_row_groups)]
    if len(a) != len(b):
        fail("row groups: input has %d %s, output %d %s" % (len(a), a, len(b), b))
    if a != b:
        fail("row group row counts differ: input %s, output %s" % (a, b))


def check_schema(pin, pout, dropped):
    a, b = leaves(pin, dropped), leaves(pout)
    if len(a) != len(b):
        fail("schema: input has %d leaf columns (minus dropped), output %d: %s vs %s"
             % (len(a), len(b), [x[0] for x in a], [x[0] for x in b]))
    fields = ("path", "physical type", "logical type", "converted type", "max definition level",
              "max repetition level", "type length", "precision", "scale")
    for x, y in zip(a, b):
        for name, u, v in zip(fields, x, y):
            if u != v:
                fail("schema: leaf %s: %s is %r in input, %r in output" % (x[0], name, u, v))
    fa = [(f.name, f.nullable) for f in pin.schema_arrow if f.name not in dropped]
    fb = [(f.name, f.nullable) for f in pout.schema_arrow]
    if fa != fb:
        fail("schema: top-level columns (name, nullable) differ: input %s, output %s" % (fa, fb))


def check_metadata(pin, pout, dropped):
    a = dict(pin.metadata.metadata or {})
    b = dict(pout.metadata.metadata or {})
    for k in list(b):
        if k.startswith(b"tokengate.") and k not in a:
            del b[k]
    sa, sb = a.pop(b"ARROW:schema", None), b.pop(b"ARROW:schema", None)
    if sa is not None and sb is None and dropped:
        # tokengate removes pyarrow's stored Arrow schema when it drops columns (it would name
        # them); readers derive the Arrow types from the Parquet schema then.
        sa = None
    if (sa is None) != (sb is None):
        fail("metadata: ARROW:schema is %s in input, %s in output"
             % ("present" if sa else "absent", "present" if sb else "absent"))
    if sa is not None and sa != sb:
        # Not byte-identical: compare the Arrow schemas pyarrow derives from each file (Parquet
        # schema + ARROW:schema), so that cosmetic re-encodings (a list's child named "item" in the
        # stored schema, "element" in the Parquet schema) pass; field metadata is compared.
        xa = [f for f in pin.schema_arrow if f.name not in dropped]
        xb = list(pout.schema_arrow)
        for fa, fb in zip(xa, xb):
            if not fa.equals(fb, check_metadata=True):
                fail("metadata: ARROW:schema: field %s is %s in input, %s in output" % (fa.name, fa, fb))
        if len(xa) != len(xb):
            fail("metadata: ARROW:schema has %d fields in input (minus dropped), %d in output" % (len(xa), len(xb)))
    if a != b:
        only_a = sorted(k.decode("utf-8", "replace") for k in set(a) - set(b))
        only_b = sorted(k.decode("utf-8", "replace") for k in set(b) - set(a))
        diff = sorted(k.decode("utf-8", "replace") for k in set(a) & set(b) if a[k] != b[k])
        fail("metadata: key-value metadata differs: missing %s, added %s, changed %s" % (only_a, only_b, diff))


# --------------------------------------------------------------------------------------------
# 4-5: values

def nan_eq(x, y):
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (x != x and y != y)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(nan_eq(u, v) for u, v in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(nan_eq(x[k], y[k]) for k in x)
    return x == y


def check_untouched(tin, tout, names):
    for n in names:
        a, b = tin.column(n), tout.column(n)
        if a.type != b.type:
            fail("column %s: Arrow type %s in input, %s in output" % (n, a.type, b.type))
        if a.equals(b):
            continue
        la, lb = a.to_pylist(), b.to_pylist()
        for i, (x, y) in enumerate(zip(la, lb)):
            if not nan_eq(x, y):
                fail("column %s (not tokenized) differs from the input at row %d: %r -> %r" % (n, i, x, y))


def char_class(ch, alnum=False):
    if alnum and ("0" <= ch <= "9" or ch.isalpha()):
        return "alnum"
    if "0" <= ch <= "9":
        return "digit"
    if ch.isalpha():
        return "letter"
    return ch


def check_tokenized(pin, tin, tout, names):
    flat = dump.flat_columns(pin)
    for n in names:
        if n not in flat:
            fail("tokenized column %s is not a flat column" % n)
        kind, _ = kind_of(flat[n][1])
        if kind not in ("str", "int"):
            fail("tokenized column %s is a %s column: only string and integer columns are format-checked" % (n, kind))
        a, b = tin.column(n).to_pylist(), tout.column(n).to_pylist()
        nonnull = changed = 0
        for i, (x, y) in enumerate(zip(a, b)):
            if (x is None) != (y is None):
                fail("tokenized column %s: row %d is %s in input, %s in output"
                     % (n, i, "null" if x is None else "non-null", "null" if y is None else "non-null"))
            if x is None:
                continue
            sx, sy = str(x), str(y)
            if "@" in sx and sy.startswith("~") and "@" in sy:
                # A local part too short for FF1 becomes a longer "~" token (docs/transforms.md);
                # only its domain is compared.
                nonnull += 1
                changed += 1
                continue
            if len(sx) != len(sy):
                fail("tokenized column %s: row %d: length %d -> %d (%r -> %r)" % (n, i, len(sx), len(sy), sx, sy))
            # An email's local part is tokenized over letters and digits together (its
            # punctuation and domain keep their places).
            alnum = "@" in sx
            for j, (cx, cy) in enumerate(zip(sx, sy)):
                if char_class(cx, alnum) != char_class(cy, alnum):
                    fail("tokenized column %s: row %d: position %d: %r -> %r breaks the format (%r -> %r)"
                         % (n, i, j, cx, cy, sx, sy))
            nonnull += 1
            changed += sx != sy
        if nonnull and changed < 0.9 * nonnull:
            fail("tokenized column %s: only %d of %d non-null values (%.1f%%) differ from the input (need >= 90%%)"
                 % (n, changed, nonnull, 100.0 * changed / nonnull))


# --------------------------------------------------------------------------------------------
# 6: statistics

def physical_ints(col, arr, lt):
    """The stored integers of an int/date/timestamp/time column, unsigned as unsigned."""
    kind, _ = kind_of(col)
    arr = dump.plain(arr)
    if kind == "date":
        return arr.cast(pa.date32()).cast(pa.int32()).to_pylist()
    if kind == "ts":
        unit = dump.UNIT_ARROW[lt.get("timeUnit", "nanoseconds")]
        return arr.cast(pa.timestamp(unit, getattr(arr.type, "tz", None))).cast(pa.int64()).to_pylist()
    if kind == "time":
        unit = lt["timeUnit"]
        at = pa.time32("ms") if unit == "milliseconds" else pa.time64(dump.UNIT_ARROW[unit])
        return arr.cast(at).cast(pa.int32() if unit == "milliseconds" else pa.int64()).to_pylist()
    if pa.types.is_integer(arr.type):
        return arr.to_pylist()
    return arr.cast(pa.int64()).to_pylist()


def stat_values(col, arr):
    """(values comparable with the statistics, how to read a statistic) for a flat column chunk."""
    kind, lt = kind_of(col)
    if kind == "ts" and col.physical_type == "INT96":
        return None, None
    if kind in ("int", "date", "ts", "time"):
        width = 32 if col.physical_type == "INT32" else 64
        unsigned = lt.get("Type") == "Int" and not lt.get("isSigned", True)

        def raw(s, v):
            v = int(v)
            return v + (1 << width) if unsigned and v < 0 else v
        return physical_ints(col, arr, lt), lambda s, which: raw(s, getattr(s, which + "_raw"))
    if kind == "decimal":
        return dump.plain(arr).to_pylist(), lambda s, which: getattr(s, which)
    if kind == "float":
        vals = [v for v in dump.plain(arr).cast(pa.float64()).to_pylist() if v is None or v == v]
        return vals, lambda s, which: float(getattr(s, which))
    if kind == "bool":
        return dump.plain(arr).to_pylist(), lambda s, which: bool(getattr(s, which))
    vals = dump.as_bytes_list(dump.plain(arr))

    def as_bytes(s, which):
        v = getattr(s, which + "_raw")
        return v.encode("utf-8") if isinstance(v, str) else bytes(v)
    return vals, as_bytes


def check_statistics(pout):
    md = pout.metadata
    flat = dump.flat_columns(pout)
    for rg in range(md.num_row_groups):
        t = pout.read_row_group(rg, columns=list(flat)) if flat else None
        for name, (i, col) in flat.items():
            cc = md.row_group(rg).column(i)
            if not cc.is_stats_set or cc.statistics is None:
                continue
            s = cc.statistics
            arr = t.column(name)
            where = "row group %d column %s statistics" % (rg, name)
            if s.has_null_count and s.null_count != arr.null_count:
                fail("%s: null_count %d, the chunk has %d nulls" % (where, s.null_count, arr.null_count))
            if not s.has_min_max:
                continue
            vals, read = stat_values(col, arr)
            if read is None:
                continue
            vals = [v for v in vals if v is not None]
            if not vals:
                fail("%s: min/max set but the chunk has no non-null (non-NaN) value" % where)
            lo, hi = min(vals), max(vals)
            smin, smax = read(s, "min"), read(s, "max")
            if smin != lo or smax != hi:
                fail("%s: min/max %r/%r, the chunk's actual min/max %r/%r" % (where, smin, smax, lo, hi))


# --------------------------------------------------------------------------------------------
# 7: other readers

def norm(v, kind, lt, reader):
    """A reader's value -> a comparable Python value (None for null)."""
    try:
        import pandas as pd
        if v is pd.NA or v is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (bytes, str)) and type(v).__module__ == "numpy":
        v = v.item()
    if isinstance(v, float) and v != v and kind not in ("float", "decimal"):
        return None  # pandas' string dtype turns a null into NaN through astype(object)
    if kind == "float":
        v = float(v)
        return None if (reader == "fastparquet" and v != v) else ("nan" if v != v else v)
    if kind == "decimal":
        if reader == "fastparquet":
            v = float(v)
            return None if v != v else v
        return decimal.Decimal(v)
    if kind in ("ts", "date", "time"):
        ns = to_ns(v)
        if kind == "date":
            return ns // (86400 * 10**9)
        if kind == "ts" and reader == "duckdb" and lt.get("timeUnit") == "nanoseconds":
            return abs(ns) // 1000 if ns >= 0 else -(abs(ns) // 1000)
        return ns
    if kind == "bytes":
        if hasattr(v, "bytes") and not isinstance(v, (bytes, bytearray)):  # uuid.UUID
            return v.bytes
        return bytes(v)
    if kind == "str":
        return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else str(v)
    if kind == "bool":
        return bool(v)
    return int(v)


def to_ns(v):
    import pandas as pd
    if isinstance(v, pd.Timestamp):
        return v.value if v.tzinfo is None else v.tz_convert("UTC").value
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
        d = v - EPOCH
        return (d.days * 86400 + d.seconds) * 10**9 + d.microseconds * 1000
    if isinstance(v, datetime.date):
        return (v - EPOCH.date()).days * 86400 * 10**9
    if isinstance(v, datetime.time):
        return ((v.hour * 60 + v.minute) * 60 + v.second) * 10**9 + v.microsecond * 1000
    if isinstance(v, int):
        return v
    return pd.Timestamp(v).value


def values_equal(x, y, kind, reader):
    if kind == "decimal" and reader == "fastparquet" and x is not None and y is not None:
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-300)
    return x == y


def check_readers(path, pout, skip):
    flat = dump.flat_columns(pout)
    names = list(flat)
    if not names:
        return
    ref = pq.read_table(path, columns=names)
    kinds = {n: kind_of(flat[n][1]) for n in names}
    readers = {}
    if "duckdb" not in skip:
        import duckdb
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        try:
            sel = ", ".join('"%s"' % n.replace('"', '""') for n in names)
            cur = con.execute("SELECT %s FROM read_parquet(?)" % sel, [path])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
        except Exception as e:  # noqa: BLE001
            fail("duckdb could not read %s: %s" % (path, e))
        readers["duckdb"] = {c: [r[j] for r in rows] for j, c in enumerate(cols) if c in flat}
    if "fastparquet" not in skip:
        import warnings
        import fastparquet
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = fastparquet.ParquetFile(path).to_pandas(columns=names, index=False)
        except Exception as e:  # noqa: BLE001
            fail("fastparquet could not read %s: %s: %s (--skip-reader fastparquet to skip)"
                 % (path, type(e).__name__, e))
        readers["fastparquet"] = {c: df[c].astype(object).tolist() for c in names}
    for reader, got in readers.items():
        for n in names:
            kind, lt = kinds[n]
            if n not in got:
                fail("%s: column %s missing" % (reader, n))
            mine = [norm(v, kind, lt, reader) for v in ref.column(n).to_pylist()]
            theirs = [norm(v, kind, lt, reader) for v in got[n]]
            if len(mine) != len(theirs):
                fail("%s: column %s has %d values, pyarrow %d" % (reader, n, len(theirs), len(mine)))
            for i, (x, y) in enumerate(zip(mine, theirs)):
                if not values_equal(x, y, kind, reader):
                    fail("%s: column %s row %d: %r, pyarrow %r" % (reader, n, i, y, x))


# --------------------------------------------------------------------------------------------

def names_arg(s):
    return [x for x in (s or "").split(",") if x and x != "none"]


def main():
    ap = argparse.ArgumentParser(description="Check a tokenized Parquet file against its input.")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--tokenized", default="", help="comma-separated tokenized columns ('none' or empty: none)")
    ap.add_argument("--dropped", default="", help="comma-separated columns the output drops")
    ap.add_argument("--skip-reader", action="append", default=[], choices=["duckdb", "fastparquet"])
    a = ap.parse_args()
    tokenized, dropped = names_arg(a.tokenized), names_arg(a.dropped)
    try:
        pin, pout = pq.ParquetFile(a.input), pq.ParquetFile(a.output)
    except Exception as e:  # noqa: BLE001
        print("verify_tokenized: FAIL: cannot open: %s" % e, file=sys.stderr)
        sys.exit(1)
    top = [f.name for f in pin.schema_arrow]
    for n in tokenized + dropped:
        if n not in top:
            print("verify_tokenized: no column %r in %s (columns: %s)" % (n, a.input, ",".join(top)), file=sys.stderr)
            sys.exit(2)
    if set(tokenized) & set(dropped):
        print("verify_tokenized: a column cannot be both tokenized and dropped", file=sys.stderr)
        sys.exit(2)
    try:
        check_layout(pin, pout)
        check_schema(pin, pout, dropped)
        check_metadata(pin, pout, dropped)
        kept = [n for n in top if n not in dropped]
        tin = pq.read_table(a.input, columns=kept)
        tout = pq.read_table(a.output, columns=kept)
        check_untouched(tin, tout, [n for n in kept if n not in tokenized])
        check_tokenized(pin, tin, tout, tokenized)
        check_statistics(pout)
        check_readers(a.output, pout, a.skip_reader)
    except Fail as e:
        print("verify_tokenized: FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    print("ok: %d row groups, %d rows, %d columns checked"
          % (pout.metadata.num_row_groups, pout.metadata.num_rows, len(kept)))


if __name__ == "__main__":
    main()
