//! A dossier lineage folder in (`data/evidence/mlflow/lineage/` of a bundle: one `<model>.json`
//! per registered model, `LINEAGE_FORMAT`), a `Store` out — so the KPIs of a minimised bundle can
//! be recomputed from the bundle alone. Each extract holds the model (tags, aliases, versions with
//! their stages and creation times) and the source runs of its versions; `artifacts` names, per
//! run, the folder of the bundle that keeps its model card, relative to the extract. Guarantees:
//! a file of another format or a model named twice is an error naming the file; artifact folders
//! are taken only inside the bundle's `data/evidence/` (the store root), never from the extract's
//! recorded local paths.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::files::{list_dir, read_text};
use super::{LINEAGE_FORMAT, RegisteredModel, Run, Store, StoreKind};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Extract {
    format: String,
    model: RegisteredModel,
    #[serde(default)]
    runs: BTreeMap<String, Run>,
    #[serde(default)]
    artifacts: BTreeMap<String, String>,
}

/// Whether `dir` is a lineage folder: its first `.json` file declares `LINEAGE_FORMAT`.
pub(super) fn looks_like(dir: &Path) -> bool {
    let Ok(names) = list_dir(dir) else {
        return false;
    };
    let Some(first) = names.iter().find(|n| n.ends_with(".json")) else {
        return false;
    };
    read_text(&dir.join(first), dir)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("format").and_then(|f| f.as_str()) == Some(LINEAGE_FORMAT))
}

pub(super) fn read(dir: &Path) -> Result<Store> {
    // The bundle's data/evidence/: model cards live beside the mlflow/ folder.
    let root = dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.to_path_buf());
    let mut models: BTreeMap<String, RegisteredModel> = BTreeMap::new();
    let mut runs = BTreeMap::new();
    let mut files = Vec::new();
    for name in list_dir(dir)?.into_iter().filter(|n| n.ends_with(".json")) {
        let path = dir.join(&name);
        let extract = parse(&path, &read_text(&path, dir)?)?;
        for (id, mut run) in extract.runs {
            run.artifact_dir = extract
                .artifacts
                .get(&id)
                .map(|rel| dir.join(rel))
                .filter(|d| d.is_dir());
            run.run_id = id.clone();
            runs.insert(id, run);
        }
        let model = extract.model;
        if models.contains_key(&model.name) {
            return Err(Error::mlflow(
                &path,
                format!("registered model `{}` is in two extracts", model.name),
            ));
        }
        models.insert(model.name.clone(), model);
        files.push(path);
    }
    Ok(Store {
        path: dir.to_path_buf(),
        kind: StoreKind::Lineage,
        models: models.into_values().collect(),
        runs,
        root,
        metadata_files: files,
        logged_model_metrics: BTreeMap::new(),
        warnings: Vec::new(),
    })
}

fn parse(path: &Path, text: &str) -> Result<Extract> {
    let extract: Extract = serde_json::from_str(text).map_err(|e| {
        Error::mlflow(
            Path::new(&format!("{}:{}:{}", path.display(), e.line(), e.column())),
            format!("not a dossier lineage extract: {e}"),
        )
    })?;
    if extract.format != LINEAGE_FORMAT {
        return Err(Error::mlflow(
            path,
            format!(
                "format `{}` is not `{LINEAGE_FORMAT}`, the one this dossier reads",
                extract.format
            ),
        ));
    }
    Ok(extract)
}
