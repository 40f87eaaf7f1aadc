//! Progress on long work (issue 23): bars on stderr under a pseudo-terminal (`script`), none on
//! a pipe or with --quiet, colour gone with NO_COLOR, and not one output byte changed by them.

use std::path::Path;

use crate::common::*;

/// `dossier build` of the sample into `out` under a pseudo-terminal (`script`), with `extra`
/// flags; what the terminal showed.
fn build_on_a_terminal(out: &Path, extra: &str) -> String {
    let typescript = out.with_extension("typescript");
    let bin = assert_cmd::cargo::cargo_bin!("dossier");
    let line = format!(
        "{} build -c {} -o {} --unsigned --timestamp 2026-10-02T08:00:00Z {extra}",
        bin.display(),
        repo().join("sample-evidence/dossier.yaml").display(),
        out.display()
    );
    let status = std::process::Command::new("script")
        .args(["-qec", &line])
        .arg(&typescript)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("DOSSIER_SIGNING_KEY")
        // Colour goes with NO_COLOR; progress stays.
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned()
}

#[test]
fn progress_shows_on_a_terminal_never_on_a_pipe_and_changes_no_byte() {
    if !validator("script") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let shown = build_on_a_terminal(&tmp.path().join("tty"), "");
    for bar in ["reading logs", "hashing and zipping"] {
        assert!(shown.contains(bar), "{bar} not shown:\n{shown}");
    }
    assert!(
        !shown.contains("\x1b[1;33m"),
        "coloured despite NO_COLOR:\n{shown}"
    );
    let quiet = build_on_a_terminal(&tmp.path().join("quiet"), "--quiet");
    assert!(!quiet.contains("hashing and zipping"), "{quiet}");
    // On a pipe: no progress, and the same bytes as under the terminal.
    let piped = dossier()
        .args(["build", "-c"])
        .arg(repo().join("sample-evidence/dossier.yaml"))
        .arg("-o")
        .arg(tmp.path().join("pipe"))
        .args(["--timestamp", "2026-10-02T08:00:00Z"])
        .output()
        .unwrap();
    assert!(piped.status.success());
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("reading logs") && !stderr.contains("hashing"),
        "{stderr}"
    );
    for dir in ["tty", "quiet"] {
        for ext in ["zip", "pdf"] {
            let name = format!("dossier-acme-lending-2026-07-01_2026-09-30.{ext}");
            assert_eq!(
                std::fs::read(tmp.path().join(dir).join(&name)).unwrap(),
                std::fs::read(tmp.path().join("pipe").join(&name)).unwrap(),
                "{dir}/{name}"
            );
        }
    }
}
