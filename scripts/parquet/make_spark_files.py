#!/usr/bin/env python3
"""Parquet files written by parquet-mr (Apache Parquet Java, through pyspark's Spark SQL writer):
the fixtures under Fixtures/parquet/parquet-mr/, made by a writer that shares no code with
pyarrow, duckdb, fastparquet or tokengate. Spark's defaults: INT96 timestamps, decimals as
INT32/INT64/FIXED_LEN_BYTE_ARRAY by precision, 3-level LIST and MAP groups, PLAIN_DICTIONARY;
with parquet.writer.version PARQUET_2_0, data pages v2 with DELTA_BINARY_PACKED and
DELTA_BYTE_ARRAY. 1,200 rows, small row groups (parquet.block.size 16 KiB), nulls in every
optional column. Regenerate (pyspark and a JRE, as scripts/setup.sh installs them):

  .venv/bin/python scripts/parquet/make_spark_files.py Fixtures/parquet/parquet-mr

The committed files were made with pyspark 4.3.0 (parquet-mr 1.17.0); make_corpus.py copies
them into the interop corpus as mr_<codec>_v<1|2>.parquet.
"""
import datetime
import decimal
import glob
import os
import shutil
import sys
import time

t=time.time()
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
from pyspark.sql import SparkSession
from pyspark.sql.types import *
out=os.path.abspath(sys.argv[1])
os.makedirs(out, exist_ok=True)
spark=(SparkSession.builder.master("local[1]").appName("corpus").config("spark.ui.enabled","false")
  .config("spark.sql.session.timeZone","UTC").config("spark.sql.warehouse.dir", out+"/wh").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
schema=StructType([StructField("id",LongType(),False),StructField("string",StringType()),StructField("int32",IntegerType()),
 StructField("int64",LongType()),StructField("float64",DoubleType()),StructField("float32",FloatType()),StructField("dec9_2",DecimalType(9,2)),
 StructField("dec18_4",DecimalType(18,4)),StructField("dec38_10",DecimalType(38,10)),StructField("date",DateType()),
 StructField("ts",TimestampType()),StructField("bool",BooleanType()),StructField("binary",BinaryType()),
 StructField("card",StringType()),StructField("card_int",LongType()),StructField("email",StringType()),StructField("ssn",StringType()),StructField("list_i64",ArrayType(LongType())),StructField("m",MapType(StringType(),IntegerType())),
 StructField("st",StructType([StructField("a",IntegerType()),StructField("b",StringType())]))])
def card(i):
    """A Luhn-valid 16-digit number starting 4 (deterministic in i)."""
    body = "4" + "%014d" % (((i + 1) * 6364136223846793005 + 1442695040888963407) % 10**14)
    total = 0
    for k, ch in enumerate(reversed(body)):
        d = int(ch)
        if k % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


rows=[]
for i in range(1200):
    n=lambda k: i%k==0
    rows.append((i, None if n(7) else ("" if i%7==1 else "v%d-é😀"%i), None if n(9) else (i*7919)%200001-100000, None if n(10) else (i*104729)-10**9,
      None if n(8) else i*1.25-1000, None if n(11) else float(i)/3, None if n(6) else decimal.Decimal(((i*7)%200001-100000))/100,
      None if n(12) else decimal.Decimal((i*7919)%2000001-1000000)/10000, None if n(13) else decimal.Decimal(i*104729-123456789)/10**10*10**6,
      None if n(5) else datetime.date(1960,1,1)+datetime.timedelta(days=i*13), None if n(4) else datetime.datetime(2001,2,3,4,5,6)+datetime.timedelta(seconds=i*987, microseconds=i*13),
      None if n(3) else i%2==0, None if n(14) else bytes([i%256,255]), None if n(15) else card(i), None if n(19) else int(card(i + 7)), None if n(20) else "user%d.x@example%d.com" % (i, i % 5),
      None if n(21) else "%03d-%02d-%04d" % (1 + (i * 37) % 665, 1 + i % 99, 1 + (i * 53) % 9999),
      None if n(16) else [i%5,None,i%3], None if n(17) else {"k%d"%(i%4): i}, None if n(18) else (i, "s%d"%i)))
df=spark.createDataFrame(rows,schema).coalesce(1)  # one writer task: one file, rows in order
for codec,ver in (("snappy","v1"),("gzip","v1"),("zstd","v2")):
    d=out+"/tmp_"+codec
    df.write.mode("overwrite").option("compression",codec).option("parquet.writer.version", "PARQUET_2_0" if ver=="v2" else "PARQUET_1_0").option("parquet.block.size", 16384).parquet(d)
    part=glob.glob(d+"/part-*.parquet")[0]
    shutil.move(part, out+"/mr_%s_%s.parquet"%(codec,ver)); shutil.rmtree(d)
spark.stop()
print("took", time.time()-t)
