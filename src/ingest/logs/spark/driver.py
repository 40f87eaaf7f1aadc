# dossier's Spark driver (issue 22): run by `spark-submit` (client mode) on the machine dossier
# runs on; the cluster only ever sees Spark SQL. It talks with dossier through a folder (spark-submit
# gives the Python driver no stdin): `request.json` names the source; the driver replies on stdout
# with Spark's version, the source's schema and its files; dossier then writes `statements.json`,
# the SQL it generated for that schema, which the driver runs in order, sending back every row.
# Every line for dossier starts with "DOSSIER\t": anything else printed on stdout is not a reply.
import json
import os
import sys
import time


def emit(obj):
    sys.stdout.write("DOSSIER\t" + json.dumps(obj, allow_nan=True) + "\n")
    sys.stdout.flush()


def with_sizes(spark, files):
    """Each file Spark reads, with its size in bytes and its last modification (ms since the
    epoch); None where the file system will not say."""
    try:
        jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    except Exception:  # noqa: BLE001 - no JVM gateway (Spark Connect): names only
        return [[f, None, None] for f in files]
    out = []
    for f in files:
        try:
            path = jvm.org.apache.hadoop.fs.Path(f)
            status = path.getFileSystem(conf).getFileStatus(path)
            out.append([f, status.getLen(), status.getModificationTime()])
        except Exception:  # noqa: BLE001 - a file gone since the listing is still named
            out.append([f, None, None])
    return out


def main():
    from pyspark.sql import SparkSession

    folder = sys.argv[1]
    with open(os.path.join(folder, "request.json")) as f:
        request = json.load(f)
    spark = SparkSession.builder.appName("dossier").getOrCreate()
    if request.get("table"):
        frame = spark.table(request["table"])
    else:
        frame = spark.read.parquet(request["path"])
    frame.createOrReplaceTempView("dossier_logs")
    emit(
        {
            "kind": "source",
            "version": spark.version,
            "schema": json.loads(frame.schema.json()),
            "files": with_sizes(spark, sorted(frame.inputFiles())),
        }
    )
    # dossier stops this process if it never comes (its time limit).
    statements = os.path.join(folder, "statements.json")
    while not os.path.exists(statements):
        time.sleep(0.05)
    with open(statements) as f:
        queries = json.load(f)
    for name, sql in queries["queries"]:
        for row in spark.sql(sql).collect():
            emit({"kind": "row", "query": name, "row": row.asDict(recursive=True)})
    emit({"kind": "done"})
    spark.stop()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - every failure goes back to dossier, named
        emit({"kind": "error", "message": f"{type(e).__name__}: {e}"})
        sys.exit(3)
