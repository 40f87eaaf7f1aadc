//! `bom.cdx.json`: a CycloneDX 1.6 ML-BOM of the production models. Each is a
//! `machine-learning-model` component (name, version, `bom-ref`) with a model card — the source
//! run's datasets (references to `data` components), its evaluation metrics as performance
//! metrics, and considerations read from the model card's `Intended use:`, `Limitations:`,
//! `Users:` and `Ethical considerations:` lines — properties for the MLflow run, git commit, risk
//! tier and approval, and external references to the model card and evaluation artifacts by their
//! bundle paths and SHA-256. Each dataset is a `data` component with MLflow's digest.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::{Basis, label, pretty};
use crate::error::Result;
use crate::ingest::mlflow::DatasetInput;
use crate::kpi::inventory::ModelKpis;
use crate::vocab::InputRole;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Value,
    components: Vec<Value>,
}

fn property(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": format!("dossier:{name}"), "value": value.into() })
}

/// The source run's dataset inputs, from the store the model was read from.
fn datasets<'a>(basis: &'a Basis<'_>, model: &ModelKpis) -> Vec<&'a DatasetInput> {
    let Some(run) = model.source_run.as_deref() else {
        return Vec::new();
    };
    basis
        .evidence
        .stores
        .iter()
        .filter_map(|s| s.runs.get(run))
        .flat_map(|r| r.datasets.iter())
        .collect()
}

/// Where a dataset lives, as an IRI: MLflow records a source as JSON (`{"uri": …}`, `{"url":
/// …}`, `{"path": …}`) or as text; anything with spaces or braces is no IRI and is left out
/// (the source stays a property).
fn dataset_url(source: &str) -> Option<String> {
    let parsed: Option<String> = serde_json::from_str::<Value>(source).ok().and_then(|v| {
        ["uri", "url", "path", "file"]
            .iter()
            .find_map(|k| v.get(k).and_then(Value::as_str).map(String::from))
    });
    let url = parsed.unwrap_or_else(|| source.to_string());
    let plain =
        !url.is_empty() && !url.contains(|c: char| c.is_whitespace() || "{}<>\"\\^`|".contains(c));
    plain.then_some(url)
}

fn dataset_ref(d: &DatasetInput) -> String {
    format!("dataset:{}@{}", d.name, d.digest)
}

pub(super) fn bom(basis: &Basis<'_>) -> Result<Vec<u8>> {
    let mut components = Vec::new();
    let mut data: BTreeMap<String, Value> = BTreeMap::new();
    for model in basis.doc.models.iter().filter(|m| m.in_production) {
        let sets = datasets(basis, model);
        for d in &sets {
            data.entry(dataset_ref(d)).or_insert_with(|| {
                let mut set = json!({ "type": "dataset", "name": d.name });
                if let (Some(url), Some(obj)) = (dataset_url(&d.source), set.as_object_mut()) {
                    obj.insert("contents".into(), json!({ "url": url }));
                }
                json!({
                    "type": "data",
                    "bom-ref": dataset_ref(d),
                    "name": d.name,
                    "data": [set],
                    "properties": [property("mlflow:dataset:digest", d.digest.clone()),
                                   property("mlflow:dataset:source-type", d.source_type.clone()),
                                   property("mlflow:dataset:source", d.source.clone())],
                })
            });
        }
        components.push(model_component(basis, model, &sets));
    }
    components.extend(data.into_values());
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", basis.uuid("mlbom")),
        version: 1,
        metadata: json!({
            "timestamp": basis.time(),
            "tools": { "components": [{ "type": "application", "name": "dossier",
                                        "version": env!("CARGO_PKG_VERSION") }] },
            "supplier": { "name": basis.doc.organization },
            "properties": [property("scope", basis.config.scope.label()),
                           property("period", format!("{}..{}", basis.doc.period.start,
                                                       basis.doc.period.end))],
        }),
        components,
    };
    pretty(&bom, "CycloneDX ML-BOM")
}

fn model_component(basis: &Basis<'_>, model: &ModelKpis, sets: &[&DatasetInput]) -> Value {
    let version = model.version.clone().unwrap_or_default();
    let mut properties = vec![
        property("risk-tier", label(&model.risk_tier)),
        property(
            "approved-by",
            model
                .approved_by
                .clone()
                .unwrap_or_else(|| "not recorded".into()),
        ),
    ];
    if let Some(run) = &model.source_run {
        properties.push(property("mlflow:run-id", run.clone()));
    }
    if let Some(commit) = &model.git_commit {
        properties.push(property("git-commit", commit.clone()));
    }
    if let Some(via) = &model.production_via {
        properties.push(property("production-via", via.clone()));
    }
    let metrics: Vec<Value> = model
        .evaluation_metrics
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(name, v)| json!({ "type": name, "value": v.to_string() }))
        .collect();
    let mut card = serde_json::Map::new();
    if !sets.is_empty() {
        let refs: Vec<Value> = sets
            .iter()
            .map(|d| json!({ "ref": dataset_ref(d) }))
            .collect();
        card.insert("modelParameters".into(), json!({ "datasets": refs }));
    }
    if !metrics.is_empty() {
        card.insert(
            "quantitativeAnalysis".into(),
            json!({ "performanceMetrics": metrics }),
        );
    }
    if let Some(considerations) = considerations(model) {
        card.insert("considerations".into(), considerations);
    }
    let mut component = json!({
        "type": "machine-learning-model",
        "bom-ref": format!("model:{}@{version}", model.name),
        "name": model.name,
        "version": version,
        "properties": properties,
        "externalReferences": references(basis, model),
    });
    if !card.is_empty()
        && let Some(obj) = component.as_object_mut()
    {
        obj.insert("modelCard".into(), Value::Object(card));
    }
    component
}

/// The model card and evaluation artifacts, by their bundle paths and SHA-256.
fn references(basis: &Basis<'_>, model: &ModelKpis) -> Vec<Value> {
    basis
        .carried
        .iter()
        .filter(|c| c.system.as_deref() == Some(model.name.as_str()))
        .filter_map(|c| {
            let kind = match c.role {
                InputRole::ModelCard => "model-card",
                InputRole::EvaluationArtifact => "evidence",
                _ => return None,
            };
            Some(json!({ "type": kind, "url": super::uri_path(&c.path),
                         "hashes": [{ "alg": "SHA-256", "content": c.sha256 }] }))
        })
        .collect()
}

/// The model card's own lines for CycloneDX's considerations, when it has any.
fn considerations(model: &ModelKpis) -> Option<Value> {
    let card = model.model_card.as_deref()?;
    let bytes = crate::fsio::read_small(std::path::Path::new(card), "model card").ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let fields = [
        ("intended use:", "useCases"),
        ("users:", "users"),
        ("limitations:", "technicalLimitations"),
        ("ethical considerations:", "ethicalConsiderations"),
    ];
    let mut out = serde_json::Map::new();
    for line in text.lines().map(str::trim) {
        let lower = line.to_lowercase();
        for (prefix, key) in fields {
            if let Some(rest) = lower.strip_prefix(prefix).map(|r| r.len()) {
                let value = line[line.len() - rest..].trim().to_string();
                if value.is_empty() {
                    continue;
                }
                let value = if key == "ethicalConsiderations" {
                    json!({ "name": value })
                } else {
                    Value::String(value)
                };
                if let Some(list) = out
                    .entry(key)
                    .or_insert_with(|| Value::Array(Vec::new()))
                    .as_array_mut()
                {
                    list.push(value);
                }
            }
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_sources_become_iris_or_nothing() {
        let s3 = r#"{"uri": "s3://acme-lake/train.parquet"}"#;
        assert_eq!(
            dataset_url(s3).as_deref(),
            Some("s3://acme-lake/train.parquet")
        );
        assert_eq!(dataset_url("/data/x.csv").as_deref(), Some("/data/x.csv"));
        assert_eq!(dataset_url("{not json"), None);
        assert_eq!(dataset_url("a b"), None);
        assert_eq!(dataset_url(""), None);
    }
}
