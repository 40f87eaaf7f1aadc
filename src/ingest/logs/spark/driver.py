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
            "files": sorted(frame.inputFiles()),
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
