"""End-to-end check of the Spark bridge on local[2] (run by Tests/TokenizeTests/SparkBridgeTests.swift
and by scripts/spark-example.sh):

1. a DataFrame of --rows rows (id, card, email, ssn) in --partitions partitions is tokenized with
   tokengate.spark.tokenize_dataframe; the result equals `tokengate tokenize` of the same rows
   written as CSV, row for row;
2. detokenize_dataframe brings the input back;
3. a DataFrame with one value outside its transform's domain (in one partition) fails the job,
   and the driver's exception names the column.

Prints one JSON line with the application id and the timings; exits non-zero on any mismatch.
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
# The Python workers import the package from this checkout too (they inherit the environment).
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.join(ROOT, "python"), os.environ.get("PYTHONPATH")] if p)

from tokengate.spark import detokenize_dataframe, tokenize_dataframe  # noqa: E402


def luhn_complete(prefix):
    """prefix + the Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


def make_rows(n, seed=18):
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        card = luhn_complete("4" + "".join(str(rnd.randrange(10)) for _ in range(14)))
        email = "user%d.%s@example%d.com" % (i, "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5)), i % 7)
        area = rnd.choice([a for a in range(1, 900) if a != 666])
        ssn = "%03d-%02d-%04d" % (area, rnd.randrange(1, 100), rnd.randrange(1, 10000))
        rows.append((i, card, email, ssn))
    return rows


def job_arguments(rows):
    """The arguments this check and bench.py share: binary, keyring, policy, workdir, rows, partitions."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keyring", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rows", type=int, default=rows)
    ap.add_argument("--partitions", type=int, default=8)
    return ap


def write_input(rows, workdir):
    """The rows as the CSV feed the CLI reads (header id,card,email,ssn); returns its path."""
    os.makedirs(workdir, exist_ok=True)
    src = os.path.join(workdir, "input.csv")
    with open(src, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "card", "email", "ssn"])
        w.writerows(rows)
    return src


def main():
    ap = job_arguments(rows=100000)
    ap.add_argument("--bad-value", default="12-345-6789", help="an ssn outside the ssn transform's domain")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    timings = {}

    rows = make_rows(args.rows)
    src = write_input(rows, args.workdir)

    # The CLI alone on the same rows (beside Spark's start-up; collected below).
    t_cli = time.monotonic()
    cli_out = os.path.join(args.workdir, "cli.csv")
    cli = subprocess.Popen(
        [args.binary, "tokenize", "--in", src, "--out", cli_out, "--policy", args.policy, "--keyring", args.keyring],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    cli_done = {}
    waiter = threading.Thread(target=lambda: cli_done.update(err=cli.communicate()[1], seconds=time.monotonic() - t_cli))
    waiter.start()

    from pyspark.sql import SparkSession
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    t = time.monotonic()
    spark = (
        SparkSession.builder.master("local[2]").appName("tokengate-spark-check")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.warehouse.dir", os.path.join(args.workdir, "spark-warehouse"))
        # A short job: the C1 compiler and the serial collector start the JVM faster on few cores.
        .config("spark.driver.extraJavaOptions",
                "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dderby.system.home=" + os.path.join(args.workdir, "derby"))
        .config("spark.local.dir", os.path.join(args.workdir, "spark-local"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    timings["spark_start_s"] = time.monotonic() - t
    schema = StructType([
        StructField("id", LongType(), False), StructField("card", StringType(), True),
        StructField("email", StringType(), True), StructField("ssn", StringType(), True),
    ])
    df = spark.createDataFrame(spark.sparkContext.parallelize(rows, args.partitions), schema)
    assert df.rdd.getNumPartitions() == args.partitions

    waiter.join()
    if cli.returncode != 0:
        sys.exit("tokengate tokenize failed: " + cli_done["err"])
    timings["cli_tokenize_s"] = cli_done["seconds"]
    with open(cli_out, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        assert header == ["id", "card", "email", "ssn"], header
        expected = {int(row[0]): tuple(row[1:]) for row in reader}

    # 1. Tokenize; materialized once (so the later steps do not run it again).
    t = time.monotonic()
    manifest_path = os.path.join(args.workdir, "manifest.json")
    tok = tokenize_dataframe(df, policy=args.policy, keyring=args.keyring, binary=args.binary, manifest_out=manifest_path)
    assert tok.schema == df.schema, (tok.schema, df.schema)
    tok_path = os.path.join(args.workdir, "tokenized.parquet")
    tok.write.mode("overwrite").parquet(tok_path)
    timings["spark_tokenize_s"] = time.monotonic() - t
    tok = spark.read.parquet(tok_path)
    got = {r["id"]: (r["card"], r["email"], r["ssn"]) for r in tok.collect()}
    if len(got) != len(rows) or got != expected:
        diff = [i for i in expected if got.get(i) != expected[i]][:3]
        sys.exit("Spark tokens differ from the CLI's: %d rows vs %d, first ids differing %s" % (len(got), len(expected), diff))
    if any(got[i][0] == rows[i][1] or got[i][2] == rows[i][3] for i in range(0, len(rows), 997)):
        sys.exit("values were not tokenized")

    # 2. Detokenize brings the input back.
    t = time.monotonic()
    with open(manifest_path) as f:
        manifest = json.load(f)
    clear = detokenize_dataframe(tok, manifest=manifest, policy=args.policy, keyring=args.keyring, binary=args.binary)
    back = {r["id"]: (r["id"], r["card"], r["email"], r["ssn"]) for r in clear.collect()}
    timings["spark_detokenize_s"] = time.monotonic() - t
    if back != {row[0]: row for row in rows}:
        sys.exit("detokenize_dataframe did not bring the input back")

    # 3. A value outside its transform's domain fails the job, naming the column.
    t = time.monotonic()
    bad = list(rows[:8000])
    k = len(bad) * 5 // 8 + 7  # in partition 5 of 8
    bad[k] = (bad[k][0], bad[k][1], bad[k][2], args.bad_value)
    bad_df = spark.createDataFrame(spark.sparkContext.parallelize(bad, args.partitions), schema)
    # This job takes the binary and the policy from spark.files (SparkFiles), as a cluster would.
    spark.sparkContext.addFile(args.binary)
    spark.sparkContext.addFile(args.policy)
    failure = None
    try:
        tokenize_dataframe(
            bad_df, policy="sparkfiles:" + os.path.basename(args.policy), keyring=args.keyring,
            binary="sparkfiles:" + os.path.basename(args.binary)).collect()
    except Exception as e:  # the driver sees the task's exception (Py4JJavaError / PythonException)
        failure = str(e)
    if failure is None:
        sys.exit("the job with a value outside the ssn domain succeeded")
    if "column 'ssn'" not in failure or args.bad_value in failure:
        sys.exit("the job failed without naming the column (or with the value in the message): " + failure[-3000:])
    timings["spark_failing_job_s"] = time.monotonic() - t
    line = next((ln for ln in failure.splitlines() if "column 'ssn'" in ln), "")

    app_id = spark.sparkContext.applicationId
    spark.stop()
    print(json.dumps({"app": app_id, "rows": len(rows), "partitions": args.partitions, "timings": timings, "failure": line.strip()[:500]}))


if __name__ == "__main__":
    main()
