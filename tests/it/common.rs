//! Helpers shared by the integration tests: run the real binary, copy fixtures into a scratch
//! folder (tests never write into fixtures/), and write a config pointing at them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

pub fn dossier() -> Command {
    let mut cmd = Command::cargo_bin("dossier").expect("binary built by cargo test");
    // Builds without --key are unsigned on purpose here (DOSSIER_UNSIGNED is --unsigned); the
    // test of the refusal removes it.
    cmd.env_remove("DOSSIER_SIGNING_KEY")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("DOSSIER_UNSIGNED", "true")
        .env("NO_COLOR", "1");
    cmd
}

/// The real binary as a `std::process::Command`, for tests that set stdout or spawn it.
pub fn std_dossier() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("dossier"));
    cmd.env_remove("DOSSIER_SIGNING_KEY")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("DOSSIER_UNSIGNED", "true")
        .env("NO_COLOR", "1");
    cmd
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A config in `dir` with one MLflow source (and optional extra YAML under `sources.mlflow[0]`).
pub fn mlflow_config(dir: &Path, store: &Path, extra: &str) -> PathBuf {
    let path = dir.join("dossier.yaml");
    let text = format!(
        "organization: Test Org\nreport:\n  period: {{ start: 2026-07-01, end: 2026-09-30 }}\n\
         sources:\n  mlflow:\n    - path: {}\n{extra}",
        store.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn run(args: &[&str]) -> Outcome {
    let out = dossier().args(args).output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn kpis_json(config: &Path) -> Outcome {
    run(&["kpis", "-c", config.to_str().unwrap(), "--format", "json"])
}

/// `dossier build` of the sample (run from the repository root) into `out`, with `extra` flags;
/// the path of the zip it prints first.
pub fn build_sample_zip(out: &Path, extra: &[&str]) -> PathBuf {
    let done = dossier()
        .current_dir(repo())
        .args(["build", "-c", "sample-evidence/dossier.yaml", "-o"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let stdout = String::from_utf8(done.stdout).unwrap();
    PathBuf::from(stdout.lines().next().unwrap_or_default())
}

/// Whether the external validator `tool` is on PATH. A missing validator fails the test that needs
/// it, so a check can never pass by not running; `DOSSIER_TEST_SKIP_VALIDATORS=1` is the explicit
/// opt-out for a machine without them (`.ci/run` installs every one and never sets it).
pub fn validator(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    assert!(
        std::env::var_os("DOSSIER_TEST_SKIP_VALIDATORS").is_some_and(|v| v == "1"),
        "{tool} is not installed; install it (see .ci/run) or set DOSSIER_TEST_SKIP_VALIDATORS=1"
    );
    eprintln!("skipped (DOSSIER_TEST_SKIP_VALIDATORS=1): {tool} is not installed");
    false
}

/// `dossier build -q -c CONFIG -o DIR/dist EXTRA…`, which must succeed, unzipped into
/// `DIR/unpacked`: the bag's folder and the zip.
pub fn build_unzipped(config: &Path, dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let mut args = vec!["build", "-q", "-c", config.to_str().unwrap(), "-o"];
    let out_dir = dir.join("dist");
    args.push(out_dir.to_str().unwrap());
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let zip = PathBuf::from(out.stdout.lines().next().unwrap_or_default());
    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    z.extract(dir.join("unpacked")).unwrap();
    (dir.join("unpacked").join(zip.file_stem().unwrap()), zip)
}

/// Run `cmd`, which must succeed; its output. A failure shows what it printed.
pub fn succeed(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
