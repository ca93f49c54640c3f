//! The one client builder: a repository string with its storage options, plus the session
//! options (audit sink, policy, principal, context), into a core [`Client`]. The CLI, Python
//! and Node call [`open_client`]; each only maps its language's types and errors. Storage
//! options are registered as session secrets here, so no front end can forget to.

use crate::open_repository;
use firekeep_core::Result;
use firekeep_core::client::Client;
use firekeep_core::engine::Repository;
use firekeep_core::keys::KeyProvider;
use firekeep_core::session::Session;
use firekeep_core::setup::{AuditHandle, SessionOptions};
use firekeep_core::storage::StorageSink;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything a client is opened from (see [`open_client`]).
#[derive(Clone, Default)]
pub struct OpenClientOptions {
    /// A path, `file:///path`, or an `s3://`, `gs://`, `az://` URL.
    pub repository: String,
    /// object_store options (`aws_endpoint`, `aws_secret_access_key`, ...); the secret ones
    /// never reach an audit event.
    pub storage_options: BTreeMap<String, String>,
    /// Create a missing local repository folder.
    pub create: bool,
    /// The audit sink, policy, principal and request context.
    pub session: SessionOptions,
}

impl OpenClientOptions {
    /// Opens the repository alone (`InvalidInput` for a malformed string, `NotFound`, ...).
    pub fn open_storage(&self) -> Result<Arc<dyn StorageSink>> {
        open_repository(&self.repository, &self.storage_options, self.create)
    }

    /// The session alone, with the storage options registered as its secrets (errors: the
    /// audit sink's, the policy's, the principal's).
    pub fn session(&self) -> Result<(Session, AuditHandle)> {
        let mut session = self.session.clone();
        session.secret_options.extend(
            self.storage_options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        session.build()
    }
}

/// Opens the repository, then the session (with the storage options as secrets), and
/// returns the client with a handle on what it audits. Errors, in this order: the
/// repository's, the audit sink's, the policy's, the principal's.
pub fn open_client(
    options: &OpenClientOptions,
    keys: Arc<dyn KeyProvider>,
) -> Result<(Client, AuditHandle)> {
    let storage = options.open_storage()?;
    let (session, audit) = options.session()?;
    Ok((Client::new(session, Repository::new(storage), keys), audit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use firekeep_core::keys::RawKey;

    #[test]
    fn opens_a_repository_and_registers_storage_secrets() {
        // Opening an s3:// store makes no request; nothing listens at the endpoint.
        let mut options = OpenClientOptions {
            repository: "s3://bucket/prefix".into(),
            ..OpenClientOptions::default()
        };
        for (k, v) in [
            ("aws_endpoint", "http://127.0.0.1:9"),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "AKIDEXAMPLE"),
            ("aws_secret_access_key", "s3cr3t-value"),
        ] {
            options.storage_options.insert(k.into(), v.into());
        }
        let keys = Arc::new(RawKey::from_bytes(&[7; 32]).unwrap());
        let (client, audit) = open_client(&options, keys.clone()).unwrap();
        assert_eq!(client.session().principal().id(), "local");
        let op = firekeep_core::session::Operation::new(
            firekeep_core::policy::Action::ViewBackups,
            firekeep_core::policy::Resource::organization("default"),
            firekeep_core::audit::AuditAction::BackupListed,
            firekeep_core::audit::AuditAction::BackupListFailed,
        );
        let failed = client.session().perform(op, || async {
            Err::<(), _>(firekeep_core::Error::Storage("denied: s3cr3t-value".into()))
        });
        futures::executor::block_on(failed).unwrap_err();
        let AuditHandle::Memory(m) = audit else {
            panic!("memory sink expected")
        };
        let text = format!("{:?}", m.events());
        assert!(text.contains("denied"), "{text}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        options.repository = "ftp://x".into();
        assert!(matches!(
            open_client(&options, keys),
            Err(firekeep_core::Error::InvalidInput(_))
        ));
    }
}
