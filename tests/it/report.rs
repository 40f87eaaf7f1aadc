//! The PDF report on the real binary, read back with poppler's tools (installed by .ci/run):
//! names, KPI values and every control id appear; hostile strings print literally; two builds are
//! byte-identical; the KPI document is attached; a broken user template is an error with its line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const TIME: &str = "2026-10-02T08:00:00Z";

fn build(config: &Path, out: &Path, extra: &[&str]) -> Outcome {
    let mut args = vec![
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--timestamp",
        TIME,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn pdf_of(out: &Outcome) -> PathBuf {
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pdf = PathBuf::from(
        out.stdout
            .lines()
            .nth(1)
            .expect("the PDF path on stdout's second line"),
    );
    assert!(pdf.is_file(), "{}", pdf.display());
    pdf
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} is needed (poppler-utils): {e}"));
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn text_of(pdf: &Path) -> String {
    // -raw keeps content-stream order, so a table row's cells stay on one line.
    tool("pdftotext", &["-raw", pdf.to_str().unwrap(), "-"])
}

#[test]
fn sample_report_has_every_section_name_value_and_control() {
    let tmp = tempfile::tempdir().unwrap();
    let pdf = pdf_of(&build(
        &repo().join("sample-evidence/dossier.yaml"),
        tmp.path(),
        &[],
    ));
    let text = text_of(&pdf);
    for needle in [
        "Acme Lending",
        "AI compliance posture, Q3 2026",
        "2026-07-01 to 2026-09-30",
        "Executive summary",
        "Model inventory",
        "Scored audits",
        "Remediation plan",
        "Operational baseline",
        "Exceptions register",
        "Data quality",
        "Evidence index",
        "How to verify",
        "documentation completeness 60.0% 3 / 5 85.0% missed",
        "control pass rate 68.0% 17 / 25 90.0% missed",
        "credit-risk-scorer",
        "marketing-propensity unassessed yes",
        "Kill switch exists but has never been tested.",
        "EX-105",
        "unsigned",
    ] {
        assert!(
            text.contains(needle),
            "`{needle}` missing from the report text:\n{text}"
        );
    }
    for id in (1..=12)
        .map(|n| format!("IR-{n:02}"))
        .chain((1..=10).map(|n| format!("VA-{n:02}")))
    {
        assert!(text.contains(&id), "control {id} missing from the report");
    }
    // The footer carries the report id and period on every page, with page numbers.
    let pages: usize = tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap()))
        .unwrap();
    assert!(pages >= 6, "{pages} pages");
    assert!(text.contains(&format!("Page 2 of {pages}")), "page numbers");
    assert!(
        text.contains(
            "dossier-acme-lending-2026-07-01_2026-09-30 · period 2026-07-01 to 2026-09-30"
        )
    );
    // The KPI document travels inside the PDF.
    let listing = tool("pdfdetach", &["-list", pdf.to_str().unwrap()]);
    assert!(listing.contains("kpis.json"), "{listing}");
    let saved = tmp.path().join("attached.json");
    tool(
        "pdfdetach",
        &[
            "-savefile",
            "kpis.json",
            "-o",
            saved.to_str().unwrap(),
            pdf.to_str().unwrap(),
        ],
    );
    let attached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(attached["portfolio"]["control_pass_rate"]["numerator"], 17);
    // PDF/A-3b is declared in the XMP metadata.
    let meta = tool("pdfinfo", &["-meta", pdf.to_str().unwrap()]);
    assert!(
        meta.contains("<pdfaid:part>3</pdfaid:part>")
            && meta.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{meta}"
    );
}

#[test]
fn identical_inputs_and_time_give_identical_pdfs() {
    let tmp = tempfile::tempdir().unwrap();
    let config = repo().join("sample-evidence/dossier.yaml");
    let a = pdf_of(&build(&config, &tmp.path().join("a"), &[]));
    let b = pdf_of(&build(&config, &tmp.path().join("b"), &[]));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // A different build time changes the metadata, and so the bytes.
    let c = pdf_of(&run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        tmp.path().join("c").to_str().unwrap(),
        "--timestamp",
        "2026-10-03T08:00:00Z",
    ]));
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn hostile_strings_print_literally() {
    let tmp = tempfile::tempdir().unwrap();
    let hostile_org = r#"]*_$ #import "x" <evil> @ref"#;
    let hostile_system = r#"#panic("boom")"#;
    std::fs::create_dir_all(tmp.path().join("audits")).unwrap();
    std::fs::write(
        tmp.path().join("audits/a.yaml"),
        format!(
            "framework: incident-readiness-12\nsystem: '{hostile_system}'\nassessed_on: 2026-09-01\ncontrols:\n  - {{ id: IR-01, score: 1, finding: '`raw` *bold* $x^2$ #emph[hi] // not a comment' }}\n"
        ),
    )
    .unwrap();
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        format!("organization: '{hostile_org}'\nreport: {{ period: {{ start: 2026-07-01, end: 2026-09-30 }} }}\nsources:\n  audits: [audits/*.yaml]\n"),
    )
    .unwrap();
    let text = text_of(&pdf_of(&build(&config, &tmp.path().join("out"), &[])));
    for literal in [
        hostile_org,
        hostile_system,
        "`raw` *bold* $x^2$ #emph[hi] // not a comment",
    ] {
        assert!(
            text.contains(literal),
            "`{literal}` not printed literally:\n{text}"
        );
    }
}

#[test]
fn broken_user_template_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let template = tmp.path().join("custom.typ");
    std::fs::write(&template, "#let kpis = json(\"/kpis.json\")\n= Report for #kpis.organization\n\n#undefined-function(1)\n").unwrap();
    let store = fixture("mlflow/sqlite-3x/mlflow.db");
    let config = mlflow_config(tmp.path(), &store, "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "report:\n",
        &format!("report:\n  template: {}\n", template.display()),
    );
    std::fs::write(&config, text).unwrap();
    let out = build(&config, &tmp.path().join("out"), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "error: {}:4:2: unknown variable: undefined-function",
            template.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        !tmp.path()
            .join("out")
            .read_dir()
            .map(|mut d| d.any(|e| e.unwrap().path().extension().is_some_and(|x| x == "zip")))
            .unwrap_or(false),
        "no bundle without its report"
    );

    // A working user template receives the same JSON and the bundle facts.
    std::fs::write(&template, "#let kpis = json(\"/kpis.json\")\n#let b = json(\"/bundle.json\")\n= Custom report for #kpis.organization\nBundle #b.bundle_id has #b.evidence.len() indexed files.\n").unwrap();
    let text = text_of(&pdf_of(&build(&config, &tmp.path().join("ok"), &[])));
    assert!(text.contains("Custom report for Test Org"), "{text}");
    assert!(
        text.contains("Bundle dossier-test-org-2026-07-01_2026-09-30 has"),
        "{text}"
    );
}

#[test]
fn limitations_name_a_backdated_build_and_versions_newer_than_as_of() {
    // The sample's files were written at checkout, long after TIME (2026-10-02).
    let tmp = tempfile::tempdir().unwrap();
    let config = repo().join("sample-evidence/dossier.yaml");
    let out = build(&config, tmp.path(), &["--force"]);
    assert!(
        out.stderr
            .contains("warning: the build time 2026-10-02T08:00:00Z"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the bundle is backdated"),
        "{}",
        out.stderr
    );
    let text = text_of(&pdf_of(&out)).replace('\n', " ");
    assert!(text.contains("Limitations"), "{text}");
    assert!(text.contains("the bundle is backdated"), "{text}");
    assert!(
        text.contains("credit-risk-scorer version 2 (alias:champion) was created"),
        "{text}"
    );

    // A build time after every input's mtime is not backdated.
    let later = run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        tmp.path().to_str().unwrap(),
        "--force",
        "--timestamp",
        "2099-01-01T00:00:00Z",
    ]);
    assert_eq!(later.code, 0, "{}", later.stderr);
    assert!(!later.stderr.contains("backdated"), "{}", later.stderr);
    let text = text_of(&pdf_of(&later)).replace('\n', " ");
    assert!(!text.contains("backdated"), "{text}");
    assert!(text.contains("carries no RFC 3161 time-stamp"), "{text}");
    assert!(text.contains("Limitations"), "{text}");
}

#[test]
fn any_unicode_builds_cjk_and_emoji_print_and_uncovered_characters_are_placeholders() {
    let tmp = tempfile::tempdir().unwrap();
    // CJK, kana, hangul and emoji (the embedded fallback fonts have them), a control character,
    // Latin with diacritics and Greek, and two characters no font has: a private-use code point
    // and Zanabazar Square (U+11A00).
    let org = "Acme 株式会社 🚀 Ünïcødé Λ\u{7} Lending 한국어 カタカナ";
    let finding = "résumé 検証 ✅ done \u{10FFFD}\u{11A00}";
    std::fs::create_dir_all(tmp.path().join("audits")).unwrap();
    std::fs::write(
        tmp.path().join("audits/a.yaml"),
        format!(
            "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\ncontrols:\n  - {{ id: IR-01, score: 1, finding: \"{finding}\" }}\n"
        ),
    )
    .unwrap();
    let config = tmp.path().join("dossier.yaml");
    std::fs::write(
        &config,
        format!(
            "organization: \"{}\"\nreport: {{ period: {{ start: 2026-07-01, end: 2026-09-30 }} }}\nsources:\n  audits: [audits/*.yaml]\n",
            org.replace('\u{7}', "\\a")
        ),
    )
    .unwrap();
    let out = build(&config, &tmp.path().join("out"), &[]);
    assert!(
        out.stderr
            .contains("2 character(s) that no embedded font has as a placeholder"),
        "{}",
        out.stderr
    );
    for c in ["株", "🚀", "検", "✅", "한"] {
        assert!(!out.stderr.contains(c), "{c} is covered: {}", out.stderr);
    }
    let text = text_of(&pdf_of(&out));
    assert!(
        text.contains("Acme 株式会社 🚀 Ünïcødé Λ Lending 한국어 カタカナ"),
        "{text}"
    );
    assert!(
        text.contains("résumé 検証 ✅ done \u{FFFD}\u{FFFD}"),
        "{text}"
    );
    // The bundle's data keeps every character as written.
    let zip = PathBuf::from(out.stdout.lines().next().unwrap());
    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let root = zip.file_stem().unwrap().to_str().unwrap().to_string();
    let mut kpis = String::new();
    std::io::Read::read_to_string(
        &mut z.by_name(&format!("{root}/data/kpis/kpis.json")).unwrap(),
        &mut kpis,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&kpis).unwrap();
    assert_eq!(doc["organization"], org);
}

#[test]
fn sign_off_names_classification_on_every_page_and_a_final_needs_its_approver() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = tmp.path().join("sample");
    copy_dir(&repo().join("sample-evidence"), &sample);
    let config = sample.join("dossier.yaml");
    // The sample's own document control makes way for this test's.
    let text: String = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|l| {
            ![
                "  prepared_by:",
                "  reviewed_by:",
                "  classification:",
                "  version:",
                "  status:",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let control = "  prepared_by: Dana Ortiz (AI governance)\n  reviewed_by: Lee Chen (internal audit)\n  \
                   approved_by: Sam Patel (CRO)\n  classification: Confidential\n  version: '1.0'\n  status: final\n";
    std::fs::write(
        &config,
        text.replacen(
            "  as_of: 2026-10-01\n",
            &format!("  as_of: 2026-10-01\n{control}"),
            1,
        ),
    )
    .unwrap();
    let pdf = pdf_of(&build(&config, &tmp.path().join("out"), &[]));
    let text = text_of(&pdf);
    for name in [
        "Prepared by Dana Ortiz (AI governance)",
        "Reviewed by Lee Chen (internal audit)",
        "Approved by Sam Patel (CRO)",
        "Version: 1.0. Classification: Confidential.",
    ] {
        assert!(text.contains(name), "{name}:\n{text}");
    }
    // The classification heads every page; a final report is not marked DRAFT.
    let pages: usize = tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert_eq!(text.matches("CONFIDENTIAL").count(), pages, "{text}");
    assert!(!text.contains("DRAFT"));

    // Final without an approver is refused; without a status the report is a draft.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("  approved_by: Sam Patel (CRO)\n", ""),
    )
    .unwrap();
    let out = build(&config, &tmp.path().join("out"), &["--force"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("report.status"), "{}", out.stderr);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("  status: final\n", "")).unwrap();
    let text = text_of(&pdf_of(&build(
        &config,
        &tmp.path().join("out"),
        &["--force"],
    )));
    assert!(text.contains("DRAFT"), "{text}");
    assert!(text.contains("Approved by n/a"), "{text}");
}

#[test]
fn methodology_defines_every_kpi_with_its_formula_and_where_its_target_was_set() {
    let tmp = tempfile::tempdir().unwrap();
    let out = build(
        &repo().join("sample-evidence/dossier.yaml"),
        tmp.path(),
        &[],
    );
    let text = text_of(&pdf_of(&out)).replace('\n', " ");
    let doc: serde_json::Value = serde_json::from_str(
        &run(&[
            "kpis",
            "-c",
            repo()
                .join("sample-evidence/dossier.yaml")
                .to_str()
                .unwrap(),
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let names: Vec<&str> = doc["portfolio"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(names.len() >= 11, "{names:?}");
    assert!(text.contains("Methodology and definitions"));
    for name in &names {
        let entry = format!("{} ({name}) — ", name.replace('_', " "));
        assert!(text.contains(&entry), "no methodology entry for {name}");
    }
    assert_eq!(text.matches("Formula: ").count(), names.len());
    // How the per-model figures are computed, from the same text as docs/kpis.md.
    assert!(text.contains("Per-model inference figures"));
    assert!(text.contains("Per-model update cadence"));
    assert!(text.contains("as_of minus the UTC day the production version was created"));
    assert!(
        text.contains("linear interpolation between the closest ranks"),
        "{text}"
    );
    assert!(
        text.contains("10 bins at the first window's deciles"),
        "{text}"
    );
    // The sample's config sets a target for each of the 12 KPIs SPEC §4 and issue 17 name; the
    // two counts of issue 23 have none, which the methodology says.
    assert_eq!(text.matches("(set in policy.targets)").count(), 12);
    assert_eq!(names.len(), 14);
    assert_eq!(
        text.matches("Target: none (dossier\u{2019}s default)")
            .count(),
        2,
        "{text}"
    );
    // A config without targets: every target is dossier's default.
    let config = mlflow_config(tmp.path(), &fixture("mlflow/sqlite-3x/mlflow.db"), "");
    let bare = text_of(&pdf_of(&build(&config, &tmp.path().join("bare"), &[]))).replace('\n', " ");
    assert!(
        bare.contains("Target: at least 85.0% (dossier\u{2019}s default)"),
        "{bare}"
    );
}
