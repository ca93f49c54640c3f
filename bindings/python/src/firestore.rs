//! The Firestore source (`firekeep.Firestore`): where backups read and restores write.

use crate::errors::{CoreResult, py_err};
use firekeep_core::model::DatabaseId;
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where to read (backup) or write (restore) Firestore documents.
#[pyclass(module = "firekeep._native", frozen)]
#[derive(Clone)]
pub(crate) struct Firestore {
    config: ConnectorConfig,
    connector: Arc<Mutex<Option<Arc<FirestoreConnector>>>>,
}

impl Firestore {
    /// The project id.
    pub(crate) fn project_id(&self) -> String {
        self.config.database.project.clone()
    }

    /// The database id.
    pub(crate) fn database_id(&self) -> String {
        self.config.database.database.clone()
    }

    pub(crate) async fn connect(&self) -> CoreResult<Arc<FirestoreConnector>> {
        if let Some(c) = self.connector.lock().expect("lock").clone() {
            return Ok(c);
        }
        let c = Arc::new(FirestoreConnector::connect(self.config.clone()).await?);
        *self.connector.lock().expect("lock") = Some(c.clone());
        Ok(c)
    }
}

#[pymethods]
impl Firestore {
    /// `emulator_host` (or env `FIRESTORE_EMULATOR_HOST`) selects an emulator; else
    /// `credentials` (a service-account JSON file); else application default credentials.
    #[new]
    #[pyo3(signature = (project, database="(default)", credentials=None, emulator_host=None))]
    fn new(
        project: &str,
        database: &str,
        credentials: Option<PathBuf>,
        emulator_host: Option<String>,
    ) -> PyResult<Self> {
        let db = DatabaseId::new(project, database).map_err(py_err)?;
        let config = if let Some(host) = emulator_host {
            ConnectorConfig::emulator(db, host)
        } else if let Some(file) = credentials {
            ConnectorConfig::new(db, Credentials::ServiceAccountFile(file))
        } else {
            ConnectorConfig::from_env(project, database).map_err(py_err)?
        };
        Ok(Firestore {
            config,
            connector: Arc::new(Mutex::new(None)),
        })
    }

    #[getter]
    fn project(&self) -> String {
        self.config.database.project.clone()
    }

    #[getter]
    fn database(&self) -> String {
        self.config.database.database.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Firestore(project={:?}, database={:?})",
            self.config.database.project, self.config.database.database
        )
    }
}
