//! `dossier keygen`, `build` and `verify` on the real binary: the bundle validates with the stock
//! tools (bagit.py, sha256sum, openssl), two builds are byte-identical, and every tamper case is
//! detected and named with exit 4.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const TIME: &str = "2026-10-02T08:00:00Z";

struct Built {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    zip: PathBuf,
    key: PathBuf,
    public: PathBuf,
}

fn build_sample(signed: bool) -> Built {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let keys = dir.join("keys");
    let out = run(&["keygen", "-o", keys.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key = keys.join("dossier-signing.key");
    let mut cmd = dossier();
    cmd.current_dir(repo())
        .args([
            "build",
            "-c",
            "sample-evidence/dossier.yaml",
            "--timestamp",
            TIME,
            "-o",
        ])
        .arg(dir.join("dist"));
    if signed {
        cmd.arg("--key").arg(&key);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let zip = PathBuf::from(stdout.lines().next().unwrap_or_default());
    assert_eq!(
        stdout.lines().nth(1),
        Some(zip.with_extension("pdf").to_str().unwrap()),
        "the PDF is written beside the zip"
    );
    assert!(zip.is_file(), "{}", zip.display());
    Built {
        _tmp: tmp,
        dir,
        zip,
        public: keys.join("dossier-signing.pub"),
        key,
    }
}

fn verify(zip: &Path, pubkey: Option<&Path>) -> Outcome {
    let mut args = vec!["verify", zip.to_str().unwrap(), "--json"];
    if let Some(p) = pubkey {
        args.extend(["--pubkey", p.to_str().unwrap()]);
    }
    run(&args)
}

/// Rewrite a zip entry by entry: `change` sees each (name, bytes) and returns what to write
/// (`None` drops the entry); `extra` entries are appended.
fn rewrite(
    src: &Path,
    dst: &Path,
    change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
    extra: &[(&str, &[u8])],
) {
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut zout = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..zin.len() {
        let mut e = zin.by_index(i).unwrap();
        let name = e.name().to_string();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = change(&name, bytes) {
            zout.start_file(name, opts).unwrap();
            zout.write_all(&bytes).unwrap();
        }
    }
    for (name, bytes) in extra {
        zout.start_file(*name, opts).unwrap();
        zout.write_all(bytes).unwrap();
    }
    zout.finish().unwrap();
}

fn root_of(zip: &Path) -> String {
    zip.file_stem().unwrap().to_string_lossy().into_owned()
}

fn problems(out: &Outcome) -> String {
    assert_eq!(
        out.code, 4,
        "expected a failed verification: {}\n{}",
        out.stdout, out.stderr
    );
    let doc = out.json();
    assert_eq!(doc["ok"], false);
    doc["problems"].to_string()
}

fn flip_last(mut b: Vec<u8>) -> Vec<u8> {
    if let Some(x) = b.last_mut() {
        *x ^= 0x01;
    }
    b
}

#[test]
fn signed_bundle_verifies_and_builds_are_byte_identical() {
    let a = build_sample(true);
    let out = verify(&a.zip, Some(&a.public));
    assert_eq!(out.code, 0, "{}", out.stdout);
    let doc = out.json();
    assert_eq!(
        (
            doc["ok"].clone(),
            doc["signed"].clone(),
            doc["key_pinned"].clone()
        ),
        (true.into(), true.into(), true.into())
    );
    // Counted from the zip itself: every file entry under the bag's data/ folder.
    let root = root_of(&a.zip);
    let zip = zip::ZipArchive::new(std::fs::File::open(&a.zip).unwrap()).unwrap();
    let in_data = zip
        .file_names()
        .filter(|n| n.starts_with(&format!("{root}/data/")) && !n.ends_with('/'))
        .count();
    assert!(in_data > 0);
    assert_eq!(doc["payload_files"], in_data);
    // Entry order (docs/decisions.md, "One write"): the payload first, sorted, then the tag files
    // and signatures, sorted — written once, the inputs before the report that lists their hashes.
    let mut z = zip::ZipArchive::new(std::fs::File::open(&a.zip).unwrap()).unwrap();
    let names: Vec<String> = (0..z.len())
        .map(|i| z.by_index_raw(i).unwrap().name().to_string())
        .collect();
    let (payload, tags) = names.split_at(in_data);
    assert!(
        payload
            .iter()
            .all(|n| n.starts_with(&format!("{root}/data/"))),
        "{names:?}"
    );
    assert!(payload.is_sorted(), "{payload:?}");
    assert!(tags.is_sorted(), "{tags:?}");
    assert_eq!(
        tags.first().map(String::as_str),
        Some(format!("{root}/bag-info.txt").as_str())
    );
    assert_eq!(
        tags.last().map(String::as_str),
        Some(format!("{root}/tagmanifest-sha256.txt").as_str())
    );
    // Unpinned: still verifies, with the warning that the key came from the bundle.
    let out = verify(&a.zip, None);
    assert_eq!(out.code, 0);
    assert!(
        out.json()["warnings"]
            .to_string()
            .contains("taken from the bundle itself")
    );
    // A second build with the same inputs, key and time is the same file, byte for byte.
    let second = a.dir.join("again");
    let out = dossier()
        .current_dir(repo())
        .args([
            "build",
            "-c",
            "sample-evidence/dossier.yaml",
            "--timestamp",
            TIME,
            "--key",
        ])
        .arg(&a.key)
        .arg("-o")
        .arg(&second)
        .output()
        .unwrap();
    assert!(out.status.success());
    let again = second.join(a.zip.file_name().unwrap());
    assert_eq!(
        std::fs::read(&a.zip).unwrap(),
        std::fs::read(&again).unwrap()
    );
    // Never overwritten without --force; replaced with it.
    let out = dossier()
        .current_dir(repo())
        .args(["build", "-c", "sample-evidence/dossier.yaml", "-o"])
        .arg(&second)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(
        std::fs::read(&a.zip).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn stock_tools_accept_the_bundle() {
    let a = build_sample(true);
    let unpacked = a.dir.join("unpacked");
    let mut z = zip::ZipArchive::new(std::fs::File::open(&a.zip).unwrap()).unwrap();
    z.extract(&unpacked).unwrap();
    let bag = unpacked.join(root_of(&a.zip));
    for (tool, args) in [
        ("bagit.py", vec!["--validate", "."]),
        ("sha256sum", vec!["-c", "--strict", "manifest-sha256.txt"]),
        (
            "openssl",
            vec![
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "signature/signer.pub.pem",
                "-rawin",
                "-in",
                "tagmanifest-sha256.txt",
                "-sigfile",
                "signature/tagmanifest-sha256.txt.sig",
            ],
        ),
        (
            "openssl",
            vec![
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "signature/signer.pub.pem",
                "-rawin",
                "-in",
                "data/report/report.pdf",
                "-sigfile",
                "signature/report.pdf.sig",
            ],
        ),
    ] {
        if !validator(tool) {
            continue;
        }
        let out = Command::new(tool)
            .args(&args)
            .current_dir(&bag)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The fingerprint in bag-info.txt is the SHA-256 of the key's SPKI DER, as openssl computes it.
    let info = std::fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    let fp = info
        .lines()
        .find_map(|l| l.strip_prefix("Signer-Key-Fingerprint: sha256:"))
        .unwrap();
    if validator("openssl") {
        let der = Command::new("openssl")
            .args(["pkey", "-pubin", "-outform", "DER", "-in"])
            .arg(&a.public)
            .output()
            .unwrap()
            .stdout;
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(fp, digest);
    }
    // Payload-Oxum counted by hand: the sum of the sizes of the files under data/.
    let mut bytes = 0u64;
    let mut files = 0;
    let mut stack = vec![bag.join("data")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                bytes += e.metadata().unwrap().len();
                files += 1;
            }
        }
    }
    assert!(
        info.contains(&format!("Payload-Oxum: {bytes}.{files}\n")),
        "{info}"
    );
    // Every input is in the chain of custody with its original path.
    let sources = std::fs::read_to_string(bag.join("data/sources.csv")).unwrap();
    // Paths relative to the config folder (SPEC §6): no path of the build machine.
    assert!(
        sources.contains("audit-evidence,evidence/kill-switch-runbook.md,"),
        "{sources}"
    );
    assert!(
        !sources.contains(repo().to_str().unwrap()),
        "an absolute path of the build machine: {sources}"
    );
    assert!(sources.contains("data/evidence/mlflow/lineage/"));
    assert!(
        !sources.contains("dossier-signing.key"),
        "the signing key never enters the bundle"
    );
}

/// How a tamper case changes the bundle: an entry (a path inside the bag) gets one byte flipped,
/// is dropped, or is replaced; or a new entry is planted.
enum Edit {
    Flip(&'static str),
    Drop(&'static str),
    Replace(&'static str, Vec<u8>),
    Plant(&'static str, &'static [u8]),
}

struct Tamper {
    name: &'static str,
    edit: Edit,
    /// Verify against the pinned public key (else the bundled one).
    pinned: bool,
    /// Each group: substrings that must all appear in one run's problems.
    expect: &'static [&'static [&'static str]],
}

#[test]
fn every_tamper_case_is_named_with_exit_4() {
    let a = build_sample(true);
    let root = root_of(&a.zip);
    let other = a.dir.join("other");
    assert_eq!(run(&["keygen", "-o", other.to_str().unwrap()]).code, 0);
    let other_pem = std::fs::read(other.join("dossier-signing.pub")).unwrap();
    let cases = [
        Tamper {
            name: "payload",
            edit: Edit::Flip("data/audits/scores.csv"),
            pinned: true,
            expect: &[&[
                "data/audits/scores.csv",
                "does not match manifest-sha256.txt",
            ]],
        },
        // The report: its manifest line and its own signature both catch a changed byte.
        Tamper {
            name: "report",
            edit: Edit::Flip("data/report/report.pdf"),
            pinned: true,
            expect: &[
                &[
                    "data/report/report.pdf",
                    "does not match manifest-sha256.txt",
                ],
                &["signature/report.pdf.sig", "does not verify"],
            ],
        },
        Tamper {
            name: "tag",
            edit: Edit::Flip("bag-info.txt"),
            pinned: true,
            expect: &[&["bag-info.txt", "does not match tagmanifest-sha256.txt"]],
        },
        Tamper {
            name: "sig",
            edit: Edit::Flip("signature/tagmanifest-sha256.txt.sig"),
            pinned: true,
            expect: &[&["tagmanifest-sha256.txt.sig", "does not verify"]],
        },
        Tamper {
            name: "added",
            edit: Edit::Plant("data/evidence/planted.md", b"not evidence"),
            pinned: true,
            expect: &[
                &["planted.md", "not listed in manifest-sha256.txt"],
                &["Payload-Oxum"],
            ],
        },
        Tamper {
            name: "removed",
            edit: Edit::Drop("data/audits/scores.csv"),
            pinned: true,
            expect: &[&["data/audits/scores.csv", "missing from the bundle"]],
        },
        // Another key swapped into one bundle, unpinned: the signature no longer matches it.
        Tamper {
            name: "swapped",
            edit: Edit::Replace("signature/signer.pub.pem", other_pem),
            pinned: false,
            expect: &[&["does not verify"]],
        },
    ];
    for case in cases {
        let target = a.dir.join(format!("{}.zip", case.name));
        let inside = |path: &str| format!("{root}/{path}");
        match &case.edit {
            Edit::Flip(p) => rewrite(
                &a.zip,
                &target,
                |n, b| Some(if n == inside(p) { flip_last(b) } else { b }),
                &[],
            ),
            Edit::Drop(p) => rewrite(&a.zip, &target, |n, b| (n != inside(p)).then_some(b), &[]),
            Edit::Replace(p, bytes) => rewrite(
                &a.zip,
                &target,
                |n, b| Some(if n == inside(p) { bytes.clone() } else { b }),
                &[],
            ),
            Edit::Plant(p, bytes) => {
                rewrite(&a.zip, &target, |_, b| Some(b), &[(&inside(p), bytes)])
            }
        }
        let pubkey = case.pinned.then_some(a.public.as_path());
        let p = problems(&verify(&target, pubkey));
        for group in case.expect {
            assert!(
                group.iter().all(|s| p.contains(s)),
                "{}: {group:?} in {p}",
                case.name
            );
        }
    }
}

#[test]
fn a_bundle_re_signed_with_another_key_fails_against_the_pinned_key() {
    let a = build_sample(true);
    let other = a.dir.join("other");
    assert_eq!(run(&["keygen", "-o", other.to_str().unwrap()]).code, 0);
    let out = dossier()
        .current_dir(repo())
        .args([
            "build",
            "-c",
            "sample-evidence/dossier.yaml",
            "--timestamp",
            TIME,
            "--key",
        ])
        .arg(other.join("dossier-signing.key"))
        .arg("-o")
        .arg(a.dir.join("forged"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let forged = a.dir.join("forged").join(a.zip.file_name().unwrap());
    let p = problems(&verify(&forged, Some(&a.public)));
    assert!(
        p.contains("does not verify") && p.contains("wrong key"),
        "{p}"
    );
}

#[test]
fn hostile_zips_are_refused_without_extraction() {
    let a = build_sample(true);
    let root = root_of(&a.zip);
    let t = |name: &str| a.dir.join(format!("{name}.zip"));

    rewrite(
        &a.zip,
        &t("slip"),
        |_, b| Some(b),
        &[("../evil", b"x"), ("/etc/evil", b"x")],
    );
    let p = problems(&verify(&t("slip"), Some(&a.public)));
    assert!(
        p.contains("../evil") && p.contains("escapes the bundle"),
        "{p}"
    );
    assert!(
        p.contains("/etc/evil") && p.contains("absolute path"),
        "{p}"
    );
    assert!(!a.dir.parent().unwrap().join("evil").exists());

    // 300 MB of zeros deflates to a few hundred KB: far past any honest ratio.
    let bomb = format!("{root}/data/evidence/bomb.log");
    {
        let mut zin = zip::ZipArchive::new(std::fs::File::open(&a.zip).unwrap()).unwrap();
        let mut zout = zip::ZipWriter::new(std::fs::File::create(t("bomb")).unwrap());
        for i in 0..zin.len() {
            zout.raw_copy_file(zin.by_index(i).unwrap()).unwrap();
        }
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zout.start_file(bomb.as_str(), opts).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            zout.write_all(&zeros).unwrap();
        }
        zout.finish().unwrap();
    }
    let p = problems(&verify(&t("bomb"), Some(&a.public)));
    assert!(p.contains("bomb.log") && p.contains("zip bomb"), "{p}");

    let link = format!("{root}/data/evidence/link");
    {
        let mut zin = zip::ZipArchive::new(std::fs::File::open(&a.zip).unwrap()).unwrap();
        let mut zout = zip::ZipWriter::new(std::fs::File::create(t("link")).unwrap());
        for i in 0..zin.len() {
            zout.raw_copy_file(zin.by_index(i).unwrap()).unwrap();
        }
        zout.add_symlink(
            link.as_str(),
            "/etc/passwd",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zout.finish().unwrap();
    }
    let p = problems(&verify(&t("link"), Some(&a.public)));
    assert!(
        p.contains("data/evidence/link") && p.contains("symbolic link"),
        "{p}"
    );
}

#[test]
fn duplicate_names_are_detected() {
    // zip writers refuse duplicates, so append a second central-directory entry by hand with
    // Python's zipfile, which allows it (with a warning) — a real tool an attacker could use.
    let a = build_sample(true);
    let root = root_of(&a.zip);
    let dup = a.dir.join("dup.zip");
    std::fs::copy(&a.zip, &dup).unwrap();
    let script = format!(
        "import zipfile, warnings\nwarnings.simplefilter('ignore')\nz = zipfile.ZipFile({:?}, 'a')\nz.writestr('{root}/data/kpis/kpis.json', b'{{}}')\nz.close()\n",
        dup.to_str().unwrap()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = problems(&verify(&dup, Some(&a.public)));
    assert!(
        p.contains("data/kpis/kpis.json") && p.contains("more than once"),
        "{p}"
    );
}

#[test]
fn unsigned_build_warns_and_verify_fails_it() {
    let a = build_sample(false);
    let p = problems(&verify(&a.zip, None));
    assert!(p.contains("the bundle is unsigned"), "{p}");
    let info = String::from_utf8_lossy(&{
        let mut z = zip::ZipArchive::new(std::fs::File::open(&a.zip).unwrap()).unwrap();
        let mut s = Vec::new();
        z.by_name(&format!("{}/bag-info.txt", root_of(&a.zip)))
            .unwrap()
            .read_to_end(&mut s)
            .unwrap();
        s
    })
    .into_owned();
    assert!(!info.contains("Signer-Key-Fingerprint"));
}

#[test]
fn keygen_and_key_safety() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&["keygen", "-o", tmp.path().to_str().unwrap()]);
    assert_eq!(out.code, 0);
    let key = tmp.path().join("dossier-signing.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    assert!(
        std::fs::read_to_string(tmp.path().join("dossier-signing.pub"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let out = run(&["keygen", "-o", tmp.path().to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("exists already"));
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        pem,
        "never overwritten"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dossier()
        .current_dir(repo())
        .args(["build", "-c", "sample-evidence/dossier.yaml", "-o"])
        .arg(tmp.path().join("dist"))
        .env("DOSSIER_SIGNING_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("readable by every user"));
    assert!(!tmp.path().join("dist").exists(), "nothing written");
}

#[test]
fn evidence_escaping_the_config_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("audits")).unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "outside").unwrap();
    std::fs::write(
        project.join("audits/a.yaml"),
        "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\ncontrols:\n  - { id: IR-01, score: 2, evidence: [../secret.txt] }\n",
    )
    .unwrap();
    std::fs::write(
        project.join("dossier.yaml"),
        "organization: T\nreport: { period: { start: 2026-07-01, end: 2026-09-30 } }\nsources:\n  audits: [audits/*.yaml]\n",
    )
    .unwrap();
    let out = run(&[
        "build",
        "-c",
        project.join("dossier.yaml").to_str().unwrap(),
        "-o",
        tmp.path().join("dist").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("evidence ../secret.txt resolves to")
            && out.stderr.contains("outside the config folder"),
        "{}",
        out.stderr
    );
    // With the evidence fixed, an output folder that is a source folder is still refused.
    std::fs::write(
        project.join("audits/a.yaml"),
        "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\n",
    )
    .unwrap();
    let out = run(&[
        "build",
        "-c",
        project.join("dossier.yaml").to_str().unwrap(),
        "-o",
        project.join("audits").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("lies inside the source folder"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(project.join("audits")).unwrap().count(),
        1,
        "nothing written there"
    );
    // Nor a folder inside one (`-o audits/out`): the next build would ingest its own output.
    let nested = project.join("audits/out");
    let out = run(&[
        "build",
        "-c",
        project.join("dossier.yaml").to_str().unwrap(),
        "-o",
        nested.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("lies inside the source folder"),
        "{}",
        out.stderr
    );
    assert!(!nested.exists(), "not even created");
}

#[test]
fn evaluation_artifacts_of_production_models_are_bundled() {
    // A copy of the SQLite store with an evaluation table beside credit-risk-scorer's model card.
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    copy_dir(&fixture("mlflow/sqlite-3x"), &store);
    let config = mlflow_config(tmp.path(), &store.join("mlflow.db"), "");
    let doc = kpis_json(&config).json();
    let credit = doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "credit-risk-scorer")
        .unwrap();
    let artifacts = PathBuf::from(credit["artifact_dir"].as_str().unwrap());
    std::fs::write(
        artifacts.join("eval_results_table.json"),
        "{\"roc_auc\": 0.82}",
    )
    .unwrap();
    let out = run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        tmp.path().join("dist").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let zip_path = PathBuf::from(out.stdout.lines().next().unwrap());
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let root = root_of(&zip_path);
    let mut text = String::new();
    zip.by_name(&format!(
        "{root}/data/evidence/run-artifacts/credit-risk-scorer/eval_results_table.json"
    ))
    .expect("the evaluation artifact is in the bundle")
    .read_to_string(&mut text)
    .unwrap();
    assert_eq!(text, "{\"roc_auc\": 0.82}");
    // The model binary folder is not copied; the card is, once, under model-cards/.
    let names: Vec<String> = zip.file_names().map(String::from).collect();
    assert!(!names.iter().any(|n| n.contains("/MLmodel")), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains("run-artifacts/credit-risk-scorer/model_card.md"))
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("model-cards/credit-risk-scorer/model_card.md"))
    );
}

/// A zip's entries by name, in order.
fn entries_of(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut e = z.by_index(i).unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (e.name().to_string(), b)
        })
        .collect()
}

fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        z.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_re_signed_bag_without_the_report_and_kpis_is_not_a_dossier_bundle() {
    use ed25519_dalek::Signer;
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let a = build_sample(true);
    let root = root_of(&a.zip);
    let drop = [
        "data/kpis/kpis.json",
        "data/report/report.pdf",
        "signature/report.pdf.sig",
    ];
    let mut entries: Vec<(String, Vec<u8>)> = entries_of(&a.zip)
        .into_iter()
        .filter(|(n, _)| !drop.iter().any(|d| n == &format!("{root}/{d}")))
        .collect();
    // Re-made by hand, as a forger with the key would: manifest, Payload-Oxum, tag manifest and
    // signature all consistent with what is left.
    let get = |entries: &[(String, Vec<u8>)], name: &str| {
        entries
            .iter()
            .find(|(n, _)| n == &format!("{root}/{name}"))
            .unwrap()
            .1
            .clone()
    };
    let manifest: String = String::from_utf8(get(&entries, "manifest-sha256.txt"))
        .unwrap()
        .lines()
        .filter(|l| !drop.iter().any(|d| l.ends_with(d)))
        .map(|l| format!("{l}\n"))
        .collect();
    let payload: Vec<&(String, Vec<u8>)> = entries
        .iter()
        .filter(|(n, _)| n.starts_with(&format!("{root}/data/")))
        .collect();
    let oxum = format!(
        "Payload-Oxum: {}.{}",
        payload.iter().map(|(_, b)| b.len()).sum::<usize>(),
        payload.len()
    );
    let info: String = String::from_utf8(get(&entries, "bag-info.txt"))
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("Payload-Oxum:") {
                format!("{oxum}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let bagit = get(&entries, "bagit.txt");
    let tagmanifest = format!(
        "{}  bag-info.txt\n{}  bagit.txt\n{}  manifest-sha256.txt\n",
        hex_sha256(info.as_bytes()),
        hex_sha256(&bagit),
        hex_sha256(manifest.as_bytes())
    );
    let pem = std::fs::read_to_string(&a.key).unwrap();
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let sig = key.sign(tagmanifest.as_bytes()).to_bytes().to_vec();
    for (name, bytes) in entries.iter_mut() {
        match name.strip_prefix(&format!("{root}/")).unwrap() {
            "manifest-sha256.txt" => *bytes = manifest.clone().into_bytes(),
            "bag-info.txt" => *bytes = info.clone().into_bytes(),
            "tagmanifest-sha256.txt" => *bytes = tagmanifest.clone().into_bytes(),
            "signature/tagmanifest-sha256.txt.sig" => *bytes = sig.clone(),
            _ => {}
        }
    }
    let forged = a.dir.join("forged.zip");
    write_zip(&forged, &entries);
    let p = problems(&verify(&forged, Some(&a.public)));
    for d in drop {
        assert!(
            p.contains(&format!("{root}/{d}")) && p.contains("every dossier bundle holds it"),
            "{d}: {p}"
        );
    }
    assert!(
        !p.contains("does not verify"),
        "the signature itself is good: {p}"
    );
}

#[test]
fn unsigned_riders_and_a_swapped_bundled_key_are_named() {
    let a = build_sample(true);
    let root = root_of(&a.zip);
    for (extra, needle) in [
        ("README-auditor.txt", "not covered by any signature"),
        ("signature/note.txt", "not covered by any signature"),
        ("fetch.txt", "a dossier bundle is complete"),
    ] {
        let mut entries = entries_of(&a.zip);
        entries.push((format!("{root}/{extra}"), b"trust me".to_vec()));
        let rider = a.dir.join("rider.zip");
        write_zip(&rider, &entries);
        let p = problems(&verify(&rider, Some(&a.public)));
        assert!(p.contains(extra) && p.contains(needle), "{extra}: {p}");
    }
    // Pinned to our key, a bundled signer.pub.pem that is another key is named, even though the
    // signatures check out against the pinned key.
    let other = a.dir.join("other");
    assert_eq!(run(&["keygen", "-o", other.to_str().unwrap()]).code, 0);
    let other_pem = std::fs::read(other.join("dossier-signing.pub")).unwrap();
    let mut entries = entries_of(&a.zip);
    for (name, bytes) in entries.iter_mut() {
        if name.ends_with("signature/signer.pub.pem") {
            *bytes = other_pem.clone();
        }
    }
    let swapped = a.dir.join("swapped-pem.zip");
    write_zip(&swapped, &entries);
    let p = problems(&verify(&swapped, Some(&a.public)));
    assert!(p.contains("is not the key given with --pubkey"), "{p}");
}

#[test]
fn an_unsigned_bag_does_not_claim_changes_after_signing() {
    let a = build_sample(false);
    let root = root_of(&a.zip);
    let target = a.dir.join("changed.zip");
    rewrite(
        &a.zip,
        &target,
        |n, b| {
            Some(if n == format!("{root}/data/audits/scores.csv") {
                flip_last(b)
            } else {
                b
            })
        },
        &[],
    );
    let p = problems(&verify(&target, None));
    assert!(p.contains("does not match manifest-sha256.txt"), "{p}");
    assert!(!p.contains("changed after signing"), "{p}");
}

#[test]
fn a_refused_entry_is_refused_not_missing() {
    let a = build_sample(true);
    let root = root_of(&a.zip);
    let target = format!("{root}/data/audits/scores.csv");
    let linked = a.dir.join("linked.zip");
    {
        let mut zin = zip::ZipArchive::new(std::fs::File::open(&a.zip).unwrap()).unwrap();
        let mut zout = zip::ZipWriter::new(std::fs::File::create(&linked).unwrap());
        for i in 0..zin.len() {
            let e = zin.by_index(i).unwrap();
            if e.name() == target {
                drop(e);
                zout.add_symlink(
                    target.as_str(),
                    "/etc/passwd",
                    zip::write::SimpleFileOptions::default(),
                )
                .unwrap();
            } else {
                zout.raw_copy_file(e).unwrap();
            }
        }
        zout.finish().unwrap();
    }
    let p = problems(&verify(&linked, Some(&a.public)));
    assert!(
        p.contains("scores.csv") && p.contains("symbolic link"),
        "{p}"
    );
    assert!(!p.contains("missing from the bundle"), "{p}");
}

#[test]
fn a_bundle_is_unsigned_only_on_purpose() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    copy_dir(&repo().join("sample-evidence"), &project);
    let config = project.join("dossier.yaml");
    let out_dir = tmp.path().join("dist");
    let build = |extra: &[&str], unsigned_env: bool| {
        let mut cmd = dossier();
        if !unsigned_env {
            cmd.env_remove("DOSSIER_UNSIGNED");
        }
        let done = cmd
            .args(["build", "-c"])
            .arg(&config)
            .arg("-o")
            .arg(&out_dir)
            .args(["--force", "--timestamp", TIME])
            .args(extra)
            .output()
            .unwrap();
        (
            done.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&done.stderr).into_owned(),
        )
    };
    // No key anywhere and no --unsigned: a usage error with the way out, and nothing written.
    let (code, stderr) = build(&[], false);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no signing key") && stderr.contains("--unsigned"),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "nothing written");
    // The key is looked for before any source is read (on Spark, the log pass is a cluster
    // run): with --strict the sample's rejected records would be the error otherwise (exit 1,
    // naming a file and line).
    let (code, stderr) = build(&["--strict"], false);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no signing key"), "{stderr}");
    // --unsigned: written, with the warning.
    let (code, stderr) = build(&["--unsigned"], false);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("UNSIGNED"), "{stderr}");
    // `dossier keygen` in the config's folder: the key beside the config is found and used.
    assert_eq!(run(&["keygen", "-o", project.to_str().unwrap()]).code, 0);
    let (code, stderr) = build(&[], false);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("signed by sha256:"), "{stderr}");
    let zip = out_dir.join("dossier-acme-lending-2026-07-01_2026-09-30.zip");
    let pinned = project.join("dossier-signing.pub");
    assert_eq!(verify(&zip, Some(&pinned)).code, 0);
    // The key beside the config is not evidence: it is in no file of the bundle.
    let sources = entries_of(&zip)
        .into_iter()
        .find(|(n, _)| n.ends_with("data/sources.csv"))
        .unwrap()
        .1;
    assert!(!String::from_utf8_lossy(&sources).contains("dossier-signing.key"));
}
