//! A run's `artifact_uri` in, the local folder holding its artifacts out (SPEC §3.1). The URI
//! usually names a path on the machine that logged the run; when that path is not here, the
//! `<experiment_id>/<run_id>/artifacts` (or `<run_id>/artifacts`) tail of the URI is looked for
//! under each search root in turn. Nothing is guessed beyond that: no folder, no artifacts. A
//! folder found either way is used only if it really lies inside a search root (`confine`).

use std::path::{Path, PathBuf};

use super::Run;

/// How deep below an artifact root a model card is looked for. Cards are logged at the root or in
/// a `docs/`-like folder; model binaries deeper down need not be walked.
const MAX_DEPTH: usize = 3;

pub fn resolve(run: &Run, roots: &[PathBuf]) -> Option<PathBuf> {
    let uri = run.artifact_uri.as_deref()?;
    let path = local_path(uri);
    if let Some(p) = path.filter(|p| p.is_absolute() && p.is_dir()) {
        return Some(p);
    }
    let tails = tails(uri, &run.run_id);
    roots
        .iter()
        .flat_map(|root| tails.iter().map(move |tail| root.join(tail)))
        .find(|candidate| candidate.is_dir())
}

/// `dir`, if what it really is (symlinks resolved) lies inside one of `roots`; else `None`.
pub fn confine(dir: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    let real = std::fs::canonicalize(dir).ok()?;
    roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|root| real.starts_with(root))
        .then(|| dir.to_path_buf())
}

/// The filesystem path a `file:` URI or a bare path names; `None` for remote schemes.
fn local_path(uri: &str) -> Option<PathBuf> {
    if let Some(rest) = uri.strip_prefix("file://") {
        // file:///abs/path or file://localhost/abs/path
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        return Some(PathBuf::from(rest));
    }
    if let Some(rest) = uri.strip_prefix("file:") {
        return Some(PathBuf::from(rest));
    }
    if uri.contains("://") || uri.starts_with("mlflow-artifacts:") {
        return None;
    }
    Some(PathBuf::from(uri))
}

/// `…/<exp>/<run>/artifacts[/…]` → [`<exp>/<run>/artifacts…`, `<run>/artifacts…`].
fn tails(uri: &str, run_id: &str) -> Vec<PathBuf> {
    let segments: Vec<&str> = uri.split('/').filter(|s| !s.is_empty()).collect();
    let Some(i) = segments.iter().rposition(|s| *s == run_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if i > 0 && !segments[i - 1].contains(':') {
        out.push(segments[i - 1..].iter().collect());
    }
    out.push(segments[i..].iter().collect());
    out
}

/// The first file (in sorted walk order) whose name is one of `names`, at most `MAX_DEPTH` folders
/// below `dir`. Names are compared exactly: `model_card.md` and `MODEL_CARD.md` are listed apart.
pub fn find_named_file(dir: &Path, names: &[String]) -> Option<PathBuf> {
    find_in(dir, names, 0)
}

fn find_in(dir: &Path, names: &[String], depth: usize) -> Option<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let mut subdirs = Vec::new();
    for entry in entries {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_file() && names.iter().any(|n| entry.file_name() == n.as_str()) {
            return Some(entry.path());
        }
        if kind.is_dir() {
            subdirs.push(entry.path());
        }
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    subdirs.iter().find_map(|d| find_in(d, names, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_of_common_uris() {
        let run = "abc123";
        assert_eq!(
            tails("file:///old/box/mlruns/7/abc123/artifacts", run),
            [
                PathBuf::from("7/abc123/artifacts"),
                PathBuf::from("abc123/artifacts")
            ]
        );
        assert_eq!(
            tails("mlflow-artifacts:/7/abc123/artifacts", run),
            [
                PathBuf::from("7/abc123/artifacts"),
                PathBuf::from("abc123/artifacts")
            ]
        );
        assert_eq!(
            tails("s3://bucket/abc123/artifacts", run),
            [
                PathBuf::from("bucket/abc123/artifacts"),
                PathBuf::from("abc123/artifacts")
            ]
        );
        assert!(tails("s3://bucket/other/artifacts", run).is_empty());
    }

    #[test]
    fn local_paths() {
        assert_eq!(local_path("file:///a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(local_path("file:/a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(local_path("/a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(local_path("s3://bucket/a"), None);
        assert_eq!(local_path("mlflow-artifacts:/1/x"), None);
    }

    #[test]
    fn remaps_under_a_root_and_finds_cards_by_exact_name() {
        let tmp = tempfile::tempdir().unwrap();
        let arts = tmp.path().join("store/mlruns/3/r1/artifacts");
        std::fs::create_dir_all(arts.join("docs")).unwrap();
        std::fs::write(arts.join("docs/MODEL_CARD.md"), "card").unwrap();
        let run = Run {
            run_id: "r1".into(),
            artifact_uri: Some("file:///gone/mlruns/3/r1/artifacts".into()),
            ..Default::default()
        };
        let roots = [
            tmp.path().join("elsewhere"),
            tmp.path().join("store/mlruns"),
        ];
        assert_eq!(resolve(&run, &roots), Some(arts.clone()));
        let names = ["model_card.md".to_string()];
        assert_eq!(find_named_file(&arts, &names), None);
        let names = ["model_card.md".to_string(), "MODEL_CARD.md".to_string()];
        assert_eq!(
            find_named_file(&arts, &names),
            Some(arts.join("docs/MODEL_CARD.md"))
        );
    }
}
