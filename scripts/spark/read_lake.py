#!/usr/bin/env python3
"""Spark reads a vendorlake lake: scripts/spark/read_lake.py LAKE SPARK_DDL ATHENA_DDL SCRATCH

Run by e2e_spark_test.go with PySpark from scripts/spark.sh's cached venv.
Prints one JSON object on stdout that the Go test compares with DuckDB:

  tables.T.partitions     {"k=v/k2=v2": rows} read by spark.read.parquet with
                          partition discovery (partition values as strings)
  tables.T.path_mismatch  rows whose partition columns differ from the
                          k=v folders of the file they were read from
  tables.T.timestamps     {column: sorted epoch microseconds} of every
                          top-level column Spark reads as TIMESTAMP
  tables.T.types          {column: Spark type} of the top-level columns
  explode_purposes        rows of explode(didomi_users.consents.purposes)
  map_keys                number of map_keys of the portability events' query_params
  spark_ddl.T / athena_ddl.T  count(*) after running every statement of
                          'vendorlake ddl --dialect=spark|athena' and MSCK REPAIR TABLE
                          (Athena's views, Presto SQL, are not run)
  spark_views.V           count(*) of each view of --dialect=spark
"""
import json
import os
import re
import sys

lake, spark_ddl, athena_ddl, scratch = (os.path.abspath(a) for a in sys.argv[1:5])
os.chdir(scratch)  # derby.log and metastore_db land here

from pyspark.sql import SparkSession, functions as F  # noqa: E402
from pyspark.sql.types import TimestampType  # noqa: E402

spark = (
    SparkSession.builder.master("local[2]")
    .appName("vendorlake-read-lake")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse"))
    .config("spark.hadoop.javax.jdo.option.ConnectionURL",
            "jdbc:derby:;databaseName=" + os.path.join(scratch, "metastore_db") + ";create=true")
    # Partition values as the folder text, so they compare with the paths.
    .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    .enableHiveSupport()
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")

out = {"tables": {}, "spark_ddl": {}, "athena_ddl": {}, "spark_views": {}}


def parquet_tables():
    for name in sorted(os.listdir(lake)):
        d = os.path.join(lake, name)
        if name.startswith(("_", ".")) or not os.path.isdir(d):
            continue
        has = any(f.endswith(".parquet") for _, _, fs in os.walk(d) for f in fs)
        if has:
            yield name, d


for name, d in parquet_tables():
    df = spark.read.parquet("file://" + d)
    first = next(os.path.join(r, f) for r, _, fs in sorted(os.walk(d)) for f in sorted(fs) if f.endswith(".parquet"))
    parts = [seg.split("=", 1)[0] for seg in os.path.relpath(os.path.dirname(first), d).split(os.sep) if "=" in seg]
    t = {"types": {f.name: f.dataType.simpleString() for f in df.schema.fields}, "partitions": {}, "timestamps": {}}
    if parts:
        # Rows per partition, and rows whose partition columns are not the
        # k=v folders of the file they were read from, in one pass.
        key = F.concat_ws("/", *[F.concat(F.lit(p + "="), F.col(p)) for p in parts])
        f = F.input_file_name()
        bad = None
        for p in parts:
            c = ~f.contains(F.concat(F.lit("/" + p + "="), F.col(p), F.lit("/")))
            bad = c if bad is None else (bad | c)
        rows = (df.select(key.alias("k"), bad.cast("long").alias("bad"))
                .groupBy("k").agg(F.count(F.lit(1)).alias("n"), F.sum("bad").alias("bad")).collect())
        t["partitions"] = {r["k"]: r["n"] for r in rows}
        t["path_mismatch"] = sum(r["bad"] or 0 for r in rows)
    else:
        t["partitions"][""] = df.count()
        t["path_mismatch"] = 0
    for f in df.schema.fields:
        if isinstance(f.dataType, TimestampType):
            vals = [r[0] for r in df.select(F.unix_micros(F.col(f.name))).collect()]
            t["timestamps"][f.name] = sorted(v for v in vals if v is not None)
    out["tables"][name] = t

users = os.path.join(lake, "didomi_users")
if os.path.isdir(users):
    u = spark.read.parquet("file://" + users)
    out["explode_purposes"] = u.select(F.explode("consents.purposes").alias("p")).select("p.id", "p.enabled").count()
events = os.path.join(lake, "audiencestudio_portability_events")
if os.path.isdir(events):
    e = spark.read.parquet("file://" + events)
    out["map_keys"] = e.select(F.explode(F.map_keys("query_params"))).count()


def statements(path):
    text = open(path).read()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


created = re.compile(r"CREATE (?:EXTERNAL )?TABLE IF NOT EXISTS `(\w+)`\.`(\w+)`")
view = re.compile(r"CREATE OR REPLACE VIEW [`\"](\w+)[`\"]\.[`\"](\w+)[`\"]")
for kind, path in (("spark_ddl", spark_ddl), ("athena_ddl", athena_ddl)):
    tables, views = [], []
    for stmt in statements(path):
        v = view.match(stmt)
        if v and kind == "athena_ddl":
            continue  # Athena's views are Presto SQL, not Spark's
        m = created.match(stmt)
        if m:
            spark.sql("CREATE DATABASE IF NOT EXISTS `%s`" % m.group(1))
            tables.append("`%s`.`%s`" % (m.group(1), m.group(2)))
        if v:
            views.append("`%s`.`%s`" % (v.group(1), v.group(2)))
        try:
            spark.sql(stmt)
        except Exception as err:  # report the statement Spark refused
            print("%s: Spark refused:\n%s\n%s" % (kind, stmt, err), file=sys.stderr)
            sys.exit(1)
    for t in tables:
        if kind == "athena_ddl":  # Athena projects partitions; Spark needs them listed
            spark.sql("MSCK REPAIR TABLE " + t)
        out[kind][t.split(".")[1].strip("`")] = spark.sql("SELECT count(*) FROM " + t).collect()[0][0]
    for t in views:  # after every table's MSCK REPAIR
        out["spark_views"][t.split(".")[1].strip("`")] = spark.sql("SELECT count(*) FROM " + t).collect()[0][0]

spark.stop()
print(json.dumps(out))
