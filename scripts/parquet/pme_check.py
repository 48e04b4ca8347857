#!/usr/bin/env python3
"""Parquet Modular Encryption oracle: stock pyarrow reads and writes PME files.

Usage: .venv/bin/python scripts/parquet/pme_check.py read ENCRYPTED PLAIN [KMS]
       .venv/bin/python scripts/parquet/pme_check.py must-fail ENCRYPTED [KMS] [--no-kms]
       .venv/bin/python scripts/parquet/pme_check.py write PLAIN OUT [KMS] [--footer-key K]
                                              [--column-key K:a,b] [--plaintext-footer]
                                              [--algorithm AES_GCM_V1|AES_GCM_CTR_V1]
       .venv/bin/python scripts/parquet/pme_check.py train ENCRYPTED PLAIN [KMS] [--seed N]
       .venv/bin/python scripts/parquet/pme_check.py dump ENCRYPTED [KMS]
       .venv/bin/python scripts/parquet/pme_check.py from-csv CSV OUT
       .venv/bin/python scripts/parquet/pme_check.py write-direct PLAIN OUT --aad-prefix P [--aad-prefix-not-stored]
KMS: --kms tokengate --tokengate BIN [--keyring CONFIG]  (the project's KmsClient, python/)
     --kms plain      (a test KMS: wrappedDEK is the base64 DEK itself; for the Parquet tests)

read: pq.read_table and pq.ParquetFile (every row group) with CryptoFactory decrypt ENCRYPTED;
      both must equal PLAIN read without decryption. Prints "ok: N rows, M row groups".
must-fail: reading ENCRYPTED (with the KMS, or with none: --no-kms) must raise; prints the error.
write: pyarrow writes PLAIN's table as a PME file (256-bit DEKs, single wrapping).
write-direct: pyarrow writes PLAIN as PME under a random direct footer key (no key metadata: no KMS)
      with an AAD prefix, stored or not (pe.create_encryption_properties).
from-csv: pyarrow writes CSV (header row, every column a string) as a plaintext Parquet file.
dump: pq.ParquetFile with CryptoFactory decrypts ENCRYPTED; prints its flat columns as dump.py does.
train: read_table and iter_row_groups of python/tokengate/reader.py: the row groups come in the
      order random.Random(seed) gives (not the file's, for 3 or more), each equal to PLAIN's.
Exit status 1 with "pme_check: FAIL: ..." on stderr.
"""

import argparse
import base64
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pyarrow.parquet.encryption as pe  # noqa: E402


class PlainKms(pe.KmsClient):
    def __init__(self, cfg):
        pe.KmsClient.__init__(self)

    def wrap_key(self, key_bytes, master_key_identifier):
        return base64.b64encode(key_bytes).decode()

    def unwrap_key(self, wrapped_key, master_key_identifier):
        return base64.b64decode(wrapped_key)


def fail(msg):
    print("pme_check: FAIL: " + msg, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def factory(a):
    if a.kms == "plain":
        return pe.CryptoFactory(lambda cfg: PlainKms(cfg))
    from tokengate.encryption import crypto_factory
    return crypto_factory(binary=a.tokengate, keyring=a.keyring)


def same(a, b):
    """Table equality where NaN equals NaN (pyarrow's equals says NaN != NaN)."""
    if not a.schema.equals(b.schema, check_metadata=True) or a.num_rows != b.num_rows:
        return False
    for name in b.column_names:
        x, y = a[name].combine_chunks(), b[name].combine_chunks()
        if pa.types.is_floating(y.type):
            if not pc.equal(pc.is_nan(x), pc.is_nan(y)).equals(pc.equal(pc.is_nan(y), pc.is_nan(y))):
                return False
            x = pc.if_else(pc.is_nan(x), pa.scalar(0, y.type), x)
            y = pc.if_else(pc.is_nan(y), pa.scalar(0, y.type), y)
        if not x.equals(y):
            return False
    return True


def decryption(a):
    return factory(a).file_decryption_properties(pe.KmsConnectionConfig(), pe.DecryptionConfiguration(cache_lifetime=1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["read", "must-fail", "write", "train", "dump", "from-csv", "write-direct"])
    p.add_argument("files", nargs="+")
    p.add_argument("--kms", choices=["plain", "tokengate"], default="tokengate")
    p.add_argument("--tokengate")
    p.add_argument("--keyring")
    p.add_argument("--no-kms", action="store_true")
    p.add_argument("--footer-key", default="at-rest/datasets")
    p.add_argument("--column-key", action="append", default=[])
    p.add_argument("--plaintext-footer", action="store_true")
    p.add_argument("--algorithm", default="AES_GCM_V1", choices=["AES_GCM_V1", "AES_GCM_CTR_V1"])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--aad-prefix")
    p.add_argument("--aad-prefix-not-stored", action="store_true")
    a = p.parse_args()

    if a.mode == "read":
        enc, plain = a.files
        expected = pq.read_table(plain)
        props = decryption(a)
        got = pq.read_table(enc, decryption_properties=props)
        if not same(got, expected):
            fail("pq.read_table of %s differs from %s" % (enc, plain))
        f = pq.ParquetFile(enc, decryption_properties=props)
        groups = [f.read_row_group(g) for g in range(f.num_row_groups)]
        whole = pa.concat_tables(groups) if groups else expected.slice(0, 0)
        if not same(whole, expected):
            fail("pq.ParquetFile row groups of %s differ from %s" % (enc, plain))
        print("ok: %d rows, %d row groups" % (got.num_rows, f.num_row_groups))
    elif a.mode == "write-direct":
        plain, out = a.files
        props = pe.create_encryption_properties(
            os.urandom(32), aad_prefix=a.aad_prefix.encode(), store_aad_prefix=not a.aad_prefix_not_stored)
        pq.write_table(pq.read_table(plain), out, encryption_properties=props)
        print("ok: wrote %s" % out)
    elif a.mode == "from-csv":
        import pyarrow.csv as pcsv
        src, out = a.files
        with open(src, encoding="utf-8") as f:
            names = f.readline().rstrip("\r\n").split(",")
        t = pcsv.read_csv(src, convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}))
        pq.write_table(t, out, row_group_size=100)
        print("ok: wrote %s" % out)
    elif a.mode == "dump":
        (enc,) = a.files
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import json
        import dump
        json.dump(dump.dump(enc, decryption_properties=decryption(a)), sys.stdout, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        sys.stdout.write("\n")
    elif a.mode == "must-fail":
        (enc,) = a.files
        # pq.ParquetFile(...).read(): pq.read_table raises too, but pyarrow 26's dataset threads
        # then keep the interpreter from exiting.
        try:
            props = None if a.no_kms else decryption(a)
            t = pq.ParquetFile(enc, decryption_properties=props).read()
        except Exception as e:  # pyarrow raises OSError / ArrowException subclasses
            print("failed as expected: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
            return
        fail("%s was read (%d rows) but must not be" % (enc, t.num_rows))
    elif a.mode == "write":
        plain, out = a.files
        columns = {}
        for spec in a.column_key:
            k, cols = spec.split(":", 1)
            columns[k] = cols.split(",")
        from tokengate.encryption import encryption_configuration
        config = encryption_configuration(a.footer_key, columns, a.plaintext_footer, a.algorithm)
        props = factory(a).file_encryption_properties(pe.KmsConnectionConfig(), config)
        table = pq.read_table(plain)
        meta = pq.ParquetFile(plain).metadata
        rg = max(1, meta.row_group(0).num_rows) if meta.num_row_groups else None
        pq.write_table(table, out, encryption_properties=props, row_group_size=rg)
        print("ok: wrote %s" % out)
    else:
        enc, plain = a.files
        from tokengate.reader import iter_row_groups, read_table
        env = {}
        expected = pq.read_table(plain)
        whole = read_table(enc, binary=a.tokengate, keyring=a.keyring, env=env)
        if not same(whole, expected):
            fail("read_table differs")
        df = whole.to_pandas()
        if len(df) != expected.num_rows:
            fail("to_pandas lost rows")
        groups = list(iter_row_groups(enc, shuffle_seed=a.seed, binary=a.tokengate, keyring=a.keyring, env=env))
        f = pq.ParquetFile(plain)
        order = list(range(f.num_row_groups))
        random.Random(a.seed).shuffle(order)
        if len(groups) != len(order):
            fail("%d row groups yielded, the file has %d" % (len(groups), len(order)))
        for k, g in enumerate(order):
            if not same(groups[k], f.read_row_group(g)):
                fail("shuffled row group %d is not the file's row group %d" % (k, g))
        if len(order) >= 3 and order == sorted(order):
            fail("the seed left the row groups in file order")
        got = pa.concat_tables(groups)
        print("ok: %d rows in %d row groups, shuffled" % (got.num_rows, len(groups)))


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)
