#!/usr/bin/env python3
"""Dump a Parquet file's flat columns in tokengate's canonical text form (the Swift reader's oracle).

Usage: .venv/bin/python scripts/parquet/dump.py FILE [--columns a,b]

Prints one JSON object (ASCII, \\u escapes) to stdout:
  {"row_groups": [rows per row group], "columns": {name: [value, ...], ...}}
for every flat (top-level, non-nested) leaf column in schema order, or the --columns given (a
nested or unknown name is an error, exit 2). Values follow the column's Parquet physical and
logical type (read from pf.schema, not from the Arrow type pyarrow picks), null -> null:
  BOOLEAN               "true" / "false"
  INT32/INT64 (any INT logical type, signed or unsigned; also no logical type)  decimal digits
  FLOAT/DOUBLE (and FLOAT16)  {"f": "<Python repr of the value as a double>"}, or {"f": "inf" | "-inf" | "nan"}
  STRING / ENUM / JSON  the string
  other BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY (incl. UUID, BSON, INTERVAL)  {"hex": "lowercase hex"}
  DATE                  "YYYY-MM-DD"
  TIMESTAMP             "YYYY-MM-DDTHH:MM:SS.fff" (3/6/9 digits for MILLIS/MICROS/NANOS, always
                        present) + "Z" when isAdjustedToUTC
  TIME                  "HH:MM:SS.fff" (3/6/9 digits), + "Z" when isAdjustedToUTC
  DECIMAL               plain decimal, exactly `scale` digits after the point, no exponent
                        ("-0.50"; "12" when scale is 0)
  INT96 (legacy timestamp, no logical type)  as a tz-naive NANOS timestamp
Years outside 0001..9999 render with the proleptic Gregorian calendar and a signed/wider year.
"""
import argparse
import decimal
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq

_CTX = decimal.Context(prec=200)
UNIT_TICKS = {"milliseconds": 1000, "microseconds": 10**6, "nanoseconds": 10**9}
UNIT_ARROW = {"milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns"}


def civil_from_days(z):
    """(year, month, day) of day z since 1970-01-01, proleptic Gregorian (H. Hinnant)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def fmt_date(days):
    y, m, d = civil_from_days(days)
    return "%04d-%02d-%02d" % (y, m, d)


def fmt_clock(secs_of_day, frac, digits):
    return "%02d:%02d:%02d.%0*d" % (secs_of_day // 3600, secs_of_day // 60 % 60, secs_of_day % 60, digits, frac)


def fmt_timestamp(ticks, per_s, utc):
    secs, frac = divmod(ticks, per_s)  # floor: -1 ms is 1969-12-31T23:59:59.999
    days, sod = divmod(secs, 86400)
    digits = len(str(per_s)) - 1
    return fmt_date(days) + "T" + fmt_clock(sod, frac, digits) + ("Z" if utc else "")


def fmt_decimal(unscaled, scale):
    sign = "-" if unscaled < 0 else ""
    digits = str(abs(unscaled))
    if scale <= 0:
        return sign + digits + "0" * (-scale)
    digits = digits.rjust(scale + 1, "0")
    return sign + digits[:-scale] + "." + digits[-scale:]


def fmt_float(v):
    if v != v:
        return {"f": "nan"}
    if v in (float("inf"), float("-inf")):
        return {"f": "inf" if v > 0 else "-inf"}
    return {"f": repr(v)}


def plain(arr):
    """Undo dictionary / extension wrapping pyarrow may apply from the stored Arrow schema."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], arr.type)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    return arr


def as_bytes_list(arr):
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return [None if v is None else v.encode("utf-8") for v in arr.to_pylist()]
    return arr.to_pylist()


def render(col, arr):
    """List of canonical values for ColumnSchema `col` and its pyarrow array."""
    arr = plain(arr)
    phys = col.physical_type
    lt = json.loads(col.logical_type.to_json())
    kind = lt.get("Type", "None")
    if kind == "Decimal" or col.converted_type == "DECIMAL":
        scale = col.scale
        return [None if v is None else fmt_decimal(int(v.scaleb(scale, _CTX)), scale) for v in arr.to_pylist()]
    if phys == "BOOLEAN":
        return [None if v is None else ("true" if v else "false") for v in arr.to_pylist()]
    if phys in ("FLOAT", "DOUBLE") or kind == "Float16":
        return [None if v is None else fmt_float(v) for v in arr.cast(pa.float64()).to_pylist()]
    if kind == "Date":
        return [None if v is None else fmt_date(v) for v in arr.cast(pa.date32()).cast(pa.int32()).to_pylist()]
    if kind == "Timestamp" or phys == "INT96":
        unit = lt.get("timeUnit", "nanoseconds")
        utc = bool(lt.get("isAdjustedToUTC", False))
        ticks = arr.cast(pa.timestamp(UNIT_ARROW[unit], getattr(arr.type, "tz", None))).cast(pa.int64())
        return [None if v is None else fmt_timestamp(v, UNIT_TICKS[unit], utc) for v in ticks.to_pylist()]
    if kind == "Time":
        unit = lt["timeUnit"]
        utc = bool(lt.get("isAdjustedToUTC", False))
        at = pa.time32("ms") if unit == "milliseconds" else pa.time64(UNIT_ARROW[unit])
        ticks = arr.cast(at).cast(pa.int64() if unit != "milliseconds" else pa.int32())
        per_s = UNIT_TICKS[unit]
        return [None if v is None else fmt_clock(v // per_s, v % per_s, len(str(per_s)) - 1) + ("Z" if utc else "")
                for v in ticks.to_pylist()]
    if phys in ("INT32", "INT64"):
        signed = lt.get("isSigned", True) if kind == "Int" else True
        width = 32 if phys == "INT32" else 64
        target = {(32, True): pa.int32(), (32, False): pa.uint32(), (64, True): pa.int64(), (64, False): pa.uint64()}
        if pa.types.is_integer(arr.type):
            vals = arr.to_pylist()
        else:  # duration etc. read back from a stored Arrow schema
            vals = arr.cast(target[(width, signed)]).to_pylist()
        return [None if v is None else str(v) for v in vals]
    if phys in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"):
        if kind in ("String", "Enum", "JSON") or col.converted_type in ("UTF8", "ENUM", "JSON"):
            return [None if v is None else v.decode("utf-8") for v in as_bytes_list(arr)]
        return [None if v is None else {"hex": v.hex()} for v in as_bytes_list(arr)]
    raise SystemExit("dump: column %s: unsupported type %s/%s" % (col.path, phys, kind))


def flat_columns(pf):
    """{top-level name: (leaf index, ColumnSchema)} for the columns that are a single flat leaf."""
    out = {}
    for i in range(len(pf.schema)):
        c = pf.schema.column(i)
        if "." not in c.path and c.max_repetition_level == 0:
            out[c.path] = (i, c)
    return out


def dump(path, columns=None, decryption_properties=None):
    pf = pq.ParquetFile(path, decryption_properties=decryption_properties)
    flat = flat_columns(pf)
    top = [f.name for f in pf.schema_arrow]
    if columns is None:
        names = [n for n in top if n in flat]
    else:
        names = columns
        for n in names:
            if n not in flat:
                sys.stderr.write("dump: %s: %s\n" % (n, "nested column" if n in top else "no such column"))
                sys.exit(2)
    md = pf.metadata
    out = {n: [] for n in names}
    for rg in range(md.num_row_groups):
        if not names:
            break
        t = pf.read_row_group(rg, columns=names)
        for n in names:
            out[n].extend(render(flat[n][1], t.column(n)))
    return {"row_groups": [md.row_group(i).num_rows for i in range(md.num_row_groups)], "columns": out}


def main():
    ap = argparse.ArgumentParser(description="Dump flat Parquet columns in canonical text form.")
    ap.add_argument("file")
    ap.add_argument("--columns", help="comma-separated top-level flat column names")
    ap.add_argument("--nested-names", action="store_true", help="print the names of the nested top-level columns, one a line")
    a = ap.parse_args()
    if a.nested_names:
        pf = pq.ParquetFile(a.file)
        flat = flat_columns(pf)
        for f in pf.schema_arrow:
            if f.name not in flat:
                sys.stdout.write(f.name + "\n")
        return
    cols = [c for c in a.columns.split(",") if c] if a.columns else None
    json.dump(dump(a.file, cols), sys.stdout, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
