//! The Firestore source: where backups read and restores write.

use crate::errors::{CoreResult, js_err};
use firekeep_core::model::DatabaseId;
use firekeep_firestore::{ConnectorConfig, Credentials, FirestoreConnector};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;
use std::sync::Arc;

/// Firestore connection options.
#[napi(object)]
#[derive(Default)]
pub struct FirestoreOptions {
    /// Default `(default)`.
    pub database: Option<String>,
    /// A service-account JSON file.
    pub credentials: Option<String>,
    /// `host:port` of an emulator (else env `FIRESTORE_EMULATOR_HOST`).
    pub emulator_host: Option<String>,
}

/// Where to read (backup) or write (restore) Firestore documents.
#[napi]
#[derive(Clone)]
pub struct Firestore {
    config: ConnectorConfig,
    connector: Arc<tokio::sync::Mutex<Option<Arc<FirestoreConnector>>>>,
}

impl Firestore {
    pub(crate) async fn connect(&self) -> CoreResult<Arc<FirestoreConnector>> {
        let mut slot = self.connector.lock().await;
        if let Some(c) = slot.clone() {
            return Ok(c);
        }
        let c = Arc::new(FirestoreConnector::connect(self.config.clone()).await?);
        *slot = Some(c.clone());
        Ok(c)
    }
}

#[napi]
impl Firestore {
    /// `emulatorHost` (or env `FIRESTORE_EMULATOR_HOST`) selects an emulator; else
    /// `credentials` (a service-account JSON file); else application default credentials.
    #[napi(constructor)]
    pub fn new(project: String, options: Option<FirestoreOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let database = o.database.unwrap_or_else(|| "(default)".into());
        let db = DatabaseId::new(&project, &database).map_err(js_err)?;
        let config = if let Some(host) = o.emulator_host {
            ConnectorConfig::emulator(db, host)
        } else if let Some(file) = o.credentials {
            ConnectorConfig::new(db, Credentials::ServiceAccountFile(PathBuf::from(file)))
        } else {
            ConnectorConfig::from_env(&project, &database).map_err(js_err)?
        };
        Ok(Firestore {
            config,
            connector: Arc::new(tokio::sync::Mutex::new(None)),
        })
    }

    /// The project id.
    #[napi(getter)]
    pub fn project(&self) -> String {
        self.config.database.project.clone()
    }

    /// The database id.
    #[napi(getter)]
    pub fn database(&self) -> String {
        self.config.database.database.clone()
    }
}
