# dossier's Spark driver (issue 22): run on the machine dossier runs on, by `spark-submit` (client
# mode) or, for Spark Connect (`request.json` names a `remote`), by a Python with
# pyspark[connect]; the cluster only ever sees Spark SQL. It talks with dossier through a folder (spark-submit
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


def with_sizes(spark, frame, files):
    """Each file Spark reads, with its size in bytes and its last modification (ms since the
    epoch); None where the file system will not say."""
    try:
        jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    except Exception:  # noqa: BLE001 - no JVM gateway (Spark Connect)
        return from_metadata(frame, files)
    out = []
    for f in files:
        try:
            path = jvm.org.apache.hadoop.fs.Path(f)
            status = path.getFileSystem(conf).getFileStatus(path)
            out.append([f, status.getLen(), status.getModificationTime()])
        except Exception:  # noqa: BLE001 - a file gone since the listing is still named
            out.append([f, None, None])
    return out


def from_metadata(frame, files):
    """The sizes and times of a file source's `_metadata` column (a scan that reads no column's
    values), matched to `inputFiles()` by path; None for a source without it."""
    from urllib.parse import unquote, urlparse

    def key(uri):
        return unquote(urlparse(uri).path)

    try:
        rows = (
            frame.selectExpr(
                "_metadata.file_path AS p",
                "_metadata.file_size AS n",
                "unix_millis(_metadata.file_modification_time) AS t",
            )
            .distinct()
            .collect()
        )
    except Exception:  # noqa: BLE001 - not a file source: names only
        rows = []
    known = {key(r["p"]): (r["n"], r["t"]) for r in rows}
    return [[f, *known.get(key(f), (None, None))] for f in files]


# What DESCRIBE TABLE EXTENDED says of a table that an auditor needs to find it again.
TABLE_FACTS = ("Catalog", "Database", "Table", "Type", "Provider", "Location", "Created Time",
               "Partition Provider")


def table_facts(spark, table):
    """A table's catalog facts and, for a Delta table, the version read (its snapshot)."""
    name = ".".join("`" + part.replace("`", "``") + "`" for part in table.split("."))
    facts = []
    try:
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
        facts = [[r["col_name"], r["data_type"]] for r in rows if r["col_name"] in TABLE_FACTS]
    except Exception:  # noqa: BLE001 - a catalog that will not say: no facts
        pass
    try:
        last = spark.sql(f"DESCRIBE HISTORY {name} LIMIT 1").collect()
        if last:
            facts.append(["Delta version", str(last[0]["version"])])
            facts.append(["Delta timestamp", str(last[0]["timestamp"])])
    except Exception:  # noqa: BLE001 - not a Delta table (or no Delta): no version
        pass
    return facts


def main():
    from pyspark.sql import SparkSession

    folder = sys.argv[1]
    with open(os.path.join(folder, "request.json")) as f:
        request = json.load(f)
    if request.get("remote"):
        spark = SparkSession.builder.remote(request["remote"]).getOrCreate()
        for key, value in sorted(request.get("conf", {}).items()):
            spark.conf.set(key, value)
    else:
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
            "files": with_sizes(spark, frame, sorted(frame.inputFiles())),
            "table": table_facts(spark, request["table"]) if request.get("table") else [],
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
