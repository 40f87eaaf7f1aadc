//! The real binary on the committed MLflow stores. Expected values are the hand-worked table of
//! fixtures/mlflow/EXPECTED.md, written out again here; nothing is taken from the code's output.

use crate::common::*;
use serde_json::Value;

/// (name, tier, in production, version, card, dataset, eval, git, approval)
type Row = (
    &'static str,
    &'static str,
    bool,
    Option<&'static str>,
    [bool; 5],
);

const EXPECTED: [Row; 7] = [
    (
        "churn-predictor",
        "medium",
        true,
        Some("2"),
        [true, false, true, false, true],
    ),
    (
        "credit-risk-scorer",
        "high",
        true,
        Some("2"),
        [true, true, true, true, true],
    ),
    (
        "fraud-detector",
        "high",
        true,
        Some("2"),
        [false, true, true, true, false],
    ),
    ("income-verifier", "medium", false, None, [false; 5]),
    (
        "marketing-propensity",
        "unassessed",
        true,
        Some("2"),
        [false, false, true, false, false],
    ),
    ("pricing-optimizer", "low", false, None, [false; 5]),
    (
        "triage-assistant",
        "high",
        true,
        Some("2"),
        [true, false, false, true, true],
    ),
];

const HAS: [&str; 5] = [
    "has_model_card",
    "has_dataset_provenance",
    "has_evaluation",
    "has_code_lineage",
    "has_approval",
];

fn check_store(store: &str, datasets_visible: bool) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let config = mlflow_config(tmp.path(), &fixture(store), "");
    let out = kpis_json(&config);
    assert_eq!(out.code, 0, "{store}: {}", out.stderr);
    let doc = out.json();
    let models = doc["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        EXPECTED.map(|r| r.0),
        "{store}: every registered model, sorted"
    );
    for (m, (name, tier, prod, version, has)) in models.iter().zip(EXPECTED) {
        assert_eq!(m["risk_tier"], tier, "{store} {name}");
        assert_eq!(m["in_production"], prod, "{store} {name}");
        assert_eq!(m["version"].as_str(), version, "{store} {name}");
        for (field, want) in HAS.iter().zip(has) {
            let want = if *field == "has_dataset_provenance" {
                want && datasets_visible
            } else {
                want
            };
            let got = &m[field];
            if prod {
                assert_eq!(got, &Value::Bool(want), "{store} {name} {field}");
            } else {
                assert!(
                    got.is_null(),
                    "{store} {name} {field}: n/a when not in production"
                );
            }
        }
    }
    let ratio = |table: &str, kpi: &str| -> (f64, u64, u64) {
        let k = &doc[table][kpi];
        (
            k["value"].as_f64().unwrap(),
            k["numerator"].as_u64().unwrap(),
            k["denominator"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        ratio("portfolio", "documentation_completeness"),
        (0.6, 3, 5)
    );
    assert_eq!(ratio("portfolio", "evaluation_completeness"), (0.8, 4, 5));
    assert_eq!(ratio("portfolio", "code_lineage_completeness"), (0.6, 3, 5));
    assert_eq!(ratio("portfolio", "approval_coverage"), (0.6, 3, 5));
    assert_eq!(
        ratio("portfolio_high", "documentation_completeness"),
        (2.0 / 3.0, 2, 3)
    );
    assert_eq!(
        ratio("portfolio_high", "code_lineage_completeness"),
        (1.0, 3, 3)
    );
    assert_eq!(
        ratio("portfolio_high", "approval_coverage"),
        (2.0 / 3.0, 2, 3)
    );
    if datasets_visible {
        assert_eq!(
            ratio("portfolio", "dataset_provenance_completeness"),
            (0.4, 2, 5)
        );
        assert_eq!(
            ratio("portfolio_high", "dataset_provenance_completeness"),
            (2.0 / 3.0, 2, 3)
        );
    } else {
        assert_eq!(
            ratio("portfolio", "dataset_provenance_completeness"),
            (0.0, 0, 5)
        );
    }
    // Every store was generated in November 2026, after the as-of day (2026-09-30): under the
    // default `policy.point_in_time: warn` each production version is kept and named.
    let named: Vec<String> = doc["limitations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .filter(|l| l.contains("cannot have been in production then"))
        .map(|l| l.split(" version ").next().unwrap().to_string())
        .collect();
    let production: Vec<&str> = EXPECTED.iter().filter(|r| r.2).map(|r| r.0).collect();
    assert_eq!(named, production, "{store}: {}", doc["limitations"]);
    // Targets come from the SPEC defaults: 0.6 < 0.85.
    assert_eq!(
        doc["portfolio"]["documentation_completeness"]["target"],
        0.85
    );
    assert_eq!(doc["portfolio"]["documentation_completeness"]["met"], false);
    doc
}

#[test]
fn sqlite_store_mlflow_3x() {
    let doc = check_store("mlflow/sqlite-3x/mlflow.db", true);
    assert_eq!(doc["mlflow_sources"][0]["kind"], "sqlite");
    // The latest value of the metric (step 1), not the first (0.70) nor version 1's run (0.81).
    let auc = doc["models"][1]["evaluation_metrics"]["roc_auc"]
        .as_f64()
        .unwrap();
    assert!((auc - 0.82).abs() < 1e-9, "{auc}");
    assert_eq!(other_warnings(&doc), Vec::<String>::new());
}

#[test]
fn sqlite_store_mlflow_2x_older_schema() {
    let doc = check_store("mlflow/sqlite-2x", true);
    assert_eq!(doc["mlflow_sources"][0]["kind"], "sqlite");
}

#[test]
fn file_store_mlflow_3x() {
    let doc = check_store("mlflow/filestore-3x/mlruns", true);
    assert_eq!(doc["mlflow_sources"][0]["kind"], "file-store");
    assert_eq!(other_warnings(&doc), Vec::<String>::new());
}

#[test]
fn file_store_mlflow_2x() {
    let doc = check_store("mlflow/filestore-2x", true);
    assert_eq!(doc["mlflow_sources"][0]["kind"], "file-store");
}

#[test]
fn export_import_folder() {
    let doc = check_store("mlflow/export-import", false);
    assert_eq!(doc["mlflow_sources"][0]["kind"], "export-import");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("no dataset inputs"), "{warnings}");
}

#[test]
fn stale_artifact_uris_are_remapped_under_the_store() {
    // The fixtures were logged under /tmp/gen, which does not exist here: the card must be found
    // inside the fixture folder, through the <experiment>/<run>/artifacts suffix.
    let tmp = tempfile::tempdir().unwrap();
    let config = mlflow_config(tmp.path(), &fixture("mlflow/sqlite-3x/mlflow.db"), "");
    let doc = kpis_json(&config).json();
    let card = doc["models"][1]["model_card"].as_str().unwrap();
    let expected_root = fixture("mlflow/sqlite-3x/mlruns");
    assert!(card.starts_with(expected_root.to_str().unwrap()), "{card}");
    assert!(card.ends_with("/artifacts/model_card.md"), "{card}");
}

#[test]
fn artifact_root_finds_moved_artifacts_and_missing_ones_are_warned() {
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    std::fs::copy(
        fixture("mlflow/sqlite-3x/mlflow.db"),
        db_dir.join("mlflow.db"),
    )
    .unwrap();
    copy_dir(
        &fixture("mlflow/sqlite-3x/mlruns"),
        &tmp.path().join("archive/artifacts"),
    );

    // Without artifact_root the folders are not found: cards count as missing, with warnings.
    let config = mlflow_config(tmp.path(), &db_dir.join("mlflow.db"), "");
    let out = kpis_json(&config);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(
        doc["portfolio"]["documentation_completeness"]["numerator"],
        0
    );
    // One warning for all the runs, with the fix (issue 21), not one per run.
    let grouped: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| w.contains("artifact folders of") || w.contains("artifact folder of run"))
        .collect();
    assert_eq!(grouped.len(), 1, "{grouped:?}");
    assert!(grouped[0].contains("set `artifact_root`"), "{}", grouped[0]);
    assert!(out.stderr.contains("warning:"), "{}", out.stderr);

    let config = mlflow_config(
        tmp.path(),
        &db_dir.join("mlflow.db"),
        "      artifact_root: archive/artifacts\n",
    );
    let doc = kpis_json(&config).json();
    assert_eq!(
        doc["portfolio"]["documentation_completeness"]["numerator"],
        3
    );
    assert_eq!(other_warnings(&doc), Vec::<String>::new());
}

#[test]
fn sample_evidence_inventory() {
    let out = run(&[
        "kpis",
        "-c",
        repo()
            .join("sample-evidence/dossier.yaml")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The table: organisation, each KPI with its fraction, each model.
    assert!(
        out.stdout
            .starts_with("Acme Lending — AI compliance posture, Q3 2026"),
        "{}",
        out.stdout
    );
    let row = |kpi: &str| -> Vec<String> {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(kpi))
            .unwrap_or_else(|| panic!("no {kpi} row"));
        line.split_whitespace().map(String::from).collect()
    };
    assert_eq!(
        row("documentation_completeness")[..5],
        ["documentation_completeness", "60.0%", "3/5", "85.0%", "NO"]
    );
    assert_eq!(
        row("pricing-optimizer")[..4],
        ["pricing-optimizer", "low", "no", "-"]
    );
}

#[test]
fn csv_output_has_every_figure() {
    let config = repo().join("sample-evidence/dossier.yaml");
    let out = run(&["kpis", "-c", config.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("scope,subject,kpi,value,target,met,numerator,denominator")
    );
    assert!(
        out.stdout
            .contains("\nportfolio,all,documentation_completeness,0.6,0.85,false,3,5\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\nportfolio_high,high,approval_coverage,0.6666666666666666,1,false,2,3\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\nmodel,fraud-detector,has_approval,false,,,,\n")
    );
    assert!(
        out.stdout
            .contains("\nmodel,income-verifier,has_approval,,,,,\n")
    );
    // 14 portfolio + 14 high-tier + 7 models × 21 fields (10 inventory, 9 operational, 2 of
    // update cadence), plus the header.
    assert_eq!(out.stdout.lines().count(), 1 + 14 + 14 + 7 * 21);
    assert!(
        out.stdout
            .contains("\nportfolio,all,logging_health,0.6,0.95,false,3,5\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\nmodel,credit-risk-scorer,unregistered_versions,3,,,,\n")
    );
}

#[test]
fn system_scope_restricts_models_and_rejects_unknown_names() {
    let config = repo().join("sample-evidence/dossier.yaml");
    let c = config.to_str().unwrap();
    let out = run(&[
        "kpis",
        "-c",
        c,
        "--format",
        "json",
        "--system",
        "fraud-detector",
        "--request-id",
        "REQ-7",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["models"].as_array().unwrap().len(), 1);
    assert_eq!(doc["scope"]["request_id"], "REQ-7");
    assert_eq!(doc["portfolio"]["documentation_completeness"]["value"], 0.0);
    let out = run(&["kpis", "-c", c, "--system", "nope"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error: --system nope: no such system; known: churn-predictor"),
        "{}",
        out.stderr
    );
}

/// The warnings besides the point-in-time ones every fixture store has (see `check_store`).
fn other_warnings(doc: &Value) -> Vec<String> {
    doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| !w.contains("cannot have been in production then"))
        .map(String::from)
        .collect()
}

/// A copy of the 3.x SQLite store in which credit-risk-scorer's version 1 (and its run) date from
/// June 2026 and sit in stage Production; every other version stays created in November, after
/// the as-of day (2026-10-01, the day after the period).
fn store_with_an_older_production_version(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("mlflow.db");
    std::fs::copy(fixture("mlflow/sqlite-3x/mlflow.db"), &db).unwrap();
    copy_dir(&fixture("mlflow/sqlite-3x/mlruns"), &dir.join("mlruns"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    // 2026-06-01T00:00:00Z = 1780272000 s (date -u -d 2026-06-01 +%s).
    let june = 1_780_272_000_000_i64;
    conn.execute(
        "UPDATE model_versions SET creation_time = ?1, current_stage = 'Production' \
         WHERE name = 'credit-risk-scorer' AND version = 1",
        [june],
    )
    .unwrap();
    conn.execute(
        "UPDATE runs SET start_time = ?1 WHERE run_uuid = 'eeb0117c9f2b47debbdb3bbb421a4d23'",
        [june],
    )
    .unwrap();
    db
}

fn production(doc: &Value) -> Vec<(String, String)> {
    doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["in_production"] == true)
        .map(|m| {
            let name = m["name"].as_str().unwrap().to_string();
            (name, m["version"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn point_in_time_warn_keeps_the_registry_as_it_is_now() {
    let tmp = tempfile::tempdir().unwrap();
    let db = store_with_an_older_production_version(tmp.path());
    let doc = kpis_json(&mlflow_config(tmp.path(), &db, "")).json();
    // credit-risk-scorer: alias champion → v2 wins over stage Production on v1, as today.
    let want: Vec<(String, String)> = EXPECTED
        .iter()
        .filter(|r| r.2)
        .map(|r| (r.0.to_string(), r.3.unwrap().to_string()))
        .collect();
    assert_eq!(production(&doc), want);
    let limits = doc["limitations"].to_string();
    assert!(
        limits.contains(
            "credit-risk-scorer version 2 (alias:champion) was created 2026-11-22T17:56:57Z, \
             after as_of 2026-10-01"
        ),
        "{limits}"
    );
}

#[test]
fn point_in_time_strict_leaves_out_versions_newer_than_as_of() {
    let tmp = tempfile::tempdir().unwrap();
    let db = store_with_an_older_production_version(tmp.path());
    let extra = "policy:\n  point_in_time: strict\n";
    let out = kpis_json(&mlflow_config(tmp.path(), &db, extra));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    // Only credit-risk-scorer had a candidate created by the as-of day: v1, through its stage.
    assert_eq!(
        production(&doc),
        [("credit-risk-scorer".to_string(), "1".to_string())]
    );
    assert_eq!(doc["models"][1]["production_via"], "stage:Production");
    assert_eq!(
        doc["portfolio"]["documentation_completeness"]["denominator"],
        1
    );
    let left_out = doc["limitations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l.as_str()
                .unwrap()
                .ends_with("left out (policy.point_in_time: strict)")
        })
        .count();
    // credit v2, fraud v2, marketing v2, triage v2 (aliases) and churn v2 (stage).
    assert_eq!(left_out, 5, "{}", doc["limitations"]);
    assert!(
        out.stderr
            .contains("left out (policy.point_in_time: strict)")
    );
}

#[test]
fn point_in_time_rejects_an_unknown_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = "policy:\n  point_in_time: lenient\n";
    let config = mlflow_config(tmp.path(), &fixture("mlflow/sqlite-3x/mlflow.db"), extra);
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("(at `policy.point_in_time`): unknown variant `lenient`"),
        "{}",
        out.stderr
    );
}

#[test]
fn evidence_one_place_off_is_named_not_counted() {
    // fixtures/mlflow/near_misses.py: approved_by on the registered model only; alias champion
    // → 2 while stage Production → 1; roc_auc on version 2's logged model, not its source run.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("mlflow/near-misses-sqlite"), &tmp.path().join("s"));
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        "organization: T\nreport:\n  period: { start: 2026-12-01, end: 2026-12-31 }\n\
         sources:\n  mlflow:\n    - path: s/mlflow.db\n",
    )
    .unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let m = &doc["models"][0];
    assert_eq!(m["name"], "near-miss-model");
    assert_eq!(m["version"], "2");
    assert_eq!(m["has_approval"], false);
    assert_eq!(m["has_evaluation"], false);
    let warnings: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    let named = |needle: &str| warnings.iter().any(|w| w.contains(needle));
    assert!(
        named("`approved_by` (model-risk-committee) is set on the registered model"),
        "{warnings:?}"
    );
    assert!(
        named("alias:champion → version 2, stage Production → version 1"),
        "{warnings:?}"
    );
    assert!(
        named("evaluation metric(s) roc_auc are logged on its MLflow 3 logged model"),
        "{warnings:?}"
    );
    assert!(out.stderr.contains("roc_auc"), "{}", out.stderr);
}

#[test]
fn update_cadence_from_the_stores_creation_times() {
    // sqlite3 fixtures/mlflow/sqlite-3x/mlflow.db "select name, version,
    //   datetime(creation_time/1000,'unixepoch') from model_versions": every version of every
    // model was registered on 2026-11-22 (17:56:57–58 UTC). November 2026 holds both versions of
    // each model; October none. As of 2026-12-01 a production version is 9 days old.
    let tmp = tempfile::tempdir().unwrap();
    let store = fixture("mlflow/sqlite-3x/mlflow.db");
    let figures = |period: &str, extra: &str| {
        let config = tmp.path().join("dossier.yaml");
        std::fs::write(
            &config,
            format!(
                "organization: T\nreport:\n  period: {period}\n  as_of: 2026-12-01\n\
                 sources:\n  mlflow:\n    - path: {}\n{extra}",
                store.display()
            ),
        )
        .unwrap();
        let out = kpis_json(&config);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()
    };
    let november = figures("{ start: 2026-11-01, end: 2026-11-30 }", "");
    let m = model_of(&november, "credit-risk-scorer");
    assert_eq!(m["versions_in_period"], 2);
    assert_eq!(m["production_version_age_days"], 9);
    let idle = model_of(&november, "income-verifier");
    assert_eq!(idle["versions_in_period"], 2);
    assert_eq!(idle["production_version_age_days"], serde_json::Value::Null);
    assert_eq!(
        november["baseline"]["models"]["credit-risk-scorer"]["production_version_age_days"],
        9
    );
    let october = figures("{ start: 2026-10-01, end: 2026-10-31 }", "");
    assert_eq!(
        model_of(&october, "credit-risk-scorer")["versions_in_period"],
        0
    );
    // A maximum age makes each production model above it a finding (5 in production, 9 > 7).
    let strict = figures(
        "{ start: 2026-11-01, end: 2026-11-30 }",
        "policy:\n  targets: { production_version_age_days: 7 }\n",
    );
    let aged: Vec<&str> = strict["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "production_version_age_days")
        .map(|r| r["system"].as_str().unwrap())
        .collect();
    assert_eq!(aged.len(), 5, "{aged:?}");
    let lenient = figures(
        "{ start: 2026-11-01, end: 2026-11-30 }",
        "policy:\n  targets: { production_version_age_days: 9 }\n",
    );
    assert!(
        !lenient["remediation"]
            .to_string()
            .contains("production_version_age_days")
    );
}

fn model_of<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap()
}
