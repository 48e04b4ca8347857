#!/usr/bin/env python3
"""pyarrow's decrypting read of a PME file against its unencrypted read, in the same run.

Usage: .venv/bin/python scripts/parquet/pme_bench.py PLAIN SEALED --tokengate BIN [--keyring CFG] [--repeat N]

Alternates pq.read_table(PLAIN) and pq.read_table(SEALED, decryption_properties=...) N times
(default 3; a fresh CryptoFactory per read, so its `tokengate keys unwrap` calls, one per
distinct key, are in the time)
and prints {"plain_s": [...], "pme_s": [...], "best_plain_s", "best_pme_s", "overhead_pct",
"rows"}: overhead_pct is (best PME - best plain) / best plain.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import pyarrow.parquet as pq  # noqa: E402
import pyarrow.parquet.encryption as pe  # noqa: E402

from tokengate.encryption import crypto_factory  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("plain")
    p.add_argument("sealed")
    p.add_argument("--tokengate", required=True)
    p.add_argument("--keyring")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    plain_s, pme_s, rows = [], [], 0
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        t = pq.read_table(a.plain)
        plain_s.append(time.perf_counter() - t0)
        rows = t.num_rows
        del t
        # A fresh factory each time: the file's keys are unwrapped again (`tokengate keys unwrap`,
        # once per distinct key), as a new training process would.
        props = crypto_factory(binary=a.tokengate, keyring=a.keyring).file_decryption_properties(
            pe.KmsConnectionConfig(), pe.DecryptionConfiguration())
        t0 = time.perf_counter()
        t = pq.read_table(a.sealed, decryption_properties=props)
        pme_s.append(time.perf_counter() - t0)
        if t.num_rows != rows:
            print("pme_bench: FAIL: row counts differ", file=sys.stderr)
            sys.exit(1)
        del t
    bp, bs = min(plain_s), min(pme_s)
    print(json.dumps({"plain_s": plain_s, "pme_s": pme_s, "best_plain_s": bp, "best_pme_s": bs,
                      "overhead_pct": 100.0 * (bs - bp) / bp, "rows": rows}))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
