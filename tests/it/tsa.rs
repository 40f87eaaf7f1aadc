//! Trusted time (RFC 3161) on the real binary, against a real time-stamp authority: `openssl ts
//! -reply` behind a small HTTP handler on 127.0.0.1, with a throwaway root made at test time. A
//! stamped bundle passes stock `openssl ts -verify` and `dossier verify --tsa-ca`; a token for
//! another signature, a token from another TSA, a missing token under `--tsa-ca`, a Bagging-Date
//! after genTime, and an unreachable or failing TSA are each caught.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A TSA on loopback: its root certificate, and the URL it answers on.
struct Tsa {
    root: PathBuf,
    url: String,
}

/// `key`: `ec` (P-256) or `rsa`. `status`: the HTTP status every answer gets (200: a real reply).
fn start_tsa(dir: &Path, key: &str, status: u16) -> Tsa {
    let made = Command::new("sh")
        .arg(repo().join("fixtures/tsa/make-tsa.sh"))
        .arg(dir)
        .arg(key)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    let home = dir.to_path_buf();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            answer(&home, n, stream, status);
        }
    });
    Tsa {
        root: dir.join("ca.pem"),
        url,
    }
}

/// One HTTP exchange: read the POSTed query, let `openssl ts -reply` answer it.
fn answer(dir: &Path, n: usize, stream: std::net::TcpStream, status: u16) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).unwrap();
    }
    let (query, reply) = (dir.join(format!("q{n}.der")), dir.join(format!("r{n}.tsr")));
    std::fs::write(&query, &body).unwrap();
    let bytes = if status == 200 {
        let out = Command::new("openssl")
            .args(["ts", "-reply", "-config"])
            .arg(dir.join("tsa.cnf"))
            .arg("-queryfile")
            .arg(&query)
            .arg("-out")
            .arg(&reply)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(&reply).unwrap()
    } else {
        b"no".to_vec()
    };
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        bytes.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&bytes);
}

/// The sample, signed with a new key, its config given `tsa` (YAML), built at `time` into
/// `dir/dist`; the build's outcome and the keys' folder.
fn build_stamped(dir: &Path, tsa: &str, time: &str) -> (Outcome, PathBuf) {
    let sample = dir.join("sample");
    copy_dir(&repo().join("sample-evidence"), &sample);
    let keys = dir.join("keys");
    assert_eq!(run(&["keygen", "-q", "-o", keys.to_str().unwrap()]).code, 0);
    let config = sample.join("dossier.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let signing = format!(
        "signing:\n  key: {}\n{tsa}",
        keys.join("dossier-signing.key").display()
    );
    std::fs::write(&config, format!("{text}{signing}")).unwrap();
    let out = run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        dir.join("dist").to_str().unwrap(),
        "--timestamp",
        time,
    ]);
    (out, keys)
}

fn zip_of(out: &Outcome) -> PathBuf {
    assert_eq!(out.code, 0, "{}", out.stderr);
    PathBuf::from(out.stdout.lines().next().unwrap())
}

fn unzip(zip: &Path, into: &Path) -> PathBuf {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    z.extract(into).unwrap();
    into.join(zip.file_stem().unwrap())
}

fn verify(zip: &Path, extra: &[&str]) -> Outcome {
    let mut args = vec!["verify", zip.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

/// A copy of `zip` with entry `name` (inside the bag) replaced by `bytes`, or dropped (`None`).
fn with_entry(zip: &Path, name: &str, bytes: Option<&[u8]>, to: &Path) -> PathBuf {
    let mut from = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let root = zip.file_stem().unwrap().to_str().unwrap().to_string();
    let target = format!("{root}/{name}");
    for i in 0..from.len() {
        let mut entry = from.by_index(i).unwrap();
        let entry_name = entry.name().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let data = if entry_name == target {
            match bytes {
                Some(b) => b.to_vec(),
                None => continue,
            }
        } else {
            data
        };
        out.start_file(entry_name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    out.finish().unwrap();
    to.to_path_buf()
}

/// `out` ended with `code` and said `text` (verify on stdout, build on stderr).
fn fails_with(out: &Outcome, code: i32, text: &str) {
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, code, "{said}");
    assert!(said.contains(text), "{said}");
}

const TSR: &str = "signature/tagmanifest-sha256.txt.sig.tsr";

#[test]
fn a_stamped_bundle_passes_openssl_ts_verify_and_dossier_verify() {
    if !validator("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tsa = start_tsa(&tmp.path().join("tsa"), "ec", 200);
    let yaml = format!(
        "  tsa: {{ url: \"{}\", ca: {} }}\n",
        tsa.url,
        tsa.root.display()
    );
    // A build time after every input's mtime and before the TSA's clock (now) reads.
    let (out, _) = build_stamped(
        tmp.path(),
        &yaml,
        &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    assert!(out.stderr.contains("time-stamped by"), "{}", out.stderr);
    let zip = zip_of(&out);
    let bag = unzip(&zip, &tmp.path().join("unpacked"));
    // The auditor's command (README, report's "How to verify"), run in the bag.
    openssl(
        &bag,
        &[
            "ts",
            "-verify",
            "-data",
            "signature/tagmanifest-sha256.txt.sig",
            "-in",
            TSR,
            "-CAfile",
            tsa.root.to_str().unwrap(),
            "-untrusted",
            "signature/tsa-chain.pem",
        ],
    );
    // The two signature files the stamp adds keep the bag valid for bagit-python.
    if validator("bagit.py") {
        let out = Command::new("bagit.py")
            .arg("--validate")
            .arg(&bag)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The report tells the auditor how to check it.
    if validator("pdftotext") {
        let text = Command::new("pdftotext")
            .arg(bag.join("data/report/report.pdf"))
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout).replace('\n', " ");
        assert!(text.contains(&tsa.url), "{text}");
        assert!(
            text.contains("-untrusted signature/tsa-chain.pem"),
            "{text}"
        );
    }
    let pinned = verify(&zip, &["--tsa-ca", tsa.root.to_str().unwrap(), "--json"]);
    assert_eq!(pinned.code, 0, "{}\n{}", pinned.stdout, pinned.stderr);
    let report = pinned.json();
    assert_eq!(report["time_stamp_pinned"], true);
    let gen_time = report["time_stamp"].as_str().unwrap();
    assert!(
        gen_time.starts_with(&chrono::Utc::now().format("%Y-%m-%d").to_string()),
        "{gen_time}"
    );
    let unpinned = verify(&zip, &[]);
    fails_with(&unpinned, 0, "unpinned");
    assert!(
        unpinned.stderr.contains("pass --tsa-ca"),
        "{}",
        unpinned.stderr
    );

    // A token from another TSA does not chain to this root.
    let other = start_tsa(&tmp.path().join("other"), "rsa", 200);
    let again = verify(&zip, &["--tsa-ca", other.root.to_str().unwrap()]);
    fails_with(&again, 4, "does not verify against --tsa-ca");

    // Another bundle's token (another signature) in this bundle.
    let second = tempfile::tempdir().unwrap();
    let yaml2 = format!("  tsa: {{ url: \"{}\" }}\n", other.url);
    let (out2, _) = build_stamped(
        second.path(),
        &yaml2,
        &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    let zip2 = zip_of(&out2);
    assert!(
        out2.stderr.contains("signing.tsa.ca not set"),
        "{}",
        out2.stderr
    );
    // The RSA TSA's own token verifies against its root.
    assert_eq!(
        verify(&zip2, &["--tsa-ca", other.root.to_str().unwrap()]).code,
        0
    );
    let foreign = std::fs::read(unzip(&zip2, &second.path().join("u")).join(TSR)).unwrap();
    let swapped = with_entry(&zip, TSR, Some(&foreign), &tmp.path().join("swapped.zip"));
    let caught = verify(&swapped, &[]);
    fails_with(
        &caught,
        4,
        "does not stamp signature/tagmanifest-sha256.txt.sig",
    );

    // No token, but --tsa-ca: caught.
    let dropped = with_entry(&zip, TSR, None, &tmp.path().join("dropped.zip"));
    let missing = verify(&dropped, &["--tsa-ca", tsa.root.to_str().unwrap()]);
    fails_with(
        &missing,
        4,
        "--tsa-ca was given, but the bundle has no time-stamp token",
    );
}

#[test]
fn a_bagging_date_after_the_time_stamp_is_flagged() {
    if !validator("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tsa = start_tsa(&tmp.path().join("tsa"), "ec", 200);
    let yaml = format!("  tsa: {{ url: \"{}\" }}\n", tsa.url);
    let (out, _) = build_stamped(tmp.path(), &yaml, "2099-01-01T00:00:00Z");
    let zip = zip_of(&out);
    let v = verify(&zip, &["--tsa-ca", tsa.root.to_str().unwrap()]);
    fails_with(
        &v,
        4,
        "Bagging-Date 2099-01-01 is later than the time-stamp's genTime",
    );
}

#[test]
fn an_unreachable_or_failing_tsa_fails_the_build_and_writes_nothing() {
    if !validator("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens there.
    let (out, _) = build_stamped(
        tmp.path(),
        "  tsa: { url: \"http://127.0.0.1:9/\" }\n",
        "2026-10-02T08:00:00Z",
    );
    fails_with(&out, 1, "time-stamp authority http://127.0.0.1:9/");
    assert!(out.stdout.is_empty());
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("dist"))
        .map(|d| d.count())
        .into_iter()
        .collect();
    assert!(left.is_empty() || left == [0], "{left:?}");

    let failing = start_tsa(&tmp.path().join("tsa"), "ec", 500);
    let other = tmp.path().join("second");
    let (out, _) = build_stamped(
        &other,
        &format!("  tsa: {{ url: \"{}\" }}\n", failing.url),
        "2026-10-02T08:00:00Z",
    );
    fails_with(&out, 1, "answered HTTP 500");
    assert_eq!(
        std::fs::read_dir(other.join("dist"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );

    // --no-tsa builds without asking; an https URL is a config error.
    let third = tmp.path().join("third");
    let (out, _) = build_stamped(
        &third,
        "  tsa: { url: \"https://tsa.invalid/\" }\n",
        "2026-10-02T08:00:00Z",
    );
    fails_with(&out, 1, "signing.tsa.url");
}
