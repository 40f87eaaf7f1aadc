//! Every configured source in, the parsed evidence out (`Evidence`), in the order data flows:
//! MLflow stores now; log extracts, audits and exceptions as their stages land. Ingestion only
//! reads and normalises; what the evidence means is decided in `kpi`.

pub mod mlflow;

use crate::config::Config;
use crate::error::Result;

#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub stores: Vec<mlflow::Store>,
}

pub fn ingest(config: &Config) -> Result<Evidence> {
    let stores = config
        .mlflow
        .iter()
        .map(mlflow::read)
        .collect::<Result<Vec<_>>>()?;
    Ok(Evidence { stores })
}
