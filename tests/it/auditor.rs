//! The report as an external auditor reads it (issue 17), on the real binary and the sample,
//! read back with pdftotext: scope and limitations, per-model provenance with bundle paths, the
//! regulation crosswalk, stale audits, tracked remediation with due dates worked by hand,
//! threshold findings, complete registers, no path of the build machine, the evidence-retrieval
//! time, and a template written for the earlier keys still building.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const TIME: &str = "2026-10-02T08:00:00Z";

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-raw", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is needed (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pdf_beside(zip: &Path) -> PathBuf {
    zip.with_extension("pdf")
}

fn entry(zip: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let root = zip.file_stem().unwrap().to_str().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut z.by_name(&format!("{root}/{name}")).unwrap(),
        &mut text,
    )
    .unwrap();
    text
}

#[test]
fn the_sample_report_holds_what_an_auditor_signs_off_on() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = build_sample_zip(tmp.path(), &["--unsigned", "--timestamp", TIME]);
    let raw = pdftotext(&pdf_beside(&zip));
    let text = raw.replace('\n', " ");
    // Scope and limitations.
    for needle in [
        "Scope and limitations",
        "Systems in scope all systems the sources name (8)", // 7 models and support-chat-vendor
        "Sources read",
        "MLflow keeps no history of aliases, stages or tags",
        "Warnings of this build",
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{raw}");
    }
    // Provenance: the registry facts with the bundle path of the lineage extract that holds them.
    for needle in [
        "credit-risk-scorer — version 2, risk tier high",
        "production decided by alias:champion data/evidence/mlflow/lineage/",
        "3f9c2a1d8b7e6f5a4c3b2a1908f7e6d5c4b3a291",
        "roc_auc = 0.82",
        "data/evidence/model-cards/credit-",
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{raw}");
    }
    // The crosswalk rows of EU AI Act Art. 15, worked out from the frameworks' maps_to and the
    // latest audits: IR-04..IR-06 and IR-08 of incident-readiness-12 (triage-assistant's
    // audit), VA-04 and VA-05 of vendor-audit-10 (the other three systems).
    let rows = raw
        .lines()
        .filter(|l| l.starts_with("EU AI Act Art. 15 "))
        .count();
    let expected = [
        "EU AI Act Art. 15 IR-04 triage-assistant: pass",
        "EU AI Act Art. 15 IR-05 triage-assistant: fail",
        "EU AI Act Art. 15 IR-06 triage-assistant: fail",
        "EU AI Act Art. 15 IR-08 triage-assistant: pass",
        "EU AI Act Art. 15 VA-04 credit-risk-scorer: fail, fraud-detector: fail, support-chat-vendor: not assessed",
        "EU AI Act Art. 15 VA-05 credit-risk-scorer: pass, fraud-detector: not assessed, support-chat-vendor: not assessed",
    ];
    assert_eq!(rows, expected.len(), "{raw}");
    for row in expected {
        assert!(text.contains(row), "`{row}` missing:\n{raw}");
    }
    // Art. 9 sorts before Art. 10.
    let art9 = raw.find("EU AI Act Art. 9 ").unwrap();
    assert!(art9 < raw.find("EU AI Act Art. 10 ").unwrap());
    // fraud-detector's audit of 2025-08-15 is 412 days old at as_of 2026-10-01 (> 365): stale.
    assert!(
        text.contains(
            "2025-08-15 by Internal audit (M. Chen) (412 days before the as-of date; stale"
        ),
        "{raw}"
    );
    // A passing control shows no finding: never the word n/a in its finding column.
    assert!(text.contains("VA-02 Error budgets and SLOs"), "{raw}");
    assert!(!text.contains("pass n/a"), "{raw}");
    // Due dates by hand: as_of 2026-10-01 + IR-01's 5 days to fix = 2026-10-06; the
    // management response of sample-evidence/responses.csv is beside it.
    assert!(
        text.contains("platform-sre 2026-10-06 5 days to fix in progress: Kill-switch drill"),
        "{raw}"
    );
    // fraud-detector:has_approval: no fix_days, high → 30 days → 2026-10-31.
    assert!(
        text.contains("high fraud-detector version 2: the production version carries no approval tag ml-platform 2026-10-31 high default"),
        "{raw}"
    );
    assert!(text.contains("Closed since the last report"), "{raw}");
    assert!(text.contains("fraud-detector:VA-07 closed"), "{raw}");
    // A threshold breach is a remediation item.
    assert!(
        text.contains("score PSI (first vs last 30 days) 0.935 is above the threshold 0.250"),
        "{raw}"
    );
    // Exceptions: EX-105 expired 2026-09-15 and is open at as_of 2026-10-01: 16 days overdue.
    assert!(text.contains("Head of Marketing Analytics"), "{raw}");
    assert!(text.contains("16 (open)"), "{raw}");
    // The executive summary states the counts in words.
    assert!(
        text.contains("of 12 KPIs with a target and a value meet it"),
        "{raw}"
    );
    // No path of the build machine: not the repository's, not the output folder's.
    for machine in [repo(), tmp.path().to_path_buf()] {
        let machine = machine.display().to_string();
        assert!(!text.contains(&machine), "{machine} printed in the report");
        assert!(!entry(&zip, "data/sources.csv").contains(&machine));
    }
    // No page after the cover is (nearly) empty: a full page holds 55-65 lines of text, so 20
    // lines (header and footer included) is a generous floor for "not 80 % empty".
    let pdf = pdf_beside(&zip);
    let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    let pages: usize = String::from_utf8_lossy(&info.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(pages > 10, "{pages} pages");
    let page_text = |page: usize| {
        let out = Command::new("pdftotext")
            .args(["-layout", "-f", &page.to_string(), "-l", &page.to_string()])
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The last page holds the whole sign-off (one unbreakable block): the statement and every
    // row; every other page after the cover is well filled.
    let last = page_text(pages);
    for part in [
        "Sign-off",
        "a draft",
        "Prepared by",
        "Reviewed by",
        "Approved by",
    ] {
        assert!(last.contains(part), "the last page lacks {part}:\n{last}");
    }
    for page in 2..pages {
        let text = page_text(page);
        assert!(
            !text.contains("Approved by"),
            "page {page} holds sign-off rows"
        );
        let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
        assert!(lines >= 20, "page {page} of {pages} has {lines} lines");
    }
    // A reproducible build leaves the clock out: no retrieval time.
    assert!(!entry(&zip, "bag-info.txt").contains("Evidence-Retrieval-Seconds"));
    assert!(text.contains("Evidence retrieval not recorded: a reproducible build"));
}

#[test]
fn a_build_on_the_clock_records_its_evidence_retrieval_time() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = build_sample_zip(tmp.path(), &["--unsigned"]);
    let bag_info = entry(&zip, "bag-info.txt");
    let seconds: f64 = bag_info
        .lines()
        .find_map(|l| l.strip_prefix("Evidence-Retrieval-Seconds: "))
        .unwrap_or_else(|| panic!("no retrieval time:\n{bag_info}"))
        .parse()
        .unwrap();
    assert!(seconds > 0.0 && seconds < 600.0, "{seconds}");
    let text = pdftotext(&pdf_beside(&zip)).replace('\n', " ");
    assert!(
        text.contains(&format!("Evidence retrieval {seconds:.2} s from the start")),
        "{text}"
    );
}

#[test]
fn a_template_written_for_the_earlier_keys_still_builds() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("sample-evidence"), &tmp.path().join("s"));
    let config = tmp.path().join("s/dossier.yaml");
    let template = fixture("templates/before-issue-17.typ");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "report:\n",
        &format!("report:\n  template: {}\n", template.display()),
    );
    std::fs::write(&config, text).unwrap();
    // A template may read files only below its own folder: run it from a copy beside the config.
    let out = run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        tmp.path().join("out").to_str().unwrap(),
        "--unsigned",
        "--timestamp",
        TIME,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let zip = PathBuf::from(out.stdout.lines().next().unwrap());
    let text = pdftotext(&pdf_beside(&zip)).replace('\n', " ");
    for needle in [
        "Executive summary",
        "control pass rate 68.0% 17 / 25 90.0% missed",
        "drift monitoring coverage",
        "Kill switch exists but has never been tested.",
        "Evidence index",
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{text}");
    }
}

#[test]
fn a_bad_response_register_or_threshold_names_its_file_row_or_key() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("sample-evidence"), &tmp.path().join("s"));
    let config = tmp.path().join("s/dossier.yaml");
    std::fs::write(
        tmp.path().join("s/responses.csv"),
        "id,status,response,responder,target_date\na:IR-01,in_progress,,,\nb:VA-04,done,,,\n",
    )
    .unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("responses.csv") && out.stderr.contains("row 3"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no half document: {}", out.stdout);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "tiers: { high: { error_rate: 0.03 } }",
            "tiers: { high: { error_rate: 3 } }",
        ),
    )
    .unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("policy.thresholds.tiers.high.error_rate"),
        "{}",
        out.stderr
    );
}

#[test]
fn per_file_tables_list_200_rows_and_say_where_all_of_them_are() {
    // 201 log files: the report shows 200 of each per-file table and names the bundle file
    // that lists every one; the totals row sums all 201 (one record each).
    let files: Vec<(String, String)> = (0..201)
        .map(|i| {
            (
                format!("logs/part-{i:03}.ndjson"),
                format!(
                    "{{\"timestamp\":\"2026-09-01T00:{:02}:{:02}Z\",\"model\":\"churn-predictor\",\"latency_ms\":5}}\n",
                    i / 60,
                    i % 60
                ),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_bytes()))
        .collect();
    let (tmp, config) = crate::logs::setup(
        ("2026-07-01", "2026-09-30"),
        "    - path: logs/*.ndjson\n",
        &refs,
    );
    let out = run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        tmp.path().join("out").to_str().unwrap(),
        "--unsigned",
        "--timestamp",
        TIME,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let zip = PathBuf::from(out.stdout.lines().next().unwrap());
    let text = pdftotext(&pdf_beside(&zip)).replace('\n', " ");
    assert!(
        text.contains(
            "The first 200 of 201 are shown; all 201 are in data/kpis/kpis.json (log_files)."
        ),
        "{text}"
    );
    assert!(text.contains("all 201 files 201 201 0 0 0"), "{text}");
    assert!(text.contains("all of them") || text.contains("are in data/sources.csv."));
    assert!(
        !text.contains("part-200.ndjson 201"),
        "the 201st file is not listed"
    );
}
