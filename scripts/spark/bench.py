"""Benchmark of the Spark bridge (docs/spark.md): rows/s of tokenize_dataframe on local[2] against
`tokengate tokenize` alone on the same rows, and where the Spark path's time goes.

  .venv/bin/python scripts/spark/bench.py --binary .build-spark-release/release/tokengate \\
      --keyring K --policy P --workdir /tmp/bench --rows 1000000 --partitions 8

Spark's own cost is measured with the same job and an identity mapInArrow (no tokengate); the
bridge's share is the time the partition tasks spend outside tokengate's processing: Arrow to
CSV frames and back in Python, the pipe, and each process's start (keyring, HSM login).
Prints one JSON object.
"""

import glob
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.join(ROOT, "python"), os.environ.get("PYTHONPATH")] if p)

from spark_check import job_arguments, make_rows, write_input  # noqa: E402
from tokengate.spark import tokenize_dataframe  # noqa: E402


def main():
    args = job_arguments(rows=1000000).parse_args()
    rows = make_rows(args.rows)
    src = write_input(rows, args.workdir)
    out = {"rows": args.rows, "partitions": args.partitions, "cores": os.cpu_count()}

    # The CLI alone (all cores: --workers defaults to them).
    t = time.monotonic()
    r = subprocess.run([args.binary, "tokenize", "--in", src, "--out", os.path.join(args.workdir, "cli.csv"),
                        "--policy", args.policy, "--keyring", args.keyring], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)
    out["cli_seconds"] = time.monotonic() - t
    out["cli_rows_per_s"] = args.rows / out["cli_seconds"]

    from pyspark.sql import SparkSession
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    spark = (
        SparkSession.builder.master("local[2]").appName("tokengate-bench")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", os.path.join(args.workdir, "spark-warehouse"))
        .config("spark.local.dir", os.path.join(args.workdir, "spark-local"))
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    schema = StructType([StructField("id", LongType(), False), StructField("card", StringType(), True),
                         StructField("email", StringType(), True), StructField("ssn", StringType(), True)])
    df = spark.createDataFrame(spark.sparkContext.parallelize(rows, args.partitions), schema).cache()
    df.count()  # the rows live in Spark's memory: neither path below pays for making them

    # Spark alone: the same job shape with an identity mapInArrow (once to start the Python
    # workers, untimed; timed after the tokenize job).
    def identity():
        df.mapInArrow(lambda batches: (b for b in batches), df.schema).write.format("noop").mode("overwrite").save()

    identity()

    summaries = os.path.join(args.workdir, "summaries")
    os.makedirs(summaries, exist_ok=True)
    for f in glob.glob(os.path.join(summaries, "*")):
        os.unlink(f)
    t = time.monotonic()
    tok = tokenize_dataframe(df, policy=args.policy, keyring=args.keyring, binary=args.binary, summary_dir=summaries)
    out["driver_plan_seconds"] = time.monotonic() - t
    t = time.monotonic()
    tok.write.format("noop").mode("overwrite").save()
    out["spark_tokenize_seconds"] = time.monotonic() - t
    out["spark_rows_per_s"] = args.rows / out["spark_tokenize_seconds"]
    t = time.monotonic()
    identity()
    out["spark_identity_seconds"] = time.monotonic() - t
    spark.stop()

    task = bridge = processing = wall = 0.0
    for f in glob.glob(os.path.join(summaries, "*.bridge.json")):
        with open(f) as h:
            b = json.load(h)
        task += b["taskSeconds"]
        bridge += b["bridgeSeconds"]
    for f in glob.glob(os.path.join(summaries, "tokenize-*[0-9].json")):
        with open(f) as h:
            s = json.load(h)
        processing += s["pipe"]["processingSeconds"]
        wall += s["wallSeconds"]
    out["task_seconds_total"] = task
    out["tokengate_processing_seconds_total"] = processing
    out["tokengate_wall_seconds_total"] = wall
    out["python_arrow_csv_seconds_total"] = bridge
    out["bridge_share_of_task_time"] = (task - processing) / task if task else None
    out["python_conversion_share_of_task_time"] = bridge / task if task else None
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
