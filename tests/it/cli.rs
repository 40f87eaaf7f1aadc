//! The command line of SPEC §1: help, exit codes, error format, and the subcommands that are not
//! there yet saying so instead of pretending.

use crate::common::*;

#[test]
fn help_for_every_subcommand() {
    let out = run(&["--help"]);
    assert_eq!(out.code, 0);
    for sub in ["build", "kpis", "verify", "keygen", "init", "answer"] {
        assert!(out.stdout.contains(sub), "{sub} missing from --help");
        let out = run(&[sub, "--help"]);
        assert_eq!(out.code, 0, "{sub} --help: {}", out.stderr);
        assert!(
            out.stdout.contains("Usage: dossier"),
            "{sub}: {}",
            out.stdout
        );
    }
    let out = run(&["kpis", "--help"]);
    for flag in [
        "--as-of",
        "--period",
        "--system",
        "--request-id",
        "--baseline",
        "--strict",
        "--format",
        "--check",
    ] {
        assert!(out.stdout.contains(flag), "kpis --help lacks {flag}");
    }
}

#[test]
fn answer_without_a_config_exits_1_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("q.csv"), "id,question\nQ-1,Why?\n").unwrap();
    let out = dossier()
        .current_dir(tmp.path())
        .args(["answer", "q.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("dossier.yaml"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing written beside the questionnaire"
    );
}

#[test]
fn usage_errors_exit_2() {
    let config = repo().join("sample-evidence/dossier.yaml");
    let c = config.to_str().unwrap();
    for args in [
        vec!["kpis", "--frobnicate"],
        vec!["kpis", "-c", c, "--format", "xml"],
        vec!["kpis", "-c", c, "--period", "2026-09-30..2026-07-01"],
        vec!["kpis", "-c", c, "--as-of", "yesterday"],
        vec!["build", "-c", c, "--timestamp", "yesterday"],
        vec!["kpis", "-c", c, "--as-of", "2026-06-30"],
        vec!["no-such-command"],
    ] {
        let out = run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    // clap names the flag and the value; the reason is dossier's.
    let out = run(&["kpis", "-c", c, "--period", "2026-09-30..2026-07-01"]);
    assert!(
        out.stderr.contains("--period")
            && out
                .stderr
                .contains("ends (2026-07-01) before it starts (2026-09-30)"),
        "{}",
        out.stderr
    );
    // SOURCE_DATE_EPOCH is parsed before anything is read, like a flag.
    let out = dossier()
        .args(["kpis", "-c", c])
        .env("SOURCE_DATE_EPOCH", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SOURCE_DATE_EPOCH") || stderr.contains("source-date-epoch"),
        "{stderr}"
    );
    assert!(stderr.contains("is not a number of seconds"), "{stderr}");
}

#[test]
fn a_full_stdout_is_an_error_and_a_closed_one_ends_quietly() {
    let c = repo().join("sample-evidence/dossier.yaml");
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("dist");
    let commands: Vec<Vec<String>> = vec![
        vec!["kpis".into(), "-c".into(), c.display().to_string()],
        vec![
            "kpis".into(),
            "-c".into(),
            c.display().to_string(),
            "--format".into(),
            "json".into(),
        ],
        vec![
            "build".into(),
            "-c".into(),
            c.display().to_string(),
            "-o".into(),
            out_dir.display().to_string(),
            "--force".into(),
        ],
    ];
    for args in &commands {
        // `> /dev/full`: every write fails with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std_dossier().args(args).stdout(full).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write results to stdout"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        // `| head -0`: the reader is gone before the first write.
        let mut child = std_dossier()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let done = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error:"),
            "{stderr}"
        );
    }
}

#[test]
fn quiet_silences_everything_but_errors() {
    let c = repo().join("sample-evidence/dossier.yaml");
    let c = c.to_str().unwrap();
    // The sample misses targets: --check exits 3 and names them, unless --quiet.
    let loud = run(&["kpis", "-c", c, "--check"]);
    assert_eq!(loud.code, 3, "{}", loud.stderr);
    assert!(loud.stderr.contains("missed:"), "{}", loud.stderr);
    let quiet = run(&["--quiet", "kpis", "-c", c, "--check"]);
    assert_eq!(quiet.code, 3);
    assert_eq!(quiet.stderr, "", "nothing but errors on stderr");
    assert_eq!(quiet.stdout, loud.stdout, "results are the same");
    let failed = run(&["--quiet", "kpis", "-c", "/no/such/dossier.yaml"]);
    assert_eq!(failed.code, 1);
    assert!(failed.stderr.starts_with("error: "), "{}", failed.stderr);
}

#[test]
fn period_and_as_of_overrides_reach_the_output() {
    let config = repo().join("sample-evidence/dossier.yaml");
    let out = run(&[
        "kpis",
        "-c",
        config.to_str().unwrap(),
        "--format",
        "json",
        "--period",
        "2026-01-01..2026-03-31",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["period"]["start"], "2026-01-01");
    // The config's explicit as_of (2026-10-01) stands; only --as-of overrides it.
    assert_eq!(doc["as_of"], "2026-10-01");
    let out = run(&[
        "kpis",
        "-c",
        config.to_str().unwrap(),
        "--format",
        "json",
        "--as-of",
        "2026-12-31",
    ]);
    assert_eq!(out.json()["as_of"], "2026-12-31");
}

#[test]
fn missing_config_file() {
    let out = run(&["kpis", "-c", "/nonexistent/dossier.yaml"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("error: cannot read config /nonexistent/dossier.yaml: No such file"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"));
}

#[test]
fn config_errors_name_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let store = fixture("mlflow/sqlite-3x/mlflow.db");
    let config = mlflow_config(
        tmp.path(),
        &store,
        "policy:\n  production_aliasses: [prod]\n",
    );
    let out = kpis_json(&config);
    assert_eq!(out.code, 1);
    let want = format!(
        "error: {}:8:3 (at `policy.production_aliasses`): unknown field `production_aliasses`",
        config.display()
    );
    assert!(out.stderr.starts_with(&want), "{}", out.stderr);

    let config = mlflow_config(tmp.path(), &store, "policy: [not, a, map\n");
    let out = kpis_json(&config);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("dossier.yaml:"), "{}", out.stderr);

    std::fs::write(&config, "organization: X\nreport:\n  period: { start: 2026-07-01, end: 2026-02-30 }\nsources: { audits: [a.yaml] }\n").unwrap();
    let out = kpis_json(&config);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("(at `report.period.end`): `2026-02-30` is not a date"),
        "{}",
        out.stderr
    );
}

#[test]
fn init_scaffolds_files_kpis_accepts_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new");
    let out = run(&["init", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 4, "{}", out.stdout);
    let config = dir.join("dossier.yaml");
    let out = run(&["kpis", "-c", config.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert!(
        doc["warnings"].as_array().unwrap().is_empty(),
        "{}",
        doc["warnings"]
    );
    let systems: Vec<&str> = doc["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["example-assistant", "example-vendor"]);
    // IR-03 passes, IR-01 fails; VA-01 passes, VA-10 fails: 2 of 4.
    assert_eq!(doc["portfolio"]["control_pass_rate"]["value"], 0.5);
    assert_eq!(doc["exceptions"].as_array().unwrap().len(), 2);
    // The scaffold's layout builds into dist/ beside the config (its register sits there too),
    // but not into the config's folder itself.
    let out = run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        dir.join("dist").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("lies inside the source folder"),
        "{}",
        out.stderr
    );

    std::fs::write(&config, "edited").unwrap();
    let out = run(&["init", dir.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("dossier.yaml exists already"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "edited");
    // --force replaces the scaffold's own files and nothing else (issue 21).
    let own = dir.join("notes.txt");
    std::fs::write(&own, "mine").unwrap();
    let out = run(&["init", dir.to_str().unwrap(), "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("organization:")
    );
    assert_eq!(std::fs::read_to_string(&own).unwrap(), "mine");
}

#[test]
fn top_level_help_shows_the_workflow_and_each_command_an_example() {
    let out = run(&["--help"]);
    let order = [
        "dossier init",
        "dossier kpis",
        "dossier keygen",
        "dossier build",
        "dossier verify",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|step| {
            out.stdout
                .find(step)
                .unwrap_or_else(|| panic!("{step}:\n{}", out.stdout))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    for sub in [
        "build", "kpis", "verify", "keygen", "init", "answer", "export",
    ] {
        let out = run(&[sub, "--help"]);
        assert!(
            out.stdout.contains(&format!("dossier {sub} ")),
            "{sub}: {}",
            out.stdout
        );
    }
    let kpis = run(&["kpis", "--help"]).stdout;
    assert!(kpis.contains("KPI document (.json"), "{kpis}");
    // The config reference comes with the binary and is docs/config.md, byte for byte.
    let tmp = tempfile::tempdir().unwrap();
    let out = dossier()
        .current_dir(tmp.path())
        .args(["init", "--reference"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = std::fs::read_to_string(repo().join("docs/config.md")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), page);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn a_wrong_key_file_says_what_a_key_is_and_how_to_make_one() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let out = run(&["keygen", "-o", keys.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let public = keys.join("dossier-signing.pub");
    let garbage = tmp.path().join("garbage.key");
    std::fs::write(&garbage, b"\0\x01 not a key").unwrap();
    for (file, says) in [
        (&public, "is a public key"),
        (&garbage, "is not a PEM file"),
    ] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = run(&[
            "build",
            "-q",
            "-c",
            repo()
                .join("sample-evidence/dossier.yaml")
                .to_str()
                .unwrap(),
            "-o",
            tmp.path().join("dist").to_str().unwrap(),
            "--key",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
        assert!(out.stderr.contains("dossier keygen"), "{}", out.stderr);
        assert!(
            out.stderr.contains("openssl genpkey -algorithm ed25519"),
            "{}",
            out.stderr
        );
        assert!(!tmp.path().join("dist").exists(), "nothing written");
    }
}

#[test]
fn a_log_glob_matching_nothing_is_warned_and_counts_as_no_records() {
    let tmp = tempfile::tempdir().unwrap();
    let store = fixture("mlflow/sqlite-3x/mlflow.db");
    let config = mlflow_config(
        tmp.path(),
        &store,
        "  logs:\n    - path: logs/*.json\n      format: splunk\n",
    );
    let out = kpis_json(&config);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("logs/*.json"), "{}", out.stderr);
    // Logs were expected and none were found: every production model logged nothing.
    let doc = out.json();
    let health = &doc["portfolio"]["logging_health"];
    assert_eq!(
        (health["value"].as_f64(), health["denominator"].as_u64()),
        (Some(0.0), Some(5))
    );
    assert!(
        doc["models"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["in_production"] == true)
            .all(|m| m["requests"] == 0)
    );
}

#[test]
fn without_log_sources_the_log_kpis_are_na_not_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let config = mlflow_config(tmp.path(), &fixture("mlflow/sqlite-3x/mlflow.db"), "");
    let doc = kpis_json(&config).json();
    assert!(doc["portfolio"]["logging_health"]["value"].is_null());
    assert!(doc["portfolio"]["rejected_log_records_count"]["value"].is_null());
    assert!(
        doc["models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["requests"].is_null() && m["logging_coverage"].is_null())
    );
}
