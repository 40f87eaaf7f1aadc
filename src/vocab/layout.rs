//! The layout of an evidence bundle (SPEC §6–7): every fixed path inside the bag, and the one
//! format of its manifests (`<sha256>  <path>` lines). The bundle writer, `dossier verify` and
//! `--baseline` (which reads an earlier bundle) all take their paths and manifest lines from here,
//! so the three can never disagree about where a file is.

pub const BAGIT: &str = "bagit.txt";
pub const BAG_INFO: &str = "bag-info.txt";
pub const MANIFEST: &str = "manifest-sha256.txt";
pub const TAGMANIFEST: &str = "tagmanifest-sha256.txt";
pub const SIGNER_PUB: &str = "signature/signer.pub.pem";
pub const TAGMANIFEST_SIG: &str = "signature/tagmanifest-sha256.txt.sig";
pub const REPORT_SIG: &str = "signature/report.pdf.sig";
/// The RFC 3161 token over `TAGMANIFEST_SIG`'s bytes, and the TSA's certificates (with a TSA).
pub const TAGMANIFEST_TSR: &str = "signature/tagmanifest-sha256.txt.sig.tsr";
pub const TSA_CHAIN: &str = "signature/tsa-chain.pem";

/// The payload folder; every path below is under it.
pub const DATA: &str = "data/";
pub const REPORT: &str = "data/report/report.pdf";
pub const SOURCES: &str = "data/sources.csv";
pub const KPIS_JSON: &str = "data/kpis/kpis.json";
pub const MODELS_CSV: &str = "data/kpis/models.csv";
pub const PORTFOLIO_CSV: &str = "data/kpis/portfolio.csv";
pub const SCORES_CSV: &str = "data/audits/scores.csv";
pub const REMEDIATION_CSV: &str = "data/audits/remediation.csv";
pub const EXCEPTIONS_CSV: &str = "data/audits/exceptions.csv";
pub const BASELINE_JSON: &str = "data/baseline/baseline.json";
pub const REQUEST_INDEX: &str = "data/request-index.csv";
/// Where a scoped build's per-model MLflow extracts go: `<this><model>.json`.
pub const LINEAGE_DIR: &str = "data/evidence/mlflow/lineage/";

/// The tag files the tag manifest must cover.
pub const TAG_FILES: [&str; 3] = [BAGIT, BAG_INFO, MANIFEST];

/// `path` without its `data/` prefix (how the bag's payload is staged).
pub fn in_data(path: &str) -> &str {
    path.strip_prefix(DATA).unwrap_or(path)
}

/// One manifest line.
pub fn manifest_line(sha256: &str, path: &str) -> String {
    format!("{sha256}  {path}\n")
}

/// A manifest's lines as (1-based line, hash, path); `Err(line)` for a line that is not
/// `HASH PATH`. Blank lines are skipped.
pub fn parse_manifest(text: &str) -> Vec<Result<(usize, &str, &str), usize>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| match line.split_once(char::is_whitespace) {
            Some((hash, path)) => Ok((i + 1, hash, path.trim_start())),
            None => Err(i + 1),
        })
        .collect()
}

/// A name (a registered model's) as one path segment: no separators, never `.` or `..`, so no
/// name can place a file outside its folder in the bag.
pub fn segment(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect();
    match s.as_str() {
        "" | "." | ".." => "_".repeat(s.len().max(1)),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_round_trip() {
        let text = format!("{}\n{}", manifest_line("ab12", "data/a b.txt"), "garbage");
        let parsed = parse_manifest(&text);
        assert_eq!(parsed, vec![Ok((1, "ab12", "data/a b.txt")), Err(3)]);
        assert_eq!(in_data(REPORT), "report/report.pdf");
    }
}
