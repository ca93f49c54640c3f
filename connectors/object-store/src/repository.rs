//! Opening a repository from what a user types: a path, `file:///path`, or an `s3://`,
//! `gs://`, `az://` URL with options. The CLI and every binding call this one function, so a
//! repository string means the same thing everywhere.

use crate::{ObjectStoreOptions, ObjectStoreSink};
use firekeep_core::storage::StorageSink;
use firekeep_core::storage::local::LocalStorage;
use firekeep_core::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;

/// Where a repository lives, parsed from a path or URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryLocation {
    /// A folder on a local (or mounted) filesystem, opened with [`LocalStorage`].
    Local(PathBuf),
    /// An object-store URL (`s3://`, `gs://`, `az://`, `azure://`), opened with
    /// [`ObjectStoreSink`].
    Remote(String),
}

impl RepositoryLocation {
    /// Parses a repository string. A bare string is a local path; `file://` needs an
    /// absolute path; other schemes must be one the object-store connector serves.
    /// Errors are [`Error::InvalidInput`] and say what form is expected.
    pub fn parse(repository: &str) -> Result<Self> {
        if repository.is_empty() {
            return Err(Error::InvalidInput(
                "the repository is empty; give a path, file:///path, s3://, gs:// or az:// URL"
                    .into(),
            ));
        }
        if let Some(path) = repository.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(Error::InvalidInput(format!(
                    "{repository:?}: a file URL needs an absolute path, like file:///var/backups"
                )));
            }
            return Ok(Self::Local(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = repository.split_once("://") {
            return match scheme {
                "s3" | "gs" | "az" | "azure" => Ok(Self::Remote(repository.to_string())),
                _ => Err(Error::InvalidInput(format!(
                    "repository URL scheme {scheme:?} is not supported; use a path, \
                     file:///path, s3://, gs:// or az://"
                ))),
            };
        }
        Ok(Self::Local(PathBuf::from(repository)))
    }
}

/// Opens the repository at `repository` (see [`RepositoryLocation::parse`]).
///
/// `options` are [`ObjectStoreOptions`] keys (`region`, `endpoint`, `storage_class`, ...);
/// giving any for a local repository is an error rather than silently ignored. `create`:
/// a missing local folder is created (what a backup wants); otherwise it is
/// [`Error::NotFound`], so a typo in a restore's repository is not an empty repository.
/// Remote repositories are not probed here: the first request reports access problems.
pub fn open_repository<K, V>(
    repository: &str,
    options: impl IntoIterator<Item = (K, V)>,
    create: bool,
) -> Result<Arc<dyn StorageSink>>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    match RepositoryLocation::parse(repository)? {
        RepositoryLocation::Local(path) => {
            if let Some((key, _)) = options.into_iter().next() {
                return Err(Error::InvalidConfig(format!(
                    "storage option {:?} applies to s3://, gs:// and az:// repositories, not to \
                     the local folder {}; remove it",
                    key.as_ref(),
                    path.display()
                )));
            }
            if !path.is_dir() {
                if !create {
                    return Err(Error::NotFound(format!(
                        "repository {} does not exist; check the path (a backup creates it)",
                        path.display()
                    )));
                }
                std::fs::create_dir_all(&path)
                    .map_err(|e| Error::io(format!("creating repository {}", path.display()), e))?;
            }
            Ok(Arc::new(LocalStorage::new(&path)?))
        }
        RepositoryLocation::Remote(url) => {
            let mut opts = ObjectStoreOptions::default();
            for (k, v) in options {
                opts.set(k.as_ref(), v.as_ref())?;
            }
            Ok(Arc::new(ObjectStoreSink::from_url(&url, opts)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [(&str, &str); 0] = [];

    #[test]
    fn parses_each_form() {
        assert_eq!(
            RepositoryLocation::parse("backups/x").unwrap(),
            RepositoryLocation::Local("backups/x".into())
        );
        assert_eq!(
            RepositoryLocation::parse("file:///var/b").unwrap(),
            RepositoryLocation::Local("/var/b".into())
        );
        for url in ["s3://b/p", "gs://b", "az://c/p", "azure://c"] {
            assert_eq!(
                RepositoryLocation::parse(url).unwrap(),
                RepositoryLocation::Remote(url.into())
            );
        }
    }

    #[test]
    fn rejects_bad_forms_with_what_to_do() {
        for (bad, needle) in [
            ("", "is empty"),
            ("file://relative/x", "absolute path"),
            ("ftp://host/x", "\"ftp\" is not supported"),
        ] {
            let e = RepositoryLocation::parse(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_INPUT", "{bad}");
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn local_create_or_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let s = repo.to_str().unwrap();
        let e = open_repository(s, NONE, false).err().unwrap();
        assert_eq!(e.code(), "ERR_NOT_FOUND");
        assert!(
            !repo.exists(),
            "opening without create must not make the folder"
        );
        open_repository(s, NONE, true).unwrap();
        assert!(repo.is_dir());
        open_repository(&format!("file://{s}"), NONE, false).unwrap();
        let e = open_repository(s, [("region", "eu-west-1")], false)
            .err()
            .unwrap();
        assert_eq!(e.code(), "ERR_INVALID_CONFIG");
        assert!(e.to_string().contains("\"region\""), "{e}");
    }

    #[test]
    fn remote_options_are_checked() {
        let e = open_repository("s3://bucket/p", [("no_such_option", "x")], true)
            .err()
            .unwrap();
        assert_eq!(e.code(), "ERR_INVALID_CONFIG", "{e}");
        open_repository("s3://bucket/p", [("region", "eu-west-1")], true).unwrap();
    }
}
