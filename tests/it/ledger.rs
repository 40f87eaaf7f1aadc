//! The ledger of bundles (issue 23): a build given the previous bundle records a link to it in
//! `bag-info.txt` (covered by the signature); `verify --chain` checks each bundle and every link
//! and names a replaced, reordered or missing bundle; an auditor checks a link with sha256sum and
//! grep alone; the report shows the link.

use std::path::{Path, PathBuf};

use crate::common::*;

const QUARTERS: [&str; 3] = [
    "2026-01-01..2026-03-31",
    "2026-04-01..2026-06-30",
    "2026-07-01..2026-09-30",
];

/// The sample built for `period` into `out`, linked to `previous` when given; the zip.
fn quarter(out: &Path, key: &Path, period: &str, previous: Option<&Path>, time: &str) -> PathBuf {
    let mut flags = vec!["-q", "--period", period, "--timestamp", time, "--key"];
    flags.push(key.to_str().unwrap());
    if let Some(p) = previous {
        flags.extend(["--baseline", p.to_str().unwrap()]);
    }
    build_sample_zip(out, &flags)
}

struct Ledger {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
    public: PathBuf,
    zips: Vec<PathBuf>,
}

fn ledger() -> Ledger {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let keys = dir.join("keys");
    assert_eq!(run(&["keygen", "-o", keys.to_str().unwrap()]).code, 0);
    let key = keys.join("dossier-signing.key");
    let mut zips: Vec<PathBuf> = Vec::new();
    for period in QUARTERS {
        let zip = quarter(
            &dir.join("dist"),
            &key,
            period,
            zips.last().map(PathBuf::as_path),
            "2026-10-02T08:00:00Z",
        );
        zips.push(zip);
    }
    Ledger {
        _tmp: tmp,
        public: keys.join("dossier-signing.pub"),
        dir,
        key,
        zips,
    }
}

fn chain(l: &Ledger, zips: &[&PathBuf]) -> Outcome {
    let mut args = vec!["verify", "--chain", "--pubkey", l.public.to_str().unwrap()];
    args.extend(zips.iter().map(|z| z.to_str().unwrap()));
    run(&args)
}

fn bag_info(zip: &Path) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let name = z
        .file_names()
        .find(|n| n.ends_with("/bag-info.txt"))
        .unwrap()
        .to_string();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut z.by_name(&name).unwrap(), &mut text).unwrap();
    text
}

#[test]
fn a_three_quarter_chain_verifies_and_each_break_is_named() {
    let l = ledger();
    let [q1, q2, q3] = [&l.zips[0], &l.zips[1], &l.zips[2]];
    let ok = chain(&l, &[q1, q2, q3]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("OK chain: 3 bundles, 2 link(s) hold"),
        "{}",
        ok.stdout
    );
    // The first quarter links to nothing; the others to the one before.
    assert!(!bag_info(q1).contains("Previous-Bundle"));
    let q2_id = q2.file_stem().unwrap().to_str().unwrap();
    assert!(bag_info(q3).contains(&format!("Previous-Bundle-Id: {q2_id}\n")));

    // Q2 replaced by another build of the same quarter (another time: other bytes).
    let other = quarter(
        &l.dir.join("other"),
        &l.key,
        QUARTERS[1],
        Some(q1),
        "2026-10-03T08:00:00Z",
    );
    let replaced = chain(&l, &[q1, &other, q3]);
    assert_eq!(replaced.code, 4, "{}", replaced.stdout);
    assert!(
        replaced.stdout.contains("was replaced or altered"),
        "{}",
        replaced.stdout
    );
    assert!(replaced.stdout.contains("FAIL link"), "{}", replaced.stdout);

    let reordered = chain(&l, &[q2, q1, q3]);
    assert_eq!(reordered.code, 4);
    assert!(
        reordered.stdout.contains("out of order"),
        "{}",
        reordered.stdout
    );

    let missing = chain(&l, &[q1, q3]);
    assert_eq!(missing.code, 4);
    assert!(
        missing
            .stdout
            .contains("which is not in the chain: a bundle is missing"),
        "{}",
        missing.stdout
    );

    // Several bundles without --chain is a usage error.
    let out = run(&["verify", q1.to_str().unwrap(), q2.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn an_auditor_checks_a_link_with_sha256sum_and_grep() {
    if !validator("sha256sum") {
        return;
    }
    let l = ledger();
    let out = std::process::Command::new("sha256sum")
        .arg(&l.zips[1])
        .output()
        .unwrap();
    let digest = String::from_utf8(out.stdout).unwrap();
    let digest = digest.split_whitespace().next().unwrap().to_string();
    let grep = std::process::Command::new("grep")
        .arg("Previous-Bundle-Sha256")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut grep.stdin.as_ref().unwrap(),
        bag_info(&l.zips[2]).as_bytes(),
    )
    .unwrap();
    let line = String::from_utf8(grep.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(line, format!("Previous-Bundle-Sha256: {digest}\n"));
    // The report's cover names the previous bundle and How to verify gives the two commands.
    if !validator("pdftotext") {
        return;
    }
    let pdf = l.zips[2].with_extension("pdf");
    let out = std::process::Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\u{200b}', "");
    assert!(text.contains("Previous bundle"), "{text}");
    assert!(text.contains(&digest), "{text}");
    assert!(
        text.contains("grep Previous-Bundle-Sha256 bag-info.txt"),
        "{text}"
    );
}
