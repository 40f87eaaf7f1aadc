//! Hostile inputs, built in each test as an attacker would: a poisoned MLflow store, symlinked
//! store files and loops, the signing key smuggled in as evidence or read by a template, special
//! files, a period without end, templates that never stop, oversized and compressed inputs, a
//! WAL-mode store, a full disk. Each must end in bounded time with a clear error or warning naming
//! the file — never a panic, never a byte from outside the evidence in the signed output, never a
//! write beside the user's files.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

/// Run the binary with `args` (and `env`), killing it after 30 s: a hang fails the test.
fn bounded(args: &[&str], env: &[(&str, &str)]) -> (Outcome, Duration) {
    let mut cmd = std_dossier();
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{args:?} still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let outcome = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    assert!(
        !outcome.stderr.contains("Os {"),
        "debug text: {}",
        outcome.stderr
    );
    (outcome, start.elapsed())
}

/// `dossier build -c cfg -o out_dir`, bounded like every run here.
fn build_into(cfg: &Path, out_dir: &Path, env: &[(&str, &str)]) -> (Outcome, Duration) {
    bounded(
        &[
            "build",
            "-c",
            cfg.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ],
        env,
    )
}

fn config(dir: &Path, sources: &str) -> PathBuf {
    let path = dir.join("dossier.yaml");
    std::fs::write(
        &path,
        format!(
            "organization: T\nreport: {{ period: {{ start: 2026-07-01, end: 2026-09-30 }} }}\n\
             sources:\n{sources}"
        ),
    )
    .unwrap();
    path
}

/// Every entry name and all bytes of every entry of a zip.
fn zip_contents(zip: &Path) -> (Vec<String>, Vec<u8>) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut names = Vec::new();
    let mut all = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        names.push(e.name().to_string());
        e.read_to_end(&mut all).unwrap();
    }
    (names, all)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_poisoned_artifact_uri_never_brings_etc_into_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    copy_dir(&fixture("mlflow/sqlite-2x"), &store);
    let db = store.join("mlflow.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        // Every run points at /etc, directly or by climbing out of the store with `..`.
        conn.execute("UPDATE runs SET artifact_uri = 'file:///etc'", [])
            .unwrap();
        let climb = format!("{}/mlruns/1/x/../../../../../../../../etc", store.display());
        conn.execute(
            "UPDATE runs SET artifact_uri = ?1 WHERE rowid = (SELECT min(rowid) FROM runs)",
            [climb],
        )
        .unwrap();
    }
    let cfg = config(
        tmp.path(),
        &format!("  mlflow:\n    - path: {}\n", db.display()),
    );
    let out_dir = tmp.path().join("dist");
    let (out, _) = build_into(&cfg, &out_dir, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("outside the store's folders and artifact_root"),
        "{}",
        out.stderr
    );
    let zip = PathBuf::from(out.stdout.lines().next().unwrap());
    let (names, bytes) = zip_contents(&zip);
    assert!(
        !names
            .iter()
            .any(|n| n.contains("passwd") || n.contains("shadow")),
        "{names:?}"
    );
    let passwd = std::fs::read("/etc/passwd").unwrap();
    let first_line = passwd.split(|&b| b == b'\n').next().unwrap();
    assert!(
        !contains(&bytes, first_line),
        "/etc/passwd is in the bundle"
    );
    // The cards could not be read, so no production model has one.
    let (kpis, _) = bounded(
        &["kpis", "-c", cfg.to_str().unwrap(), "--format", "json"],
        &[],
    );
    let doc = kpis.json();
    for m in doc["models"].as_array().unwrap() {
        assert_ne!(m["has_model_card"], true, "{}", m["name"]);
    }
}

#[test]
fn symlinks_in_a_file_store_are_refused_and_loops_end() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("mlruns");
    copy_dir(&fixture("mlflow/filestore-2x/mlruns"), &store);
    let secret = tmp.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-7731").unwrap();
    let tags = store.join("models/churn-predictor/tags");
    std::fs::create_dir_all(&tags).unwrap();
    let link = tags.join("owner");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let cfg = config(
        tmp.path(),
        &format!("  mlflow:\n    - path: {}\n", store.display()),
    );
    let (out, _) = bounded(&["kpis", "-c", cfg.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(out.stderr.contains("owner"), "{}", out.stderr);
    assert!(!out.stdout.contains("TOP-SECRET"));
    // A folder that links to itself: refused at once, not walked round.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(".", tags.join("loop")).unwrap();
    let (out, took) = bounded(&["kpis", "-c", cfg.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn the_signing_key_is_never_evidence_nor_template_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let keys = dir.join("keys");
    assert_eq!(run(&["keygen", "-o", keys.to_str().unwrap()]).code, 0);
    let key = keys.join("dossier-signing.key");
    std::fs::create_dir_all(dir.join("audits")).unwrap();
    std::fs::write(
        dir.join("audits/a.yaml"),
        "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\ncontrols:\n  - id: IR-01\n    score: 3\n    evidence: [keys/dossier-signing.key]\n",
    )
    .unwrap();
    let cfg = config(dir, "  audits: [audits/*.yaml]\n");
    let out_dir = tmp.path().join("out");
    let args = [
        "build",
        "-c",
        cfg.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    let (out, _) = bounded(&args, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("dossier-signing.key") && out.stderr.contains("private key"),
        "{}",
        out.stderr
    );
    let published: Vec<_> = std::fs::read_dir(&out_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(published.is_empty(), "nothing published: {published:?}");
    // A template beside a copy of the key cannot read it into the PDF.
    std::fs::write(
        dir.join("audits/a.yaml"),
        "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\n",
    )
    .unwrap();
    let tpl = dir.join("tpl");
    std::fs::create_dir_all(&tpl).unwrap();
    std::fs::copy(&key, tpl.join("k.pem")).unwrap();
    std::fs::write(tpl.join("report.typ"), "#read(\"k.pem\")\n").unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("report: {", "report: { template: tpl/report.typ,"),
    )
    .unwrap();
    let (out, _) = bounded(&args, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("private key"), "{}", out.stderr);
}

#[test]
fn special_files_are_refused_in_bounded_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for name in ["pipe.ndjson", "pipe.csv", "pipe.yaml"] {
        assert!(
            std::process::Command::new("mkfifo")
                .arg(dir.join(name))
                .status()
                .unwrap()
                .success()
        );
    }
    let fifo = dir.join("pipe.yaml");
    let cases = [
        ("  logs:\n    - path: pipe.ndjson\n", "log"),
        ("  exceptions: [pipe.csv]\n", "exceptions"),
        ("  audits: [pipe.yaml]\n", "audit"),
    ];
    for (sources, what) in cases {
        let cfg = config(dir, sources);
        let (out, took) = bounded(&["kpis", "-c", cfg.to_str().unwrap()], &[]);
        assert_eq!(out.code, 1, "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains("named pipe") && out.stderr.contains("pipe."),
            "{what}: {}",
            out.stderr
        );
        assert!(took < Duration::from_secs(10), "{what}: {took:?}");
    }
    // The config itself: a FIFO, a symlink to /dev/zero, a file far larger than any config.
    let (out, _) = bounded(&["kpis", "-c", fifo.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("named pipe"), "{}", out.stderr);
    let zero = dir.join("zero.yaml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let (out, _) = bounded(&["kpis", "-c", zero.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("device"), "{}", out.stderr);
    let big = dir.join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    let (out, _) = bounded(&["kpis", "-c", big.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("more than the 64 MiB"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_period_without_end_is_a_usage_error() {
    let c = repo().join("sample-evidence/dossier.yaml");
    let (out, took) = bounded(
        &[
            "kpis",
            "-c",
            c.to_str().unwrap(),
            "--period",
            "0001-01-01..9999-12-31",
        ],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("at most 3653 days"), "{}", out.stderr);
    assert!(took < Duration::from_secs(10));
}

#[test]
fn templates_that_never_stop_are_stopped_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("audits")).unwrap();
    std::fs::write(
        dir.join("audits/a.yaml"),
        "framework: incident-readiness-12\nsystem: s\nassessed_on: 2026-09-01\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("loop.typ"),
        "#let n = 0\n#for i in range(1000000000000) { n += i }\n",
    )
    .unwrap();
    let cfg = config(dir, "  audits: [audits/*.yaml]\n");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("report: {", "report: { template: loop.typ,"),
    )
    .unwrap();
    let out_dir = dir.join("out");
    let (out, took) = build_into(&cfg, &out_dir, &[("DOSSIER_TEMPLATE_SECONDS", "2")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Stopped by the clock or by memory, whichever comes first; either names the template.
    assert!(
        out.stderr.contains("loop.typ")
            && (out.stderr.contains("ran longer than 2 s")
                || out.stderr.contains("took more than 1024 MiB")),
        "{}",
        out.stderr
    );
    assert!(took < Duration::from_secs(15), "{took:?}");
    // The next build removes what the stopped one left, and says so.
    std::fs::write(&cfg, text).unwrap();
    let (out, _) = build_into(&cfg, &out_dir, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("left by an earlier dossier run"),
        "{}",
        out.stderr
    );
    let leftovers: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An answer template that loops runs out of fuel, naming its entry.
    let library = dir.join("answers.yaml");
    std::fs::write(
        &library,
        "answers:\n  - pattern: '.*'\n    answer: \"{% for a in range(10000) %}{% for b in range(10000) %}{{ a }}{% endfor %}{% endfor %}\"\n",
    )
    .unwrap();
    let q = dir.join("q.csv");
    std::fs::write(&q, "id,question\nQ1,Anything?\n").unwrap();
    let answered = dir.join("answered.csv");
    let (out, took) = bounded(
        &[
            "answer",
            q.to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
            "--library",
            library.to_str().unwrap(),
            "-o",
            answered.to_str().unwrap(),
        ],
        &[("DOSSIER_TEMPLATE_SECONDS", "10")],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("answers.yaml"), "{}", out.stderr);
    assert!(out.stderr.contains("fuel"), "{}", out.stderr);
    assert!(!answered.exists());
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn compressed_and_unsupported_log_files_are_errors_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // gzip magic and a deflate stream, as `gzip` writes them, under a .json name.
    let gz = dir.join("logs.json");
    let mut enc = Vec::new();
    {
        use std::io::Write;
        let mut z = std::process::Command::new("gzip")
            .arg("-c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        z.stdin
            .take()
            .unwrap()
            .write_all(b"{\"timestamp\":\"2026-09-01T00:00:00Z\",\"model\":\"m\"}\n")
            .unwrap();
        z.stdout.take().unwrap().read_to_end(&mut enc).unwrap();
        z.wait().unwrap();
    }
    std::fs::write(&gz, enc).unwrap();
    let cfg = config(dir, "  logs:\n    - path: logs.json\n");
    let (out, _) = bounded(&["kpis", "-c", cfg.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("logs.json") && out.stderr.contains("gzip-compressed"),
        "{}",
        out.stderr
    );
    // A Parquet DECIMAL column is read as numbers now (tests/it/exports.rs).
}

/// Every file below `dir` with its bytes' SHA-256, sorted.
fn tree_hashes(dir: &Path) -> Vec<(String, String)> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(tree_hashes(&p));
        } else {
            let h = Sha256::digest(std::fs::read(&p).unwrap());
            out.push((p.display().to_string(), format!("{h:x}")));
        }
    }
    out.sort();
    out
}

#[test]
fn a_wal_mode_store_is_read_without_writing_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    copy_dir(&fixture("mlflow/sqlite-2x"), &store);
    let db = store.join("mlflow.db");
    // A tracking server mid-write: WAL mode, a tag in the log not yet checkpointed, -wal and -shm
    // beside the database, the connection still open while dossier reads.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    let changed = conn
        .execute(
            "UPDATE registered_model_tags SET value = 'high' \
             WHERE name = 'pricing-optimizer' AND key = 'risk_tier'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1, "the fixture tags pricing-optimizer low");
    assert!(store.join("mlflow.db-wal").exists());
    let before = tree_hashes(&store);
    let cfg = config(
        tmp.path(),
        &format!("  mlflow:\n    - path: {}\n", db.display()),
    );
    let (out, _) = bounded(
        &["kpis", "-c", cfg.to_str().unwrap(), "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        tree_hashes(&store),
        before,
        "the store's folder is untouched"
    );
    // What was only in the write-ahead log was read.
    let doc = out.json();
    let pricing = doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "pricing-optimizer")
        .unwrap();
    assert_eq!(pricing["risk_tier"], "high");
    drop(conn);
}

#[test]
fn a_full_disk_publishes_nothing_and_says_so_in_a_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("dist");
    let bin = assert_cmd::cargo::cargo_bin!("dossier");
    let sample = repo().join("sample-evidence/dossier.yaml");
    // SIGXFSZ ignored, so a write past `ulimit -f` fails with EFBIG. bash counts KiB: 350 KiB is
    // more than the largest sample input (275 KiB) and its report (~283 KiB), less than the
    // bundle (~433 KiB), so the disk fills while the bundle is written.
    let script = format!(
        "trap '' XFSZ; ulimit -f 350; exec {} build --unsigned -c {} -o {}",
        bin.display(),
        sample.display(),
        out_dir.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("DOSSIER_SIGNING_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: ") || stderr.contains("\nerror: "),
        "{stderr}"
    );
    assert!(
        !stderr.contains("ZipWriter") && !stderr.contains("Os {"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&out_dir.display().to_string()),
        "names the path: {stderr}"
    );
    let left: Vec<String> = std::fs::read_dir(&out_dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing published, nothing left: {left:?}");
}

#[test]
fn a_log_line_without_end_is_refused_not_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut text = b"{\"timestamp\":\"2026-09-01T00:00:00Z\",\"model\":\"m\"}\n".to_vec();
    text.extend(std::iter::repeat_n(b'x', (64 << 20) + 4096));
    std::fs::write(dir.join("endless.ndjson"), text).unwrap();
    let cfg = config(dir, "  logs:\n    - path: endless.ndjson\n");
    let (out, took) = bounded(&["kpis", "-c", cfg.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("endless.ndjson") && out.stderr.contains("longer than 64 MiB"),
        "{}",
        out.stderr
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}
