//! Issue 19 on the real binary: a customer's workbook, built by openpyxl with what real
//! questionnaires have (`questionnaire.py make`), answered in place — openpyxl sees the same
//! formulas, dropdowns, merges, styles, widths, comment, hidden sheet, defined name and
//! protection after as before, and at zip level every part but the answered worksheets is
//! byte-identical; choices checked against the dropdowns; and answers drawn from a signed bundle,
//! equal to the recomputed ones, citing bag paths with their SHA-256, refused when it is tampered.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use dossier::digest::hex;
use serde_json::Value;
use sha2::Digest;

use crate::answer::answer;
use crate::common::*;

const CONFIG: &str = "sample-evidence/dossier.yaml";
/// The flags that map the customer's columns (`questionnaire.py` writes these headers).
const COLUMNS: [&str; 10] = [
    "--id-column",
    "ID",
    "--question-column",
    "Question",
    "--choice-column",
    "Response",
    "--answer-column",
    "Comments",
    "--evidence-column",
    "Evidence",
];
const LIBRARY: &str = r#"answers:
  - id: AI-INV-01
    choice: "Yes"
    answer: "We register {{ inventory | length }} models in MLflow."
    evidence: [data/kpis/models.csv, data/evidence/mlflow/]
  - id: AI-DOC-01
    choice: "{% if kpis.documentation_completeness >= 0.99 %}Yes{% else %}No{% endif %}"
    answer: "{{ kpis.documentation_completeness | pct }} of production models have a card."
    evidence: [data/kpis/portfolio.csv]
  - pattern: "^AI-(DOC-02|LOG-01)$"
    choice: "N/A"
    answer: "Recorded for {{ question.id }}."
"#;

/// Whether openpyxl imports (the validators' venv on PATH, as `.ci/run` sets it); a missing
/// openpyxl fails the test unless DOSSIER_TEST_SKIP_VALIDATORS=1.
pub fn have_openpyxl() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import openpyxl"])
        .status()
        .is_ok_and(|s| s.success());
    ok || !validator("openpyxl-is-not-importable-by-python3")
}

/// python3 with `args` (openpyxl importable), which must succeed; its stdout.
fn python3(args: &[&std::ffi::OsStr]) -> String {
    let done = std::process::Command::new("python3")
        .args(args)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "python3 {args:?} failed (is openpyxl installed? see .ci/run): {}",
        String::from_utf8_lossy(&done.stderr)
    );
    String::from_utf8(done.stdout).unwrap()
}

/// Run `script` with python3 and `path` as its argument; its stdout.
pub fn openpyxl(script: &str, path: &Path) -> String {
    python3(&["-c".as_ref(), script.as_ref(), path.as_ref()])
}

/// `questionnaire.py make|inspect PATH`.
fn helper(mode: &str, path: &Path) -> String {
    let script = repo().join("tests/it/questionnaire.py");
    python3(&[script.as_ref(), mode.as_ref(), path.as_ref()])
}

fn inspect(path: &Path) -> Value {
    serde_json::from_str(&helper("inspect", path)).unwrap()
}

/// A fresh customer workbook and the test library in `dir`.
fn setup(dir: &Path, library: &str) -> (PathBuf, PathBuf) {
    let q = dir.join("customer.xlsx");
    helper("make", &q);
    let lib = dir.join("answers.yaml");
    std::fs::write(&lib, library).unwrap();
    (q, lib)
}

/// Every part of a zip, decompressed, by name, in the zip's order.
fn parts(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().to_string(), bytes)
        })
        .collect()
}

/// The parts of `after` whose bytes differ from `before`'s, in zip order, and then the parts
/// `before` lacks, marked `+`; `before`'s parts must all be there, in their order.
fn changed_parts(before: &Path, after: &Path) -> Vec<String> {
    let (before, after) = (parts(before), parts(after));
    let names = |p: &[(String, Vec<u8>)]| p.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&before),
        names(&after[..before.len().min(after.len())])
    );
    let mut changed: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| a.0.clone())
        .collect();
    changed.extend(after[before.len()..].iter().map(|(n, _)| format!("+{n}")));
    changed
}

fn value<'a>(book: &'a Value, sheet: &str, cell: &str) -> &'a Value {
    &book["sheets"][sheet]["cells"][cell]["value"]
}

#[test]
fn a_customer_workbook_is_answered_in_place_and_keeps_everything_else() {
    if !have_openpyxl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (q, lib) = setup(tmp.path(), LIBRARY);
    let out = tmp.path().join("answered.xlsx");
    let run = answer(&q, &lib, &out, &COLUMNS);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("4 answered, 1 unanswered"),
        "{}",
        run.stderr
    );

    // Zip level: the same parts in the same order; only the two question sheets changed.
    let changed = changed_parts(&q, &out);
    assert_eq!(
        changed,
        ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"]
    );

    // openpyxl opens it and sees every formula, dropdown, merge, width, style, comment, hidden
    // sheet, defined name and the structure lock as they were.
    let (a, b) = (inspect(&q), inspect(&out));
    assert_eq!(a["names"], b["names"]);
    assert_eq!(b["lock_structure"], true);
    for sheet in ["Questions", "Lists", "Logging"] {
        for key in ["state", "merged", "widths", "validations"] {
            assert_eq!(
                a["sheets"][sheet][key], b["sheets"][sheet][key],
                "{sheet} {key}"
            );
        }
        let cells = a["sheets"][sheet]["cells"].as_object().unwrap();
        for (cell, was) in cells {
            let now = &b["sheets"][sheet]["cells"][cell];
            assert_eq!(was["style"], now["style"], "{sheet}!{cell} style");
            assert_eq!(was["comment"], now["comment"], "{sheet}!{cell} comment");
            if !was["value"].is_null() {
                assert_eq!(was["value"], now["value"], "{sheet}!{cell} value");
            }
        }
    }
    assert_eq!(b["sheets"]["Lists"]["state"], "hidden");
    assert_eq!(value(&b, "Questions", "G5"), "=IF(C5=\"Yes\",F5,0)");
    assert_eq!(value(&b, "Questions", "G10"), "=SUM(G5:G8)");

    // The answers, where the customer's columns are; the status column added after the last.
    let doc = kpis_json(&repo().join(CONFIG)).json();
    let cards = doc["portfolio"]["documentation_completeness"]["value"]
        .as_f64()
        .unwrap();
    let q = |cell: &str| {
        value(&b, "Questions", cell)
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(q("H4"), "status");
    assert_eq!((q("C5"), q("H5")), ("Yes".into(), "answered".into()));
    let models = doc["models"].as_array().unwrap().len();
    assert_eq!(q("D5"), format!("We register {models} models in MLflow."));
    assert_eq!(q("E5"), "data/kpis/models.csv; data/evidence/mlflow/");
    assert_eq!(q("C6"), if cards >= 0.99 { "Yes" } else { "No" });
    assert_eq!(
        q("D6"),
        format!("{:.0}% of production models have a card.", cards * 100.0)
    );
    // Unanswered: marked, and its (empty, styled) answer cells left alone.
    assert_eq!(
        (q("C7"), q("D7"), q("H7")),
        ("".into(), "".into(), "unanswered".into())
    );
    assert_eq!(q("C8"), "N/A");
    let log = |cell: &str| {
        value(&b, "Logging", cell)
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        (log("C2"), log("D2"), log("F2")),
        (
            "N/A".into(),
            "Recorded for AI-LOG-01.".into(),
            "answered".into()
        )
    );
    // An added header cell takes the header's look.
    assert_eq!(
        b["sheets"]["Questions"]["cells"]["H4"]["style"],
        a["sheets"]["Questions"]["cells"]["G4"]["style"]
    );
}

#[test]
fn sheets_can_be_chosen_and_the_others_are_not_touched() {
    if !have_openpyxl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (q, lib) = setup(tmp.path(), LIBRARY);
    let out = tmp.path().join("answered.xlsx");
    let mut flags = COLUMNS.to_vec();
    flags.extend(["--sheet", "Logging"]);
    let run = answer(&q, &lib, &out, &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(changed_parts(&q, &out), ["xl/worksheets/sheet3.xml"]);

    flags.extend(["--sheet", "Nope", "--force"]);
    let run = answer(&q, &lib, &out, &flags);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no sheet `Nope`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Questions, Lists, Logging"),
        "{}",
        run.stderr
    );
}

/// `answer` with `library` and `extra` flags must fail with exit 1, write nothing, and say all of
/// `expected` on stderr.
fn refused(library: &str, extra: &[&str], expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let (q, lib) = setup(tmp.path(), library);
    let out = tmp.path().join("answered.xlsx");
    let run = answer(&q, &lib, &out, extra);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for e in expected {
        assert!(run.stderr.contains(e), "missing {e:?} in {}", run.stderr);
    }
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_value_the_dropdown_does_not_allow_a_formula_or_a_merge_is_refused() {
    if !have_openpyxl() {
        return;
    }
    // A choice the dropdown (a defined name over the hidden Lists sheet) does not offer.
    let maybe = LIBRARY.replace("choice: \"Yes\"", "choice: \"Maybe\"");
    refused(
        &maybe,
        &COLUMNS,
        &[
            "question AI-INV-01",
            "`Maybe`",
            "Questions!C5",
            "Yes, No, N/A",
        ],
    );
    // Free text into the dropdown column: the hint says how to map a choice.
    let mut flags = COLUMNS.to_vec();
    flags[7] = "Response";
    flags[5] = "Choice";
    refused(
        LIBRARY,
        &flags,
        &["question AI-INV-01", "Questions!C5", "--choice-column"],
    );
    // The Score column holds formulas: never overwritten.
    let mut flags = COLUMNS.to_vec();
    flags[9] = "Score";
    refused(LIBRARY, &flags, &["Questions!G5", "holds a formula"]);
    // A merge over the Response and Comments cells of AI-DOC-01: the comment would not show.
    let tmp = tempfile::tempdir().unwrap();
    let (q, lib) = setup(tmp.path(), LIBRARY);
    openpyxl(
        "import openpyxl, sys\nwb = openpyxl.load_workbook(sys.argv[1])\n\
         wb['Questions'].merge_cells('C6:D6')\nwb.save(sys.argv[1])\n",
        &q,
    );
    let out = tmp.path().join("answered.xlsx");
    let run = answer(&q, &lib, &out, &COLUMNS);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Questions!D6 (Comments column) lies inside the merged cells C6:D6"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
}

#[test]
fn answers_from_a_signed_bundle_equal_the_recomputed_ones_and_cite_hashes() {
    if !have_openpyxl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (zip, public) = signed_sample(tmp.path());
    let (q, lib) = setup(tmp.path(), LIBRARY);
    let recomputed = tmp.path().join("recomputed.xlsx");
    let run = answer(&q, &lib, &recomputed, &COLUMNS);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let from_bundle = tmp.path().join("from-bundle.xlsx");
    let mut flags = COLUMNS.to_vec();
    let zip_arg = zip.to_str().unwrap().to_string();
    let public = public.to_str().unwrap().to_string();
    flags.extend(["--bundle", &zip_arg, "--pubkey", &public]);
    let run = answer(&q, &lib, &from_bundle, &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let (a, b) = (inspect(&recomputed), inspect(&from_bundle));
    for cell in ["C5", "D5", "C6", "D6", "D7", "C8", "D8", "H5", "H7"] {
        assert_eq!(
            value(&a, "Questions", cell),
            value(&b, "Questions", cell),
            "{cell}"
        );
    }
    // Evidence: each bag path with the SHA-256 of the file inside the zip, computed here.
    let inside = bag_files(&zip);
    let models = &inside["data/kpis/models.csv"];
    let e5 = value(&b, "Questions", "E5").as_str().unwrap().to_string();
    assert!(
        e5.starts_with(&format!(
            "data/kpis/models.csv sha256:{models}; data/evidence/mlflow/ ("
        )),
        "{e5}"
    );
    // A folder: the SHA-256 of its manifest lines, as `grep | sha256sum` gives it.
    let lines: String = manifest_lines(&zip)
        .lines()
        .filter(|l| l.contains("  data/evidence/mlflow/"))
        .map(|l| format!("{l}\n"))
        .collect();
    let folder = hex(&sha2::Sha256::digest(lines.as_bytes()));
    assert!(
        e5.ends_with(&format!("their manifest lines sha256:{folder})")),
        "{e5}"
    );
    // The Evidence sheet names the bundle, its id, hash and signer.
    let evidence = &b["sheets"]["Evidence"]["cells"];
    let root = inside_root(&zip);
    assert_eq!(evidence["B2"]["value"], root.as_str());
    let zip_hash = hex(&sha2::Sha256::digest(std::fs::read(&zip).unwrap()));
    assert_eq!(evidence["B3"]["value"], zip_hash.as_str());
    assert!(
        evidence["B4"]["value"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(
        run.stderr
            .contains(&format!("answering from bundle {root}")),
        "{}",
        run.stderr
    );
    // Every customer part but the workbook's sheet list, relationships and content types is
    // byte-identical still.
    assert_eq!(
        changed_parts(&q, &from_bundle),
        [
            "xl/worksheets/sheet1.xml",
            "xl/worksheets/sheet3.xml",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "[Content_Types].xml",
            "+xl/worksheets/dossier-evidence.xml"
        ]
    );
}

/// The sample built and signed with a fresh key in `dir`: the zip and the public key.
fn signed_sample(dir: &Path) -> (PathBuf, PathBuf) {
    let keys = dir.join("keys");
    assert_eq!(run(&["keygen", "-o", keys.to_str().unwrap()]).code, 0);
    let key = keys.join("dossier-signing.key");
    let zip = build_sample_zip(&dir.join("dist"), &["-q", "--key", key.to_str().unwrap()]);
    (zip, keys.join("dossier-signing.pub"))
}

/// SHA-256 of each payload file of a bundle zip, by bag path.
fn bag_files(zip: &Path) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().split_once('/').unwrap().1.to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        out.insert(name, hex(&sha2::Sha256::digest(&bytes)));
    }
    out
}

fn inside_root(zip: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let name = archive.by_index(0).unwrap().name().to_string();
    name.split('/').next().unwrap().to_string()
}

fn manifest_lines(zip: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let name = format!("{}/manifest-sha256.txt", inside_root(zip));
    let mut text = String::new();
    archive
        .by_name(&name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn a_tampered_bundle_or_a_citation_it_lacks_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (zip, _) = signed_sample(tmp.path());
    let q = repo().join("sample-evidence/questionnaire/questionnaire.csv");
    let lib = repo().join("sample-evidence/questionnaire/answers.yaml");
    let out = tmp.path().join("answered.csv");

    // Answered from the bundle, the CSV's answers equal the recomputed ones.
    let recomputed = tmp.path().join("recomputed.csv");
    assert_eq!(answer(&q, &lib, &recomputed, &[]).code, 0);
    let zip_arg = zip.to_str().unwrap().to_string();
    let run = answer(&q, &lib, &out, &["--bundle", &zip_arg]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let column = |path: &Path, name: &str| -> Vec<String> {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .unwrap();
        let i = r.headers().unwrap().iter().position(|h| h == name).unwrap();
        r.records()
            .map(|x| x.unwrap().get(i).unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(column(&recomputed, "answer"), column(&out, "answer"));
    assert!(
        column(&out, "evidence")
            .iter()
            .any(|e| e.contains(" sha256:"))
    );

    // One byte of kpis.json changed inside the zip: exit 4, nothing written.
    let tampered = tmp.path().join("tampered.zip");
    rewrite_zip(&zip, &tampered, |name, b| {
        if !name.ends_with("/data/kpis/kpis.json") {
            return Some(b);
        }
        let text = String::from_utf8(b).unwrap();
        Some(
            text.replacen("\"value\": 0.", "\"value\": 1.", 1)
                .into_bytes(),
        )
    });
    let out2 = tmp.path().join("never.csv");
    let t = tampered.to_str().unwrap().to_string();
    let run = answer(&q, &lib, &out2, &["--bundle", &t]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("data/kpis/kpis.json"), "{}", run.stderr);
    assert!(!out2.exists());

    // A citation of a file the bundle does not carry.
    let missing = tmp.path().join("missing.yaml");
    std::fs::write(
        &missing,
        "answers:\n  - id: AI-INV-01\n    answer: \"yes\"\n    evidence: [data/nowhere.csv]\n",
    )
    .unwrap();
    let run = answer(&q, &missing, &out2, &["--bundle", &zip_arg]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("answers[0]"), "{}", run.stderr);
    assert!(run.stderr.contains("`data/nowhere.csv`"), "{}", run.stderr);
    assert!(!out2.exists());
}

/// `from` copied to `to`, each entry through `edit(name, bytes)`: its new bytes, or `None` to
/// leave it out.
fn rewrite_zip(from: &Path, to: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = edit(&name, bytes) {
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, &bytes).unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn a_broken_workbook_is_refused_naming_it_and_nothing_is_written() {
    if !have_openpyxl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (q, lib) = setup(tmp.path(), LIBRARY);
    type Edit<'a> = &'a dyn Fn(&str, Vec<u8>) -> Option<Vec<u8>>;
    let cases: [(&str, Edit); 3] = [
        // The question sheet's XML cut off mid-element.
        ("cut.xlsx", &|n, b| {
            Some(if n == "xl/worksheets/sheet1.xml" {
                b[..b.len() / 2].to_vec()
            } else {
                b
            })
        }),
        // No package relationships: the workbook part cannot be found.
        ("norels.xlsx", &|n, b| (n != "_rels/.rels").then_some(b)),
        // A dropdown over every cell of a sheet: read only where the sheet has cells.
        ("wide.xlsx", &|n, b| {
            Some(if n == "xl/worksheets/sheet1.xml" {
                String::from_utf8(b)
                    .unwrap()
                    .replace("=Choices", "Lists!$A$1:$XFD$1048576")
                    .into_bytes()
            } else {
                b
            })
        }),
    ];
    for (name, edit) in cases {
        let broken = tmp.path().join(name);
        rewrite_zip(&q, &broken, edit);
        let out = tmp.path().join(format!("answered-{name}"));
        let run = answer(&broken, &lib, &out, &COLUMNS);
        if name == "wide.xlsx" {
            assert_eq!(run.code, 0, "{}", run.stderr);
            continue;
        }
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert!(!out.exists(), "{name}: nothing written");
    }
}
