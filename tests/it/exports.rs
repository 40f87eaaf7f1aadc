//! Log extracts as real exporters write them (issue 15): a Splunk export's previews, terminator
//! and message lines are no records; a byte-order mark loses no record; NaN and ±inf are
//! non-numeric in Parquet as in text; valid times beyond the nanosecond range are outside the
//! period; Parquet DECIMAL columns are numbers; compressed files are refused by name. Every
//! expected figure is worked out by hand in the comments.

use std::path::Path;

use serde_json::Value;

use crate::common::*;
use crate::logs::{kpis, model, setup};

const PERIOD: (&str, &str) = ("2026-07-01", "2026-09-30");

fn doc_of(config: &Path) -> Value {
    let out = kpis(config, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()
}

#[test]
fn splunk_previews_terminator_and_messages_are_not_records() {
    // Two previews later repeated as final results (offsets 0 and 1), a messages line, four final
    // results (two in the period, one in October, one without a model) and the terminator.
    let text = concat!(
        r#"{"preview":true,"offset":0,"result":{"_time":"2026-09-05T00:00:00.000+00:00","model":"credit-risk-scorer","latency_ms":"40","status":"200"}}"#,
        "\n",
        r#"{"preview":true,"offset":1,"result":{"_time":"2026-09-06T00:00:00.000+00:00","model":"credit-risk-scorer","latency_ms":"41","status":"200"}}"#,
        "\n",
        r#"{"messages":[{"type":"INFO","text":"Your timerange was substituted"}]}"#,
        "\n",
        r#"{"preview":false,"offset":0,"result":{"_time":"2026-09-05T00:00:00.000+00:00","model":"credit-risk-scorer","latency_ms":"40","status":"200"}}"#,
        "\n",
        r#"{"preview":false,"offset":1,"result":{"_time":"2026-09-06T00:00:00.000+00:00","model":"credit-risk-scorer","latency_ms":"41","status":"200"}}"#,
        "\n",
        r#"{"preview":false,"offset":2,"result":{"_time":"2026-10-06T00:00:00.000+00:00","model":"credit-risk-scorer","latency_ms":"90","status":"200"}}"#,
        "\n",
        r#"{"preview":false,"offset":3,"result":{"_time":"2026-09-07T00:00:00.000+00:00","latency_ms":"41","status":"200"}}"#,
        "\n",
        r#"{"preview":false,"lastrow":true}"#,
        "\n",
    );
    let source = "    - path: logs/s.json\n      format: splunk\n      fields: { timestamp: _time, model: model, latency_ms: latency_ms, status: status }\n";
    let (_tmp, config) = setup(PERIOD, source, &[("logs/s.json", text.as_bytes())]);
    let doc = doc_of(&config);
    let file = &doc["log_files"][0];
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    assert_eq!(lines, 8);
    let non: u64 = file["non_records"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let (acc, out, rej) = (
        file["accepted"].as_u64().unwrap(),
        file["outside_period"].as_u64().unwrap(),
        file["rejected"].as_u64().unwrap(),
    );
    assert_eq!((acc, out, rej, non), (2, 1, 1, 4));
    assert_eq!(acc + out + rej + non, lines);
    assert_eq!(file["lines"], lines);
    assert_eq!(
        file["non_records"],
        serde_json::json!({"preview": 2, "terminator": 1, "messages": 1})
    );
    // Only the final results count: 2 requests, p50 of 40 and 41 is 40.5; the reject is line 7.
    let m = model(&doc, "credit-risk-scorer");
    assert_eq!(m["requests"], 2);
    assert_eq!(m["latency_p50_ms"], 40.5);
    assert_eq!(doc["rejected"][0]["reason"], "no model");
    assert_eq!(doc["rejected"][0]["first_line"], 7);
}

#[test]
fn a_byte_order_mark_loses_no_record() {
    let ndjson = b"\xEF\xBB\xBF{\"timestamp\":\"2026-09-01T00:00:00Z\",\"model\":\"churn-predictor\",\"latency_ms\":5}\n{\"timestamp\":\"2026-09-02T00:00:00Z\",\"model\":\"churn-predictor\",\"latency_ms\":7}\n";
    let csv = b"\xEF\xBB\xBFtimestamp,model,latency_ms\n2026-09-03T00:00:00Z,churn-predictor,9\n";
    let source = "    - path: logs/a.ndjson\n    - path: logs/b.csv\n";
    let (_tmp, config) = setup(
        PERIOD,
        source,
        &[("logs/a.ndjson", ndjson), ("logs/b.csv", csv)],
    );
    let doc = doc_of(&config);
    assert_eq!(doc["rejected"], serde_json::json!([]));
    // Three records, p50 of 5, 7, 9 is 7.
    let m = model(&doc, "churn-predictor");
    assert_eq!(
        (m["requests"].as_u64(), m["latency_p50_ms"].as_f64()),
        (Some(3), Some(7.0))
    );
}

#[test]
fn valid_times_beyond_the_nanosecond_range_are_outside_the_period() {
    let lines = [
        "0001-01-01T00:00:00Z",
        "1677-01-01T00:00:00Z",
        "2262-12-31T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-09-01T00:00:00Z",
    ]
    .map(|t| format!(r#"{{"timestamp":"{t}","model":"churn-predictor","latency_ms":3}}"#))
    .join("\n");
    let source = "    - path: logs/a.ndjson\n";
    let (_tmp, config) = setup(PERIOD, source, &[("logs/a.ndjson", lines.as_bytes())]);
    let doc = doc_of(&config);
    let file = &doc["log_files"][0];
    assert_eq!(
        (
            &file["accepted"],
            &file["outside_period"],
            &file["rejected"]
        ),
        (&1.into(), &4.into(), &0.into())
    );
}

#[test]
fn non_finite_numbers_are_non_numeric_in_parquet_as_in_text() {
    use polars::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    // 2026-09-01T00:00:00Z is 1788220800 s (date -d 2026-09-01T00:00:00Z +%s); one record a day.
    let ts: Vec<i64> = (0..5)
        .map(|d| (1_788_220_800 + d * 86_400) * 1000)
        .collect();
    let latency = [10.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 20.0];
    let mut df = df!(
        "ts" => ts.clone(),
        "model" => ["churn-predictor"; 5],
        "latency_ms" => latency,
    )
    .unwrap();
    let parquet = tmp.path().join("a.parquet");
    ParquetWriter::new(std::fs::File::create(&parquet).unwrap())
        .finish(&mut df)
        .unwrap();
    let csv: String = std::iter::once("ts,model,latency_ms".to_string())
        .chain(
            ts.iter()
                .zip(["10", "NaN", "inf", "-inf", "20"])
                .map(|(t, l)| format!("{t},churn-predictor,{l}")),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let fields = "      fields: { timestamp: ts, model: model, latency_ms: latency_ms }\n";
    for (name, bytes) in [
        ("logs/a.parquet", std::fs::read(&parquet).unwrap()),
        ("logs/a.csv", csv.into_bytes()),
    ] {
        let source = format!("    - path: {name}\n{fields}");
        let (_t, config) = setup(PERIOD, &source, &[(name, &bytes)]);
        let doc = doc_of(&config);
        // NaN, inf and -inf rejected as non-numeric; 10 and 20 kept: p50 15.
        assert_eq!(
            doc["rejected"][0]["reason"], "non-numeric latency",
            "{name}"
        );
        assert_eq!(doc["rejected"][0]["count"], 3, "{name}");
        let m = model(&doc, "churn-predictor");
        assert_eq!(m["requests"], 2, "{name}");
        assert_eq!(m["latency_p50_ms"], 15.0, "{name}");
    }
}

#[test]
fn a_parquet_decimal_column_is_read_as_numbers() {
    // fixtures/hostile/decimal.parquet: one churn-predictor record on 2026-09-21, latency
    // DECIMAL(9,2) 12.50.
    let bytes = std::fs::read(fixture("hostile/decimal.parquet")).unwrap();
    let source = "    - path: logs/d.parquet\n      fields: { timestamp: ts, model: model, latency_ms: latency_ms }\n";
    let (_tmp, config) = setup(PERIOD, source, &[("logs/d.parquet", &bytes)]);
    let doc = doc_of(&config);
    let m = model(&doc, "churn-predictor");
    assert_eq!(
        (m["requests"].as_u64(), m["latency_p50_ms"].as_f64()),
        (Some(1), Some(12.5))
    );
}

#[test]
fn a_databricks_inference_table_is_read_through_its_map_column() {
    // fixtures/hostile/databricks.parquet (make_databricks.py): five records on 2026-07-02/03,
    // the model's name in `request_metadata`, a map; one without the key, one with it twice (the
    // first counts), one without a map.
    let bytes = std::fs::read(fixture("hostile/databricks.parquet")).unwrap();
    let source = "    - path: logs/inference.parquet\n      fields: { timestamp: timestamp_ms, \
                  model: request_metadata.model_name, version: request_metadata.model_version, \
                  latency_ms: execution_time_ms, status: status_code }\n      success: [\"200\"]\n";
    let (tmp, config) = setup(PERIOD, source, &[("logs/inference.parquet", &bytes)]);
    let doc = doc_of(&config);
    // By hand: fraud-detector's records are rows 0, 1 and 3 (latencies 12, 30, 50; one 500).
    let m = model(&doc, "fraud-detector");
    assert_eq!(
        (
            m["requests"].as_u64(),
            m["latency_p50_ms"].as_f64(),
            m["error_rate"].as_f64()
        ),
        (Some(3), Some(30.0), Some(1.0 / 3.0))
    );
    assert_eq!(doc["rejected"][0]["reason"], "no model");
    assert_eq!(doc["rejected"][0]["count"], 2);
    // The minimised extract reads the map the same way.
    let (bag, _) = build_unzipped(&config, tmp.path(), &["--unsigned"]);
    let extract =
        std::fs::read_to_string(bag.join("data/evidence/logs/inference.parquet.minimised.ndjson"))
            .unwrap();
    let models: Vec<Value> = extract
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["model"].clone())
        .collect();
    let fraud = Value::from("fraud-detector");
    assert_eq!(
        models,
        [
            fraud.clone(),
            fraud.clone(),
            Value::Null,
            fraud,
            Value::Null
        ]
    );
}

#[test]
fn compressed_extracts_are_refused_by_name_before_polars_reads_them() {
    // zstd's magic number (28 B5 2F FD); gzip's is tested in hostile.rs.
    let source = "    - path: logs/a.ndjson\n";
    let (_tmp, config) = setup(
        PERIOD,
        source,
        &[("logs/a.ndjson", b"\x28\xb5\x2f\xfd rest of a frame")],
    );
    let out = kpis(&config, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("a.ndjson") && out.stderr.contains("zstd-compressed"),
        "{}",
        out.stderr
    );
}

/// The account of `name` among the document's files.
fn file_of<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["log_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no file {name}"))
}

#[test]
fn small_files_read_together_keep_their_own_rows_and_lines() {
    // Three CSV files share a header (read as one group), a fourth has its columns in another
    // order (read apart). b.csv's second data row (line 3) has a bad timestamp.
    let head = "timestamp,model,latency_ms\n";
    let row = |day: u32, lat: u32| format!("2026-09-{day:02}T00:00:00Z,churn-predictor,{lat}\n");
    let a = format!("{head}{}{}", row(1, 10), row(2, 20));
    let b = format!(
        "{head}{}2026-09-xxT00:00:00Z,churn-predictor,30\n{}",
        row(3, 40),
        row(4, 50)
    );
    let c = format!("{head}{}", row(5, 60));
    let d = "model,latency_ms,timestamp\nchurn-predictor,70,2026-09-06T00:00:00Z\n".to_string();
    // NDJSON: n2 has no final line end, n3's line 2 is not JSON.
    let j = |day: u32, lat: u32| {
        format!(
            r#"{{"timestamp":"2026-09-{day:02}T00:00:00Z","model":"fraud-detector","latency_ms":{lat}}}"#
        )
    };
    let n1 = format!("{}\n{}\n", j(1, 1), j(2, 2));
    let n2 = j(3, 3);
    let n3 = format!("{}\nnot json\n{}\n", j(4, 4), j(5, 5));
    let source = "    - path: logs/*.csv\n    - path: logs/*.ndjson\n";
    let files: Vec<(String, String)> = [
        ("a.csv", a),
        ("b.csv", b),
        ("c.csv", c),
        ("d.csv", d),
        ("n1.ndjson", n1),
        ("n2.ndjson", n2),
        ("n3.ndjson", n3),
    ]
    .into_iter()
    .map(|(n, t)| (format!("logs/{n}"), t))
    .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_bytes()))
        .collect();
    let (_tmp, config) = setup(PERIOD, source, &refs);
    let doc = doc_of(&config);
    let counts = |name: &str| {
        let f = file_of(&doc, name);
        (
            f["records"].as_u64(),
            f["accepted"].as_u64(),
            f["rejected"].as_u64(),
        )
    };
    assert_eq!(counts("a.csv"), (Some(2), Some(2), Some(0)));
    assert_eq!(counts("b.csv"), (Some(3), Some(2), Some(1)));
    assert_eq!(counts("c.csv"), (Some(1), Some(1), Some(0)));
    assert_eq!(counts("d.csv"), (Some(1), Some(1), Some(0)));
    assert_eq!(counts("n1.ndjson"), (Some(2), Some(2), Some(0)));
    assert_eq!(counts("n2.ndjson"), (Some(1), Some(1), Some(0)));
    assert_eq!(counts("n3.ndjson"), (Some(3), Some(2), Some(1)));
    let rejected = doc["rejected"].as_array().unwrap();
    let line_of = |name: &str| {
        rejected
            .iter()
            .find(|r| r["source"].as_str().unwrap().ends_with(name))
            .map(|r| {
                (
                    r["reason"].as_str().unwrap().to_string(),
                    r["first_line"].as_u64(),
                )
            })
    };
    assert_eq!(
        line_of("b.csv"),
        Some(("unparseable timestamp".into(), Some(3)))
    );
    assert_eq!(line_of("n3.ndjson"), Some(("not JSON".into(), Some(2))));
    // Figures over all of them: churn-predictor 10, 20, 40, 50, 60, 70 → p50 45; fraud-detector
    // 1..5 (the bad line aside) → p50 3.
    assert_eq!(model(&doc, "churn-predictor")["latency_p50_ms"], 45.0);
    assert_eq!(model(&doc, "fraud-detector")["latency_p50_ms"], 3.0);
}
