//! An MLflow SQLite store (`mlflow.db`) in, a `Store` out. Opened read-only (no journal or lock
//! file is ever written beside it; a WAL-mode store, or one with a `-wal`/`-shm` beside it, is read
//! from a private copy in a temporary folder). The schema is detected, not assumed: tables and columns that
//! older MLflow versions lack (aliases before 2.3, dataset inputs before 2.4, workspaces before
//! 3.x) are simply not read, and what could therefore not be established is left unset.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::{DatasetInput, MetricPoint, ModelVersion, RegisteredModel, Run, Store, StoreKind};
use crate::error::{Error, Result};

pub(super) struct Db<'a> {
    conn: Connection,
    path: &'a Path,
    tables: BTreeSet<String>,
    /// A WAL-mode store is read from a private copy; this holds it until the connection closes.
    _copy: Option<tempfile::TempDir>,
}

/// Whether opening the store in place would make SQLite write beside it: a WAL-mode database
/// (header byte 18 is 2) or a `-wal`/`-shm` file next to it.
fn needs_private_copy(path: &Path) -> Result<bool> {
    let (mut file, _) = crate::fsio::open_regular(path, "MLflow store file", None)?;
    let mut header = [0u8; 20];
    let wal_mode = std::io::Read::read_exact(&mut file, &mut header).is_ok() && header[18] == 2;
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        Path::new(&name).exists()
    };
    Ok(wal_mode || beside("-wal") || beside("-shm"))
}

/// Copy the database and its write-ahead log into a temporary folder of our own, so that SQLite's
/// `-shm`/`-wal` files and any checkpoint land there and never beside the user's store.
fn private_copy(path: &Path) -> Result<(tempfile::TempDir, std::path::PathBuf)> {
    let dir =
        tempfile::tempdir().map_err(|e| Error::io("cannot create a temporary copy of", path, e))?;
    let copy = dir.path().join("mlflow.db");
    std::fs::copy(path, &copy).map_err(|e| Error::io("cannot copy", path, e))?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    if wal.is_file() {
        std::fs::copy(&wal, dir.path().join("mlflow.db-wal"))
            .map_err(|e| Error::io("cannot copy", &wal, e))?;
    }
    Ok((dir, copy))
}

pub fn read(path: &Path) -> Result<Store> {
    let db = Db::open(path)?;
    for required in ["runs", "experiments"] {
        if !db.has_table(required) {
            return Err(Error::Mlflow {
                path: path.to_path_buf(),
                message: format!(
                    "not an MLflow store: a SQLite database without a `{required}` table"
                ),
                hint: Some(
                    "point `sources.mlflow[].path` at the tracking server's mlflow.db".into(),
                ),
            });
        }
    }
    let mut warnings = Vec::new();
    let models = if db.has_table("registered_models") {
        db.registered_models()?
    } else {
        warnings.push(format!(
            "{}: no model registry tables; no registered models can be listed",
            path.display()
        ));
        Vec::new()
    };
    if db.has_column("registered_models", "workspace") {
        let workspaces: Vec<String> = db.rows(
            "SELECT DISTINCT workspace FROM registered_models ORDER BY 1",
            [],
            |r| r.get(0),
        )?;
        if workspaces.len() > 1 {
            warnings.push(format!(
                "{}: registered models in several workspaces ({}); names are read across all of them",
                path.display(),
                workspaces.join(", ")
            ));
        }
    }
    let mut runs = BTreeMap::new();
    let wanted: BTreeSet<&str> = models
        .iter()
        .flat_map(|m| m.versions.iter())
        .filter_map(|v| v.run_id.as_deref())
        .collect();
    for run_id in wanted {
        match db.run(run_id)? {
            Some(run) => {
                runs.insert(run_id.to_string(), run);
            }
            None => warnings.push(format!(
                "{}: source run {run_id} is missing or deleted",
                path.display()
            )),
        }
    }
    Ok(Store {
        path: path.to_path_buf(),
        kind: StoreKind::Sqlite,
        models,
        runs,
        root: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        metadata_files: vec![path.to_path_buf()],
        logged_model_metrics: db.logged_model_metrics()?,
        warnings,
    })
}

impl<'a> Db<'a> {
    pub(super) fn open(path: &'a Path) -> Result<Self> {
        let (copy, conn) = if needs_private_copy(path)? {
            let (dir, copy) = private_copy(path)?;
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(&copy, flags).map_err(|e| sql_error(path, e))?;
            (Some(dir), conn)
        } else {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_error(path, e))?;
            (None, conn)
        };
        // A tracking server writing at this moment holds the lock briefly; a stuck lock is an error.
        conn.busy_timeout(Duration::from_secs(2))
            .map_err(|e| sql_error(path, e))?;
        let mut db = Db {
            conn,
            path,
            tables: BTreeSet::new(),
            _copy: copy,
        };
        db.tables = db
            .rows(
                "SELECT name FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )?
            .into_iter()
            .collect();
        Ok(db)
    }

    /// `logged_model_metrics` (MLflow 3): metric names per logged model.
    fn logged_model_metrics(&self) -> Result<BTreeMap<String, BTreeSet<String>>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        if !self.has_table("logged_model_metrics") {
            return Ok(out);
        }
        let rows = self.rows(
            "SELECT DISTINCT model_id, metric_name FROM logged_model_metrics",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )?;
        for (id, name) in rows {
            out.entry(id).or_default().insert(name);
        }
        Ok(out)
    }

    pub(super) fn has_table(&self, table: &str) -> bool {
        self.tables.contains(table)
    }

    pub(super) fn has_column(&self, table: &str, column: &str) -> bool {
        self.has_table(table)
            && self
                .rows(&format!("PRAGMA table_info(\"{table}\")"), [], |r| {
                    r.get::<_, String>(1)
                })
                .map(|cols| cols.iter().any(|c| c == column))
                .unwrap_or(false)
    }

    /// Each row of `sql` handed to `each` as it is read: a table of any size in bounded memory.
    pub(super) fn for_each_row<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| sql_error(self.path, e))?;
        let mut rows = stmt.query(params).map_err(|e| sql_error(self.path, e))?;
        while let Some(row) = rows.next().map_err(|e| sql_error(self.path, e))? {
            each(row)?;
        }
        Ok(())
    }

    pub(super) fn rows<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error(self.path, e))?;
        let rows = stmt
            .query_map(params, map)
            .map_err(|e| sql_error(self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<T>>>()
            .map_err(|e| sql_error(self.path, e))
    }

    fn registered_models(&self) -> Result<Vec<RegisteredModel>> {
        let mut models: BTreeMap<String, RegisteredModel> = self
            .rows("SELECT name FROM registered_models", [], |r| {
                r.get::<_, String>(0)
            })?
            .into_iter()
            .map(|name| {
                let model = RegisteredModel {
                    name: name.clone(),
                    ..Default::default()
                };
                (name, model)
            })
            .collect();
        if self.has_table("registered_model_tags") {
            let sql = "SELECT name, key, value FROM registered_model_tags";
            for (name, key, value) in
                self.rows(sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            {
                let (name, key, value): (String, String, Option<String>) = (name, key, value);
                if let Some(m) = models.get_mut(&name) {
                    m.tags.insert(key, value.unwrap_or_default());
                }
            }
        }
        if self.has_table("registered_model_aliases") {
            let sql = "SELECT name, alias, CAST(version AS TEXT) FROM registered_model_aliases";
            for (name, alias, version) in
                self.rows(sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            {
                let (name, alias, version): (String, String, String) = (name, alias, version);
                if let Some(m) = models.get_mut(&name) {
                    m.aliases.insert(alias, version);
                }
            }
        }
        let mut versions = self.model_versions()?;
        for (name, list) in std::mem::take(&mut versions) {
            match models.get_mut(&name) {
                Some(m) => m.versions = list,
                None => {
                    return Err(Error::mlflow(
                        self.path,
                        format!("model_versions names `{name}`, which is not a registered model"),
                    ));
                }
            }
        }
        Ok(models.into_values().collect())
    }

    fn model_versions(&self) -> Result<BTreeMap<String, Vec<ModelVersion>>> {
        let mut by_model: BTreeMap<String, Vec<ModelVersion>> = BTreeMap::new();
        if !self.has_table("model_versions") {
            return Ok(by_model);
        }
        let created = if self.has_column("model_versions", "creation_time") {
            "creation_time"
        } else {
            "NULL"
        };
        let sql = format!(
            "SELECT name, CAST(version AS TEXT), current_stage, run_id, source, {created} \
             FROM model_versions"
        );
        let rows = self.rows(&sql, [], |r| {
            Ok((
                r.get::<_, String>(0)?,
                ModelVersion {
                    version: r.get(1)?,
                    current_stage: r.get(2)?,
                    run_id: r.get::<_, Option<String>>(3)?.filter(|s| !s.is_empty()),
                    source: r.get(4)?,
                    tags: BTreeMap::new(),
                    created_ms: millis(r.get_ref(5)?),
                },
            ))
        })?;
        for (name, version) in rows {
            by_model.entry(name).or_default().push(version);
        }
        if self.has_table("model_version_tags") {
            let sql = "SELECT name, CAST(version AS TEXT), key, value FROM model_version_tags";
            let tags = self.rows(sql, [], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
            for (name, version, key, value) in tags {
                let found = by_model
                    .get_mut(&name)
                    .and_then(|vs| vs.iter_mut().find(|v| v.version == version));
                if let Some(v) = found {
                    v.tags.insert(key, value.unwrap_or_default());
                }
            }
        }
        Ok(by_model)
    }

    /// One active run of an active experiment, or `None` if there is no such run.
    fn run(&self, run_id: &str) -> Result<Option<Run>> {
        let started = if self.has_column("runs", "start_time") {
            "r.start_time"
        } else {
            "NULL"
        };
        let sql = format!(
            "SELECT r.run_uuid, CAST(r.experiment_id AS TEXT), r.artifact_uri, {started} \
             FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id \
             WHERE r.run_uuid = ?1 AND COALESCE(r.lifecycle_stage, 'active') = 'active' \
             AND COALESCE(e.lifecycle_stage, 'active') = 'active'"
        );
        let found = self.rows(&sql, params![run_id], |r| {
            Ok(Run {
                run_id: r.get(0)?,
                experiment_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                artifact_uri: r.get(2)?,
                started_ms: millis(r.get_ref(3)?),
                ..Default::default()
            })
        })?;
        let Some(mut run) = found.into_iter().next() else {
            return Ok(None);
        };
        let pairs = |sql: &str| -> Result<BTreeMap<String, String>> {
            Ok(self
                .rows(sql, params![run_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect())
        };
        run.tags = pairs("SELECT key, value FROM tags WHERE run_uuid = ?1")?;
        if self.has_table("params") {
            run.params = pairs("SELECT key, value FROM params WHERE run_uuid = ?1")?;
        }
        run.metrics = self.metrics(run_id)?;
        run.datasets = self.datasets(run_id)?;
        Ok(Some(run))
    }

    fn metrics(&self, run_id: &str) -> Result<BTreeMap<String, f64>> {
        // latest_metrics holds MLflow's own pick; older stores only have the full history.
        let table = if self.has_table("latest_metrics") {
            "latest_metrics"
        } else if self.has_table("metrics") {
            "metrics"
        } else {
            return Ok(BTreeMap::new());
        };
        let sql = format!(
            "SELECT key, value, COALESCE(step, 0), COALESCE(timestamp, 0) FROM {table} WHERE run_uuid = ?1"
        );
        let mut latest: BTreeMap<String, MetricPoint> = BTreeMap::new();
        let points = self.rows(&sql, params![run_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                MetricPoint {
                    value: r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                    step: r.get(2)?,
                    timestamp: r.get(3)?,
                },
            ))
        })?;
        for (key, point) in points {
            let merged = match latest.get(&key) {
                Some(old) => MetricPoint::later_of(*old, point),
                None => point,
            };
            latest.insert(key, merged);
        }
        Ok(latest.into_iter().map(|(k, p)| (k, p.value)).collect())
    }

    fn datasets(&self, run_id: &str) -> Result<Vec<DatasetInput>> {
        if !self.has_table("inputs") || !self.has_table("datasets") {
            return Ok(Vec::new());
        }
        let sql = "SELECT d.name, d.digest, d.dataset_source_type, d.dataset_source \
                   FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id \
                   WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' \
                   AND i.destination_id = ?1 ORDER BY d.name, d.digest";
        self.rows(sql, params![run_id], |r| {
            Ok(DatasetInput {
                name: r.get(0)?,
                digest: r.get(1)?,
                source_type: r.get(2)?,
                source: r.get(3)?,
            })
        })
    }
}

/// A timestamp column as MLflow writes it (integer milliseconds); anything else is unknown.
pub(super) fn millis(value: rusqlite::types::ValueRef<'_>) -> Option<i64> {
    match value {
        rusqlite::types::ValueRef::Integer(i) => Some(i),
        rusqlite::types::ValueRef::Real(f) if f.is_finite() => Some(f as i64),
        rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    let hint = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => Some(
                "another process holds a lock on the store; stop the tracking server or copy the file",
            ),
            rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt => {
                Some("the file is damaged or not a SQLite database; restore it from a backup")
            }
            _ => None,
        },
        _ => None,
    };
    Error::Mlflow {
        path: path.to_path_buf(),
        message: format!("cannot read SQLite store: {e}"),
        hint: hint.map(String::from),
    }
}
