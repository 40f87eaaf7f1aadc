//! `engine: spark` (issue 22) against a real Spark in local mode on loopback: a generated
//! hive-partitioned Parquet folder (`spark_logs.py`: 200,000 records, four models, records outside
//! the period at both ends, rejects of every reason a typed Parquet file can hold) gives the same
//! KPI document through Spark as through the embedded engine on the same files — every figure to
//! 1e-9 relative, every count equal; only the account's shape differs (one Spark source instead
//! of a file per day, rejects without lines). A build records the statements Spark ran, and a
//! Spark that cannot start is an error naming the source. The same holds through a Spark Connect
//! server (`sc://`) the test starts on 127.0.0.1 and stops.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;

const TIME: &str = "2026-10-02T08:00:00Z";

/// The folder `spark-submit` is in (a venv's `bin/`, with the Python that has pyarrow).
fn spark_bin() -> Option<PathBuf> {
    if !validator("spark-submit") {
        return None;
    }
    let out = Command::new("sh")
        .args(["-c", "command -v spark-submit"])
        .output()
        .unwrap();
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    Some(path.parent().unwrap().to_path_buf())
}

fn config(dir: &Path, logs: &str) -> PathBuf {
    let store = repo().join("sample-evidence/mlflow/mlflow.db");
    let text = format!(
        "organization: Test\nreport:\n  period: {{ start: 2026-07-01, end: 2026-09-30 }}\n\
         sources:\n  mlflow:\n    - path: {}\n  logs:\n{logs}",
        store.display()
    );
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = dir.join(format!("dossier-{n}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

const SPARK: &str = "    - path: logs\n      engine: spark\n      spark:\n        master: \"local[2]\"\n\
                     \x20       conf: { spark.sql.catalogImplementation: in-memory }\n";

fn kpis(config: &Path, bin: &Path, extra: &[&str]) -> Value {
    let out = with_spark(bin)
        .args(["kpis", "--format", "json", "-c"])
        .arg(config)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every figure of two KPI documents equal (floats to 1e-9 relative), the account aside.
fn same_figures(a: &Value, b: &Value) {
    let mut diffs = Vec::new();
    for (k, v) in a.as_object().unwrap() {
        if k != "log_files" && k != "rejected" {
            differences(v, &b[k], k, &mut diffs);
        }
    }
    assert!(diffs.is_empty(), "{diffs:#?}");
}

/// The real binary with `bin`'s Spark first on PATH, its own Python, on loopback.
fn with_spark(bin: &Path) -> std::process::Command {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std_dossier();
    cmd.env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PYSPARK_PYTHON", bin.join("python3"))
        .env("PATH", path);
    cmd
}

/// `dossier build` through `bin`'s Spark into `out`, which must succeed: what it printed (the zip
/// first, then the report).
fn spark_build(bin: &Path, config: &Path, out: &Path, extra: &[&str]) -> String {
    let done = with_spark(bin)
        .args(["build", "-q", "--timestamp", TIME])
        .args(extra)
        .arg("-c")
        .arg(config)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    String::from_utf8(done.stdout).unwrap()
}

/// The text of the file whose path ends with `end` in the zip a build printed first.
fn in_zip(printed: &str, end: &str) -> String {
    let zip = PathBuf::from(printed.lines().next().unwrap());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let name = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().to_string())
        .find(|n| n.ends_with(end))
        .unwrap_or_else(|| panic!("no {end} in {}", zip.display()));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut archive.by_name(&name).unwrap(), &mut text).unwrap();
    text
}

/// Every difference between two documents: floats to 1e-9 relative, everything else exactly.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => differences(p, q, &format!("{at}/{k}"), out),
                    _ => out.push(format!("{at}/{k}: only in one")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{at}[{i}]"), out);
            }
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > 1e-9 * x.abs().max(y.abs()) {
                out.push(format!("{at}: {x} vs {y}"));
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{at}: {a} vs {b}")),
    }
}

/// Totals of the account and rejects by reason, whatever their shape.
fn totals(doc: &Value) -> (Vec<u64>, std::collections::BTreeMap<String, u64>) {
    let keys = ["records", "accepted", "outside_period", "rejected", "lines"];
    let files = doc["log_files"].as_array().unwrap();
    let sums = keys
        .iter()
        .map(|k| files.iter().map(|f| f[k].as_u64().unwrap()).sum())
        .collect();
    let mut reasons = std::collections::BTreeMap::new();
    for r in doc["rejected"].as_array().unwrap() {
        *reasons
            .entry(r["reason"].as_str().unwrap().to_string())
            .or_default() += r["count"].as_u64().unwrap();
    }
    (sums, reasons)
}

#[test]
fn spark_and_the_embedded_engine_give_the_same_kpis_and_a_build_records_the_query() {
    let Some(bin) = spark_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    succeed(
        Command::new(bin.join("python3"))
            .arg(repo().join("tests/it/spark_logs.py"))
            .args(["200000"])
            .arg(tmp.path().join("logs")),
    );
    let embedded = config(
        tmp.path(),
        "    - path: logs/day=*/*.parquet\n      format: parquet\n",
    );
    let spark = config(tmp.path(), SPARK);
    let (a, b) = (kpis(&embedded, &bin, &[]), kpis(&spark, &bin, &[]));
    same_figures(&a, &b);
    // The figures are not vacuous: four models' records, rejects of every typed reason.
    assert_eq!(a["log_files"].as_array().unwrap().len(), 101);
    assert_eq!(
        b["log_files"][0]["path"],
        format!("spark path {}", tmp.path().join("logs").display())
    );
    let (sums, reasons) = totals(&a);
    assert_eq!((sums.clone(), reasons.clone()), totals(&b));
    assert_eq!(sums[0], 200_000);
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        b["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["first_line"].is_null())
    );
    // Times as epoch milliseconds (a long column): the same rule as the embedded pass, with
    // times it cannot read and times past the nanosecond range.
    let ms = "      fields: { timestamp: ts_ms }\n";
    let embedded_ms = config(
        tmp.path(),
        &format!("    - path: logs/day=*/*.parquet\n      format: parquet\n{ms}"),
    );
    let spark_ms = config(tmp.path(), &format!("{SPARK}{ms}"));
    let (c, d) = (kpis(&embedded_ms, &bin, &[]), kpis(&spark_ms, &bin, &[]));
    same_figures(&c, &d);
    let (sums_ms, reasons_ms) = totals(&c);
    assert_eq!((sums_ms.clone(), reasons_ms.clone()), totals(&d));
    assert!(reasons_ms["unparseable timestamp"] > 0, "{reasons_ms:?}");
    assert!(sums_ms[2] > sums[2], "past 2262 is outside the period");
    // The same records as text: times in every shape of the grammar and a corpus of hard cases
    // around the period's edges (spark_logs.py), numbers written every way.
    let text =
        "      fields: { timestamp: ts_text, latency_ms: latency_text, score: score_text }\n";
    let embedded_text = config(
        tmp.path(),
        &format!("    - path: logs/day=*/*.parquet\n      format: parquet\n{text}"),
    );
    let spark_text = config(tmp.path(), &format!("{SPARK}{text}"));
    let (e, f) = (
        kpis(&embedded_text, &bin, &[]),
        kpis(&spark_text, &bin, &[]),
    );
    same_figures(&e, &f);
    let (sums_text, reasons_text) = totals(&e);
    assert_eq!((sums_text.clone(), reasons_text.clone()), totals(&f));
    // Not vacuous: the corpus's bad times and numbers are rejected, the rest read.
    assert!(
        reasons_text["unparseable timestamp"] >= 20,
        "{reasons_text:?}"
    );
    assert!(reasons_text["non-numeric latency"] > reasons["non-numeric latency"]);
    assert!(reasons_text["non-numeric score"] > reasons["non-numeric score"]);
    assert!(sums_text[1] + 100 > sums[1], "{sums_text:?} {sums:?}");
    // A regulator request for one system: the scope pushed into Spark's scan, the same figures.
    let scope = ["--system", "fraud-detector"];
    let (a, b) = (kpis(&embedded, &bin, &scope), kpis(&spark, &bin, &scope));
    same_figures(&a, &b);
    assert_eq!(totals(&a), totals(&b));
    let models = b["log_files"][0]["models"].as_object().unwrap();
    assert_eq!(models.keys().collect::<Vec<_>>(), ["fraud-detector"]);

    // A build carries the statements Spark ran, and verifies.
    let printed = spark_build(&bin, &spark_text, &tmp.path().join("dist"), &[]);
    let zip = PathBuf::from(printed.lines().next().unwrap());
    let sql = in_zip(&printed, "data/evidence/logs/spark-summary-0.sql");
    assert!(sql.contains("-- records 200000: accepted"), "{sql}");
    assert!(sql.contains("percentile(latency, array(0.5, 0.95, 0.99))"));
    // An auditor reruns the recorded statements: hand-worked text values read to the nanosecond.
    let rerun = tmp.path().join("spark-summary-0.sql");
    std::fs::write(&rerun, &sql).unwrap();
    let out = Command::new(bin.join("python3"))
        .arg(repo().join("tests/it/spark_rerun.py"))
        .arg(&rerun)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PYSPARK_PYTHON", bin.join("python3"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("0 differ"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sql.contains("day=2026-07-15"),
        "the files Spark read are listed"
    );
    // With their sizes, as the file system has them.
    let part = tmp.path().join("logs/day=2026-07-15/part-0.parquet");
    let size = std::fs::metadata(&part).unwrap().len();
    let listed = sql.lines().find(|l| l.contains("day=2026-07-15")).unwrap();
    assert!(listed.starts_with(&format!("--   {size}\t")), "{listed}");
    // sources.csv names each file read, pointing at the statements that summarised it: its size
    // and time as on disk, and no hash (dossier never read its bytes).
    let csv = in_zip(&printed, "data/sources.csv");
    let row = csv
        .lines()
        .find(|l| l.contains("day=2026-07-15/part-0.parquet"))
        .unwrap_or_else(|| panic!("the partition in sources.csv: {csv}"));
    let modified: chrono::DateTime<chrono::Utc> =
        std::fs::metadata(&part).unwrap().modified().unwrap().into();
    let mtime = modified.format("%Y-%m-%dT%H:%M:%SZ");
    assert!(row.starts_with("log-summary,file:"), "{row}");
    assert!(
        row.ends_with(&format!(
            ",data/evidence/logs/spark-summary-0.sql,{size},{mtime},"
        )),
        "{row}"
    );
    assert_eq!(
        csv.matches(",data/evidence/logs/spark-summary-0.sql,")
            .count(),
        101,
        "one row per daily file: {csv}"
    );
    // The report's sources register claims no hash for them either.
    let pdf = printed
        .lines()
        .find(|l| l.ends_with(".pdf"))
        .expect("a report");
    let text = std::process::Command::new("pdftotext")
        .args(["-layout", pdf, "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("log-summary") && text.contains("not read here: summarised on Spark"),
        "{text}"
    );
    let verified = run(&["verify", zip.to_str().unwrap()]);
    assert!(
        verified.stdout.contains("missing: the bundle is unsigned"),
        "{}",
        verified.stdout
    );
    assert_eq!(
        verified.stdout.matches("FAIL").count(),
        2,
        "{}",
        verified.stdout
    );
}

#[test]
fn a_spark_that_cannot_start_is_an_error_naming_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("logs")).unwrap();
    let spark = config(
        tmp.path(),
        "    - path: logs\n      engine: spark\n      spark: { master: \"local[2]\", submit: /nonexistent/spark-submit }\n",
    );
    let out = run(&["kpis", "-c", spark.to_str().unwrap()]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("spark path"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot start /nonexistent/spark-submit"),
        "{}",
        out.stderr
    );
    // A Spark Connect server nobody listens for: named at once, not after the client's retries.
    let connect = config(
        tmp.path(),
        "    - path: logs\n      engine: spark\n      spark: { master: \"sc://127.0.0.1:1\" }\n",
    );
    let out = run(&["kpis", "-c", connect.to_str().unwrap()]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("spark path")
            && out
                .stderr
                .contains("cannot reach Spark Connect at 127.0.0.1:1"),
        "{}",
        out.stderr
    );
}

/// A Spark Connect server on 127.0.0.1 (pyspark's own `sbin` script, local[2]), stopped when
/// dropped.
struct ConnectServer {
    env: Vec<(&'static str, String)>,
    sbin: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl ConnectServer {
    fn start(bin: &Path) -> ConnectServer {
        let home = Command::new(bin.join("python3"))
            .args([
                "-c",
                "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
            ])
            .output()
            .unwrap();
        let sbin = PathBuf::from(String::from_utf8(home.stdout).unwrap().trim()).join("sbin");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let folder = dir.path().display().to_string();
        let server = ConnectServer {
            env: vec![
                ("PATH", path),
                ("SPARK_LOCAL_IP", "127.0.0.1".into()),
                ("SPARK_PID_DIR", folder.clone()),
                ("SPARK_LOG_DIR", folder),
                ("SPARK_IDENT_STRING", format!("dossier-{port}")),
            ],
            sbin,
            port,
            _dir: dir,
        };
        succeed(
            Command::new(server.sbin.join("start-connect-server.sh"))
                .envs(server.env.iter().map(|(k, v)| (k, v)))
                .args(["--master", "local[2]", "--conf"])
                .arg("spark.connect.grpc.binding.address=127.0.0.1")
                .arg("--conf")
                .arg(format!("spark.connect.grpc.binding.port={port}"))
                .args(["--conf", "spark.sql.catalogImplementation=in-memory"])
                .args(["--conf", "spark.ui.enabled=false"]),
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "no Spark Connect server on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        server
    }
}

impl ConnectServer {
    /// A log source on this server: `what` (`path: …` or `table: …`), more `spark` keys, then
    /// the rest of the source (its fields).
    fn source(&self, bin: &Path, what: &str, spark: &str, rest: &str) -> String {
        format!(
            "    - {what}\n      engine: spark\n      spark: {{ master: \"sc://127.0.0.1:{}\", \
             python: {}{spark} }}\n{rest}",
            self.port,
            bin.join("python3").display()
        )
    }

    /// One SQL statement run on the server by a client of its own (a table or view for a test).
    fn run(&self, bin: &Path, sql: &str) {
        let script = format!(
            "import sys\nfrom pyspark.sql import SparkSession\n\
             SparkSession.builder.remote('sc://127.0.0.1:{}').getOrCreate().sql(sys.argv[1])\n",
            self.port
        );
        succeed(Command::new(bin.join("python3")).args(["-c", &script, sql]));
    }
}

impl Drop for ConnectServer {
    fn drop(&mut self) {
        let _ = Command::new(self.sbin.join("stop-connect-server.sh"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output();
    }
}

#[test]
fn spark_connect_and_a_spark_source_beside_files_read_here_give_the_same_kpis() {
    let Some(bin) = spark_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    succeed(
        Command::new(bin.join("python3"))
            .arg(repo().join("tests/it/spark_logs.py"))
            .args(["100000"])
            .arg(tmp.path().join("logs")),
    );
    let server = ConnectServer::start(&bin);
    let text =
        "      fields: { timestamp: ts_text, latency_ms: latency_text, score: score_text }\n";
    let here = |folder: &str, fields: &str| {
        format!("    - path: {folder}/day=*/*.parquet\n      format: parquet\n{fields}")
    };
    let embedded = config(tmp.path(), &here("logs", text));
    let spark_source = server.source(&bin, "path: logs", "", text);
    let connect = config(tmp.path(), &spark_source);
    let (a, b) = (kpis(&embedded, &bin, &[]), kpis(&connect, &bin, &[]));
    same_figures(&a, &b);
    let (sums, reasons) = totals(&a);
    assert_eq!((sums.clone(), reasons.clone()), totals(&b));
    assert_eq!(sums[0], 100_000);
    assert!(reasons["unparseable timestamp"] >= 20, "{reasons:?}");
    let unsigned = ["--unsigned"];

    // A table in the server's catalog over the same files: the same figures, and the statements
    // carry what the catalog says of it.
    server.run(
        &bin,
        &format!(
            "CREATE TABLE requests USING parquet LOCATION '{}'",
            tmp.path().join("logs").display()
        ),
    );
    server.run(&bin, "MSCK REPAIR TABLE requests");
    let table = config(
        tmp.path(),
        &server.source(&bin, "table: requests", "", text),
    );
    let t = kpis(&table, &bin, &[]);
    same_figures(&a, &t);
    assert_eq!(totals(&a), totals(&t));
    assert_eq!(t["log_files"][0]["path"], "spark table requests");
    let printed = spark_build(&bin, &table, &tmp.path().join("table"), &unsigned);
    let sql = in_zip(&printed, "data/evidence/logs/spark-summary-0.sql");
    let location = format!(
        "-- table Location: file:{}",
        tmp.path().join("logs").display()
    );
    assert!(
        sql.contains("-- table Provider: parquet\n") && sql.contains(&location),
        "{sql}"
    );
    assert!(
        sql.contains("day=2026-07-15/part-0.parquet"),
        "its files are listed too"
    );

    // A table no file backs (a global view over values): one row naming it in sources.csv, its
    // size and time left empty rather than made up, "unknown" in the report.
    server.run(
        &bin,
        "CREATE GLOBAL TEMP VIEW few AS SELECT * FROM VALUES \
         ('2026-07-02T00:00:00Z', 'fraud-detector'), ('2026-07-03T00:00:00Z', 'fraud-detector') \
         AS t(ts, model)",
    );
    let view = config(
        tmp.path(),
        &server.source(
            &bin,
            "table: global_temp.few",
            "",
            "      fields: { timestamp: ts }\n",
        ),
    );
    let printed = spark_build(&bin, &view, &tmp.path().join("view"), &unsigned);
    let csv = in_zip(&printed, "data/sources.csv");
    assert!(
        csv.contains(
            "log-summary,spark table global_temp.few,data/evidence/logs/spark-summary-0.sql,,,\n"
        ),
        "{csv}"
    );
    let pdf = printed.lines().find(|l| l.ends_with(".pdf")).unwrap();
    let rendered = Command::new("pdftotext")
        .args(["-layout", pdf, "-"])
        .output()
        .unwrap();
    let rendered = String::from_utf8_lossy(&rendered.stdout);
    let line = rendered
        .lines()
        .find(|l| l.contains("spark table") && l.contains("log-summary") && l.contains("spark-"))
        .unwrap_or_else(|| panic!("{rendered}"));
    assert!(line.contains("unknown"), "{line}");

    // As a Databricks inference table keeps them: the model's name and version in a map column.
    let databricks = "      fields: { timestamp: ts_ms, model: request_metadata.model_name, \
                      version: request_metadata.model_version, latency_ms: execution_time_ms, \
                      status: status_code }\n      success: [\"200\"]\n";
    let (e, f) = (
        kpis(&config(tmp.path(), &here("logs", databricks)), &bin, &[]),
        kpis(
            &config(
                tmp.path(),
                &server.source(&bin, "path: logs", "", databricks),
            ),
            &bin,
            &[],
        ),
    );
    same_figures(&e, &f);
    assert_eq!(totals(&e), totals(&f));
    let (dbx_sums, dbx_reasons) = totals(&e);
    assert!(dbx_reasons["no model"] > 0, "{dbx_reasons:?}");
    assert!(dbx_sums[1] > 80_000, "{dbx_sums:?}");

    // Without a JVM gateway the sizes come from Spark's `_metadata` column: still every file's.
    let printed = spark_build(&bin, &connect, &tmp.path().join("dist"), &unsigned);
    let csv = in_zip(&printed, "data/sources.csv");
    let part = tmp.path().join("logs/day=2026-07-15/part-0.parquet");
    let size = std::fs::metadata(&part).unwrap().len();
    let row = csv
        .lines()
        .find(|l| l.contains("day=2026-07-15/part-0.parquet"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        row.contains(&format!(",data/evidence/logs/spark-summary-0.sql,{size},")),
        "{row}"
    );

    // A regulator request with an excerpt: the first 50 accepted records of the named system,
    // by time, minimised, `bundle.redact` applied; the statements say how many of how many.
    let excerpt = config(
        tmp.path(),
        &server.source(&bin, "path: logs", ", excerpt_rows: 50", text),
    );
    let redacting = std::fs::read_to_string(&excerpt)
        .unwrap()
        .replace("sources:\n", "bundle:\n  redact: [latency_ms]\nsources:\n");
    std::fs::write(&excerpt, redacting).unwrap();
    let request = ["--unsigned", "--system", "fraud-detector"];
    let printed = spark_build(&bin, &excerpt, &tmp.path().join("request"), &request);
    let records = in_zip(&printed, "data/evidence/logs/spark-excerpt-0.ndjson");
    let lines: Vec<Value> = records
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 50);
    for (rank, r) in lines.iter().enumerate() {
        assert_eq!(r["rank"], rank as u64);
        assert_eq!(r["model"], "fraud-detector");
        let latency = r["latency_ms"].as_str().unwrap_or("hmac-sha256:");
        assert!(
            latency.starts_with("hmac-sha256:") || r["latency_ms"].is_null(),
            "{r}"
        );
    }
    // "Of how many": the embedded engine's count of fraud-detector's accepted records.
    let statements = in_zip(&printed, "data/evidence/logs/spark-summary-0.sql");
    assert!(
        statements.contains(&format!(
            "the first 50 of the {} accepted records in scope, by time, minimised in \
             evidence/logs/spark-excerpt-0.ndjson ({} bytes)",
            a["models"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "fraud-detector")
                .map(|m| m["requests"].as_u64().unwrap())
                .unwrap(),
            records.len()
        )),
        "{statements}"
    );
    assert!(statements.contains("ORDER BY ts_ns, record LIMIT 50"));

    // --strict holds on Spark too: its first reject is an error naming the source.
    let out = with_spark(&bin)
        .args(["kpis", "--strict", "-c"])
        .arg(&connect)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("spark path") && said.contains("(--strict)"),
        "{said}"
    );

    // A Spark source beside one read here: each model from its one engine, the same figures as
    // reading both here; a model in both is an error naming it and the two.
    succeed(
        Command::new(bin.join("python3"))
            .arg(repo().join("tests/it/spark_logs.py"))
            .args(["20000"])
            .arg(tmp.path().join("other"))
            .arg("other-"),
    );
    let other = here("other", text);
    let both_here = config(tmp.path(), &format!("{}{other}", here("logs", text)));
    let mixed = config(tmp.path(), &format!("{other}{spark_source}"));
    let (c, d) = (kpis(&both_here, &bin, &[]), kpis(&mixed, &bin, &[]));
    same_figures(&c, &d);
    assert_eq!(totals(&c), totals(&d));
    let sources: Vec<&str> = d["log_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap())
        .collect();
    assert_eq!(sources.iter().filter(|f| **f == "spark").count(), 1);
    assert!(sources.len() > 90, "{sources:?}");
    assert!(
        c["unknown_models_in_logs"]
            .to_string()
            .contains("other-shadow-model")
    );
    let overlapping = config(
        tmp.path(),
        &format!(
            "{}{spark_source}",
            here("logs", text).replace("day=*", "day=2026-07-1*")
        ),
    );
    let out = with_spark(&bin)
        .args(["kpis", "-c"])
        .arg(&overlapping)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "model `credit-risk-scorer` has records in the log files read here and in spark path"
        ),
        "{said}"
    );

    // A mapped column the source lacks, and a path that is not there: errors naming the source
    // (and the field), and a build that stops leaves nothing behind.
    for (source, says) in [
        (
            server.source(
                &bin,
                "path: logs",
                "",
                "      fields: { timestamp: ts_text, model: endpoint }\n",
            ),
            "has no column `endpoint` (fields.model)",
        ),
        (
            server.source(&bin, "path: nowhere", "", text),
            "PATH_NOT_FOUND",
        ),
    ] {
        let broken = config(tmp.path(), &source);
        let out_dir = tmp.path().join("broken");
        let out = with_spark(&bin)
            .args(["build", "-q", "--unsigned", "--timestamp", TIME, "-c"])
            .arg(&broken)
            .arg("-o")
            .arg(&out_dir)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("spark path") && said.contains(says), "{said}");
        let left = std::fs::read_dir(&out_dir).map_or(0, |d| d.count());
        assert_eq!(left, 0, "a failed build wrote into {}", out_dir.display());
    }
    drop(server);
}
