//! Scored audits, exceptions, portfolio KPIs, remediation, --check and --baseline, on the real
//! binary. Expected values were worked out by hand from sample-evidence/ (see the comments).

use std::path::{Path, PathBuf};

use crate::common::*;

fn sample() -> PathBuf {
    repo().join("sample-evidence/dossier.yaml")
}

fn sample_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "kpis",
        "-c",
        sample().to_str().unwrap().to_string().leak(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()
}

fn kpi(
    doc: &serde_json::Value,
    table: &str,
    name: &str,
) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let k = &doc[table][name];
    (
        k["value"].clone(),
        k["numerator"].clone(),
        k["denominator"].clone(),
    )
}

#[test]
fn sample_audit_kpis_by_hand() {
    let doc = sample_json(&[]);
    // Production models: churn, credit, fraud, marketing, triage. Audited within 365 days of
    // 2026-10-01: credit (2026-08-20) and triage (2026-09-12); fraud's 2025-08-15 is 412 days old.
    assert_eq!(
        kpi(&doc, "portfolio", "audit_coverage"),
        (0.4.into(), 2.into(), 5.into())
    );
    assert_eq!(kpi(&doc, "portfolio_high", "audit_coverage").1, 2);
    // Latest audits: triage IR 6 pass / 4 fail; credit VA 8/2; fraud VA 1/1; support-chat VA 2/1.
    assert_eq!(
        kpi(&doc, "portfolio", "control_pass_rate"),
        (0.68.into(), 17.into(), 25.into())
    );
    // High tier: triage, credit, fraud only: 15 of 22.
    assert_eq!(kpi(&doc, "portfolio_high", "control_pass_rate").1, 15);
    assert_eq!(kpi(&doc, "portfolio_high", "control_pass_rate").2, 22);
    // Expired before 2026-10-01: EX-101 (closed on time), EX-102 (late), EX-103 (renewed in time),
    // EX-105 and EX-106 (open). 2 of 5 adherent; 2 still open.
    assert_eq!(
        kpi(&doc, "portfolio", "exception_expiry_adherence"),
        (0.4.into(), 2.into(), 5.into())
    );
    assert_eq!(
        doc["portfolio"]["expired_open_exceptions_count"]["value"],
        2.0
    );
    assert_eq!(
        doc["portfolio"]["expired_open_exceptions_count"]["met"],
        false
    );
    assert_eq!(
        kpi(&doc, "portfolio_high", "exception_expiry_adherence").1,
        2
    );
    assert_eq!(
        kpi(&doc, "portfolio_high", "exception_expiry_adherence").2,
        3
    );

    let audits = doc["audits"].as_array().unwrap();
    let systems: Vec<&str> = audits
        .iter()
        .map(|a| a["system"].as_str().unwrap())
        .collect();
    assert_eq!(
        systems,
        [
            "credit-risk-scorer",
            "fraud-detector",
            "support-chat-vendor",
            "triage-assistant"
        ]
    );
    let triage = &audits[3];
    assert_eq!(
        triage["assessed_on"], "2026-09-12",
        "the March audit is superseded"
    );
    assert_eq!(
        triage["controls"].as_array().unwrap().len(),
        12,
        "every control listed"
    );
    assert_eq!(triage["controls"][9]["status"], "not_applicable");
    assert_eq!(triage["controls"][11]["status"], "not_assessed");
    assert_eq!(
        triage["controls"][0]["evidence"][0],
        "evidence/kill-switch-runbook.md"
    );
    assert_eq!(
        audits[0]["assessor"],
        "External audit (Kestrel & Partners, \"KP\")"
    );
    assert_eq!(
        audits[0]["controls"][3]["finding"],
        "Drift is checked by hand, \"when someone remembers\", about quarterly."
    );
    let models = doc["models"].as_array().unwrap();
    assert_eq!(models[6]["last_audit"], "2026-09-12");
    assert!(models[0]["last_audit"].is_null());
    let adherent: Vec<&serde_json::Value> = doc["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["adherent"])
        .collect();
    assert_eq!(
        adherent,
        [
            &true.into(),
            &false.into(),
            &true.into(),
            &serde_json::Value::Null,
            &false.into(),
            &false.into()
        ]
    );
}

#[test]
fn sample_remediation_order_by_hand() {
    let doc = sample_json(&[]);
    let ids: Vec<&str> = doc["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "triage-assistant:IR-01",                     // critical, customers, 5 days
            "triage-assistant:IR-06",                     // critical, customers, 30
            "support-chat-vendor:VA-10",                  // critical, organisation, 90
            "fraud-detector:VA-04",                       // high, customers, 10
            "credit-risk-scorer:VA-04",                   // high, customers, 20
            "credit-risk-scorer:score_psi", // PSI 0.935 > 0.25: high (tier), customers, unknown days
            "credit-risk-scorer:unregistered_versions:3", // high (tier), customers, unknown days
            "fraud-detector:has_approval",
            "fraud-detector:has_model_card",
            "fraud-detector:logging_coverage", // 87/92 days < 95 %
            "triage-assistant:error_rate",     // 3.8 % > the high tier's 3 %
            "triage-assistant:has_dataset_provenance",
            "triage-assistant:has_evaluation",
            "triage-assistant:IR-05",            // high, organisation, 14
            "EX-105",                            // high, organisation (unassessed model)
            "EX-106",                            // high, organisation (not a model)
            "marketing-propensity:has_approval", // unassessed → high, organisation
            "marketing-propensity:has_code_lineage",
            "marketing-propensity:has_dataset_provenance",
            "marketing-propensity:has_model_card",
            "marketing-propensity:logging_coverage", // weekdays only: 66/92 days
            "marketing-propensity:score_psi",        // PSI 2.407 > 0.25
            "triage-assistant:IR-11",                // medium, organisation, 45
            "churn-predictor:has_code_lineage",      // medium tier
            "churn-predictor:has_dataset_provenance",
            "credit-risk-scorer:VA-10", // low, team, 60
        ]
    );
    assert_eq!(doc["remediation"][25]["rank"], 26);
    assert_eq!(doc["remediation"][0]["owner"], "platform-sre");
}

#[test]
fn sample_due_dates_owners_and_responses_by_hand() {
    let doc = sample_json(&[]);
    let items = doc["remediation"].as_array().unwrap();
    let item = |id: &str| items.iter().find(|i| i["id"] == id).unwrap().clone();
    // as_of 2026-10-01. IR-01: fix_days 5 → 6 October. fraud-detector:has_approval: no fix_days,
    // high → 30 days → 31 October. churn-predictor (medium tier) → 90 days: 31 Oct + 30 Nov +
    // 29 Dec = 90 → 30 December.
    let due = |id: &str| item(id)["due"].as_str().unwrap().to_string();
    assert_eq!(due("triage-assistant:IR-01"), "2026-10-06");
    assert_eq!(due("fraud-detector:has_approval"), "2026-10-31");
    assert_eq!(due("churn-predictor:has_code_lineage"), "2026-12-30");
    assert_eq!(
        item("fraud-detector:has_approval")["due_basis"],
        "policy.remediation_due_days.high"
    );
    assert!(
        items.iter().all(|i| i["due"].is_string()),
        "every item has a due date"
    );
    // The registered model's `owner` tag owns its findings.
    assert_eq!(item("fraud-detector:has_approval")["owner"], "ml-platform");
    // sample-evidence/responses.csv: IR-01 in progress with a target date; VA-07 is not in
    // the plan, so it is closed since the last report.
    let ir01 = item("triage-assistant:IR-01");
    assert_eq!(ir01["status"], "in_progress");
    assert_eq!(ir01["target_date"], "2026-10-05");
    assert_eq!(item("fraud-detector:VA-04")["status"], "open");
    let closed: Vec<&str> = doc["remediation_closed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(closed, ["fraud-detector:VA-07"]);
}

#[test]
fn check_exits_3_naming_missed_targets_and_0_when_all_met() {
    let out = run(&["kpis", "-c", sample().to_str().unwrap(), "--check"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    // 2 of the 5 production models audited within a year: a percentage with its fraction
    // (issue 21); a count stays a whole number.
    assert!(
        out.stderr
            .contains("missed: audit_coverage = 40.0% (2/5) misses its target 100.0%"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("missed: expired_open_exceptions_count = 2 misses its target 0")
    );
    assert!(!out.stdout.is_empty(), "the KPIs are still printed");
    // Counts are integers in JSON, in the document and its baseline: 2, not 2.0.
    let doc = run(&["kpis", "-c", sample().to_str().unwrap(), "--format", "json"]).json();
    for key in [
        "expired_open_exceptions_count",
        "rejected_log_records_count",
    ] {
        let k = &doc["portfolio"][key];
        assert!(k["value"].is_u64(), "{key}: {k}");
        assert!(k["target"].is_u64(), "{key}: {k}");
        assert!(
            doc["baseline"]["portfolio"][key].is_u64(),
            "{key} in the baseline"
        );
    }
    assert_eq!(
        doc["portfolio"]["expired_open_exceptions_count"]["value"],
        2
    );
    assert!(doc["portfolio"]["audit_coverage"]["value"].is_f64());

    let tmp = tempfile::tempdir().unwrap();
    let store = fixture("mlflow/sqlite-3x/mlflow.db");
    let lenient = "policy:\n  targets: { documentation_completeness: 0.6, dataset_provenance_completeness: 0.4, evaluation_completeness: 0.8, audit_coverage: null }\n";
    let config = mlflow_config(tmp.path(), &store, lenient);
    let out = run(&["kpis", "-c", config.to_str().unwrap(), "--check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn baseline_from_an_earlier_kpi_document_gives_the_change() {
    let tmp = tempfile::tempdir().unwrap();
    // The earlier quarter: the same estate, but only the MLflow store (no audits), as_of earlier.
    let store = fixture("mlflow/sqlite-3x/mlflow.db");
    let earlier = mlflow_config(tmp.path(), &store, "");
    let out = run(&[
        "kpis",
        "-c",
        earlier.to_str().unwrap(),
        "--format",
        "json",
        "--as-of",
        "2026-07-01",
    ]);
    let previous = tmp.path().join("q2.json");
    std::fs::write(&previous, &out.stdout).unwrap();
    let doc = sample_json(&["--baseline", previous.to_str().unwrap()]);
    let trend = &doc["trend"];
    assert_eq!(trend["previous_as_of"], "2026-07-01");
    let change = |name: &str| {
        trend["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kpi"] == name)
            .unwrap()
            .clone()
    };
    // Documentation stayed 3/5; audit coverage was 0/5 with no audits, now 2/5: +0.4.
    assert_eq!(change("documentation_completeness")["change"], 0.0);
    assert_eq!(change("audit_coverage")["previous"], 0.0);
    assert_eq!(change("audit_coverage")["change"], 0.4);
    // No exceptions then: adherence was n/a, so no change is claimed.
    assert!(change("exception_expiry_adherence")["change"].is_null());
    // The baseline.json shape (the document's `baseline` key) is accepted on its own too.
    let snapshot = tmp.path().join("baseline.json");
    std::fs::write(
        &snapshot,
        serde_json::to_string(&out.json()["baseline"]).unwrap(),
    )
    .unwrap();
    let doc = sample_json(&["--baseline", snapshot.to_str().unwrap()]);
    assert_eq!(doc["trend"]["kpis"][6]["kpi"], "audit_coverage");
    assert_eq!(doc["trend"]["kpis"][6]["change"], 0.4);
    let garbage = tmp.path().join("garbage.json");
    std::fs::write(&garbage, "[1, 2]").unwrap();
    let out = run(&[
        "kpis",
        "-c",
        sample().to_str().unwrap(),
        "--baseline",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("not a dossier baseline"),
        "{}",
        out.stderr
    );
}

#[test]
fn baseline_from_an_earlier_bundle_zip_and_a_tampered_one() {
    let tmp = tempfile::tempdir().unwrap();
    let store = fixture("mlflow/sqlite-3x/mlflow.db");
    let earlier = mlflow_config(tmp.path(), &store, "");
    let dist = tmp.path().join("dist");
    let out = run(&[
        "build",
        "-c",
        earlier.to_str().unwrap(),
        "--as-of",
        "2026-07-01",
        "-o",
        dist.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let zip = PathBuf::from(out.stdout.lines().next().unwrap());
    let doc = sample_json(&["--baseline", zip.to_str().unwrap()]);
    assert_eq!(doc["trend"]["previous_as_of"], "2026-07-01");
    assert_eq!(doc["trend"]["kpis"][6]["kpi"], "audit_coverage");
    // 0/5 audited then, 2/5 now.
    assert_eq!(doc["trend"]["kpis"][6]["change"], 0.4);

    // The same bundle with its baseline.json altered (the manifest left as it was) is refused.
    let tampered = tmp.path().join("tampered.zip");
    {
        let mut src = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
        let mut dst = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
        for i in 0..src.len() {
            let mut entry = src.by_index(i).unwrap();
            let name = entry.name().to_string();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            if name.ends_with("data/baseline/baseline.json") {
                bytes = String::from_utf8(bytes)
                    .unwrap()
                    .replacen("0.0", "0.9", 1)
                    .into_bytes();
            }
            dst.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut dst, &bytes).unwrap();
        }
        dst.finish().unwrap();
    }
    let out = run(&[
        "kpis",
        "-c",
        sample().to_str().unwrap(),
        "--baseline",
        tampered.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("does not match the bundle's manifest"),
        "{}",
        out.stderr
    );
}

#[test]
fn scope_keeps_only_the_named_systems_audits_and_exceptions() {
    let doc = sample_json(&[
        "--system",
        "triage-assistant",
        "--system",
        "support-chat-vendor",
    ]);
    let audits: Vec<&str> = doc["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["system"].as_str().unwrap())
        .collect();
    assert_eq!(audits, ["support-chat-vendor", "triage-assistant"]);
    let exceptions: Vec<&str> = doc["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(exceptions, ["EX-103", "EX-104", "EX-106"]);
    let text = doc.to_string();
    for other in [
        "credit-risk-scorer",
        "fraud-detector",
        "EX-101",
        "marketing-propensity",
    ] {
        assert!(
            !text.contains(other),
            "{other} leaked into a scoped document"
        );
    }
}

// ---- bad input ----------------------------------------------------------------------------

/// A config with only audits and exceptions, in a scratch folder holding `files`.
fn scratch(files: &[(&str, &str)], extra: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = tmp.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        format!("organization: T\nreport: {{ period: {{ start: 2026-07-01, end: 2026-09-30 }} }}\nsources:\n  audits: [audits/*]\n  exceptions: [exceptions/*.csv]\n{extra}"),
    )
    .unwrap();
    (tmp, config)
}

fn fails_with(config: &Path, extra_args: &[&str], needles: &[&str]) {
    let mut args = vec!["kpis", "-c", config.to_str().unwrap()];
    args.extend_from_slice(extra_args);
    let out = run(&args);
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    for n in needles {
        assert!(out.stderr.contains(n), "`{n}` not in {}", out.stderr);
    }
}

const CSV_HEAD: &str = "framework,system,assessed_on,assessor,id,score,status,finding,evidence,severity,blast_radius,fix_days,owner\n";

#[test]
fn audit_yaml_errors_name_file_and_control() {
    let yaml = |controls: &str| {
        format!(
            "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\ncontrols:\n{controls}"
        )
    };
    let cases: [(String, &[&str]); 6] = [
        (
            yaml("  - { id: IR-13, score: 2 }\n"),
            &[
                "a.yaml (control IR-13)",
                "not in framework incident-readiness-12",
            ],
        ),
        (
            yaml("  - { id: IR-01, score: 4 }\n"),
            &["(control IR-01)", "score 4 is off the scale 0–3"],
        ),
        (
            yaml("  - { id: IR-01, score: 2 }\n  - { id: IR-01, score: 3 }\n"),
            &["control `IR-01` is scored twice"],
        ),
        (yaml("  - { id: IR-01 }\n"), &["assessed but has no score"]),
        (
            "framework: incident-readiness-12\nassessed_on: 2026-09-01\n".into(),
            &["a.yaml: missing `system`"],
        ),
        (
            "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-31\n".into(),
            &["assessed_on: `2026-09-31` is not a date"],
        ),
    ];
    for (text, needles) in cases {
        let (_tmp, config) = scratch(&[("audits/a.yaml", &text)], "");
        fails_with(&config, &[], needles);
    }
    let (_tmp, config) = scratch(
        &[(
            "audits/a.yaml",
            "framework: nist\nsystem: s\nassessed_on: 2026-09-01\n",
        )],
        "",
    );
    fails_with(
        &config,
        &[],
        &[
            "unknown framework `nist`",
            "vendor-audit-10, incident-readiness-12",
        ],
    );
    let (_tmp, config) = scratch(&[("audits/a.yaml", "framework: [\n")], "");
    fails_with(&config, &[], &["a.yaml (line ", "malformed audit"]);
    let (_tmp, config) = scratch(
        &[(
            "audits/a.yaml",
            &yaml("  - { id: IR-01, score: 2, colour: red }\n"),
        )],
        "",
    );
    fails_with(&config, &[], &["unknown field `colour`"]);
}

#[test]
fn audit_csv_errors_name_the_row() {
    let row = |id: &str, score: &str| {
        format!("vendor-audit-10,s,2026-09-01,A,{id},{score},assessed,,,,,,\n")
    };
    let dup = format!(
        "{CSV_HEAD}{}{}{}",
        row("VA-01", "2"),
        row("VA-02", "2"),
        row("VA-01", "3")
    );
    let (_tmp, config) = scratch(&[("audits/a.csv", &dup)], "");
    fails_with(
        &config,
        &[],
        &[
            "a.csv (row 4)",
            "control `VA-01` is scored twice (first at row 2)",
        ],
    );
    let bad_score = format!("{CSV_HEAD}{}", row("VA-01", "high"));
    let (_tmp, config) = scratch(&[("audits/a.csv", &bad_score)], "");
    fails_with(&config, &[], &["a.csv (row 2)"]);
    let no_system = format!("{CSV_HEAD}vendor-audit-10,,2026-09-01,A,VA-01,2,assessed,,,,,,\n");
    let (_tmp, config) = scratch(&[("audits/a.csv", &no_system)], "");
    fails_with(&config, &[], &["a.csv (row 2): missing `system`"]);
    let bad_sev =
        format!("{CSV_HEAD}vendor-audit-10,s,2026-09-01,A,VA-01,1,assessed,x,,urgent,,,\n");
    let (_tmp, config) = scratch(&[("audits/a.csv", &bad_sev)], "");
    fails_with(&config, &[], &["a.csv (row 2)", "unknown variant `urgent`"]);
}

#[test]
fn user_framework_file_is_used_and_validated() {
    let framework = "id: acme-genai-5\ntitle: Acme GenAI controls\nscale: { min: 1, max: 5, pass: 4 }\ncontrols:\n  - { id: G-1, title: Red teaming, maps_to: [\"EU AI Act Art. 15\"] }\n  - { id: G-2, title: Disclosure }\n";
    let audit = "framework: frameworks/acme.yaml\nsystem: chat\nassessed_on: 2026-09-01\ncontrols:\n  - { id: G-1, score: 4 }\n  - { id: G-2, score: 3 }\n";
    let (_tmp, config) = scratch(
        &[
            ("frameworks/acme.yaml", framework),
            ("audits/a.yaml", audit),
        ],
        "",
    );
    let out = run(&["kpis", "-c", config.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["audits"][0]["framework"], "acme-genai-5");
    assert_eq!(doc["audits"][0]["controls"][0]["status"], "pass");
    assert_eq!(
        doc["audits"][0]["controls"][1]["status"], "fail",
        "3 < pass mark 4"
    );
    assert_eq!(doc["portfolio"]["control_pass_rate"]["value"], 0.5);
    let broken = framework.replace("pass: 4", "pass: 7");
    let (_tmp, config) = scratch(
        &[("frameworks/acme.yaml", &broken), ("audits/a.yaml", audit)],
        "",
    );
    fails_with(&config, &[], &["acme.yaml", "min ≤ pass ≤ max"]);
}

#[test]
fn missing_evidence_is_a_warning_and_strict_makes_it_an_error() {
    let audit = "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\ncontrols:\n  - { id: IR-01, score: 2, evidence: [evidence/here.md, evidence/gone.md] }\n";
    let (tmp, config) = scratch(&[("audits/a.yaml", audit), ("evidence/here.md", "ok")], "");
    let out = run(&["kpis", "-c", config.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(
        doc["audits"][0]["controls"][0]["missing_evidence"],
        serde_json::json!(["evidence/gone.md"])
    );
    let gone = tmp.path().join("evidence/gone.md");
    assert!(
        doc["warnings"]
            .to_string()
            .contains(&format!("evidence file {} not found", gone.display()))
    );
    assert!(out.stderr.contains("warning:"));
    fails_with(
        &config,
        &["--strict"],
        &["a.yaml (control IR-01): evidence file", "gone.md not found"],
    );
}

#[test]
fn exception_register_errors_name_the_row() {
    let head = "id,system,control,reason,approved_by,granted_on,expires_on,status,closed_on\n";
    let cases: [(&str, &[&str]); 5] = [
        (
            "EX-1,s,IR-01,r,a,2026-01-01,2026-06-30,expired,\n",
            &["e.csv (row 2)", "unknown variant `expired`"],
        ),
        (
            "EX-1,s,IR-01,r,a,2026-01-01,2026-06-30,closed,\n",
            &["(row 2): a closed or renewed exception needs a closed_on date"],
        ),
        (
            "EX-1,s,IR-01,r,a,2026-01-01,2026-06-31,open,\n",
            &["(row 2): expires_on: `2026-06-31` is not a date"],
        ),
        (
            "EX-1,s,IR-01,r,a,2026-01-01,2026-06-30,open,\nEX-1,t,IR-02,r,a,2026-01-01,2026-06-30,open,\n",
            &["(row 3): exception id `EX-1` is used again"],
        ),
        (
            "EX-1,s,IR-01,\"reason, with comma\",a,2026-07-01,2026-06-30,open,\n",
            &["expires_on 2026-06-30 is before granted_on 2026-07-01"],
        ),
    ];
    for (rows, needles) in cases {
        let (_tmp, config) = scratch(&[("exceptions/e.csv", &format!("{head}{rows}"))], "");
        fails_with(&config, &[], needles);
    }
}

#[test]
fn a_listed_file_that_does_not_exist_is_an_error_and_an_empty_glob_a_warning() {
    let (tmp, config) = scratch(
        &[(
            "exceptions/e.csv",
            "id,system,control,reason,approved_by,granted_on,expires_on,status,closed_on\n",
        )],
        "",
    );
    let out = run(&["kpis", "-c", config.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.json()["warnings"]
            .to_string()
            .contains("audits/*` matches no file")
    );
    std::fs::write(&config, "organization: T\nreport: { period: { start: 2026-07-01, end: 2026-09-30 } }\nsources:\n  audits: [audits/q3.yaml]\n").unwrap();
    fails_with(
        &config,
        &[],
        &[
            &format!("{}", tmp.path().join("audits/q3.yaml").display()),
            "No such file",
        ],
    );
}

#[test]
fn exceptions_granted_and_failing_controls_are_counted_by_hand() {
    // sample-evidence/exceptions.csv: of EX-101..EX-106 only EX-104 (triage-assistant, high tier)
    // was granted in Q3 2026 (2026-08-25). Failing controls of the latest audits: credit-risk-scorer
    // VA-04 and VA-10, fraud-detector VA-04, triage-assistant IR-01, IR-05, IR-06, IR-11 (7 on
    // high-tier models) and support-chat-vendor VA-10 (no model): 8 (issue 23).
    let doc = run(&["kpis", "-c", sample().to_str().unwrap(), "--format", "json"]).json();
    let value = |table: &str, kpi: &str| doc[table][kpi]["value"].clone();
    assert_eq!(value("portfolio", "exceptions_granted_count"), 1);
    assert_eq!(value("portfolio_high", "exceptions_granted_count"), 1);
    assert_eq!(value("portfolio", "failing_controls_count"), 8);
    assert_eq!(value("portfolio_high", "failing_controls_count"), 7);
    // In the CSV, the baseline and the table as every portfolio KPI is.
    assert_eq!(doc["baseline"]["portfolio"]["failing_controls_count"], 8);
    let csv = run(&["kpis", "-c", sample().to_str().unwrap(), "--format", "csv"]).stdout;
    assert!(
        csv.contains("portfolio,all,failing_controls_count,8,"),
        "{csv}"
    );
}
