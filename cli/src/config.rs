//! The optional TOML config file and the merge of flags, environment and file.
//!
//! Precedence: command-line flag > environment variable > config file > built-in default.
//! clap already resolves flag > environment (each option's `env = ...`); the file only fills
//! what both left unset. Relative paths in the file are relative to the file's folder, so a
//! config works from any working directory (cron, Cloud Run).

use crate::args::{GlobalArgs, PruneArgs, ScopeArgs};
use crate::error::{CliError, CliResult};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The config file's name looked for in the working directory when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "firekeep.toml";

/// The config file (every key optional). Unknown keys are errors, so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Backup repository URL or path.
    pub repo: Option<String>,
    /// Passphrase file.
    pub passphrase_file: Option<PathBuf>,
    /// Raw key file.
    pub key_file: Option<PathBuf>,
    /// KMS key: an AWS KMS key id/ARN/alias or a Google Cloud KMS CryptoKey name.
    pub kms_key: Option<String>,
    /// Project id.
    pub project: Option<String>,
    /// Database id.
    pub database: Option<String>,
    /// Service-account key file.
    pub credentials: Option<PathBuf>,
    /// Emulator host:port.
    pub emulator_host: Option<String>,
    /// Policy file.
    pub policy: Option<PathBuf>,
    /// Principal.
    pub principal: Option<String>,
    /// Organization.
    pub organization: Option<String>,
    /// Audit log file.
    pub audit_log: Option<PathBuf>,
    /// `[storage]` object-store options (endpoint, region, ...), overridden per key by
    /// `--storage-option`.
    #[serde(default)]
    pub storage: std::collections::BTreeMap<String, String>,
    /// `[backup]` defaults.
    #[serde(default)]
    pub backup: BackupConfig,
    /// `[retention]` defaults for prune.
    #[serde(default)]
    pub retention: RetentionConfig,
}

/// `[backup]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Collections to include (empty: all).
    #[serde(default)]
    pub collections: Vec<String>,
    /// Collections to leave out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Whether to include subcollections (default true).
    pub subcollections: Option<bool>,
    /// Target (uncompressed) part size in MiB; fractions allowed (0.5 = 512 KiB).
    pub part_size_mib: Option<f64>,
    /// Parallel compress/encrypt workers.
    pub parallelism: Option<usize>,
    /// Partitions read at once (one query stream each).
    pub read_streams: Option<usize>,
}

/// `[retention]` table (restic terms).
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Keep the N newest.
    pub keep_last: Option<u32>,
    /// Hourly.
    pub keep_hourly: Option<u32>,
    /// Daily.
    pub keep_daily: Option<u32>,
    /// Weekly.
    pub keep_weekly: Option<u32>,
    /// Monthly.
    pub keep_monthly: Option<u32>,
    /// Yearly.
    pub keep_yearly: Option<u32>,
    /// Keep everything newer than this duration.
    pub keep_within: Option<String>,
}

/// Global settings after merging flags, environment and file.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    /// Repository URL or path.
    pub repo: Option<String>,
    /// Passphrase file, with where it came from.
    pub passphrase_file: Option<(PathBuf, Source)>,
    /// Key file, with where it came from.
    pub key_file: Option<(PathBuf, Source)>,
    /// KMS key (AWS or Google Cloud), with where it came from.
    pub kms_key: Option<(String, Source)>,
    /// Object-store options (file, then flags).
    pub storage_options: Vec<(String, String)>,
    /// Project id.
    pub project: Option<String>,
    /// Database id (default `(default)`).
    pub database: String,
    /// Credentials file.
    pub credentials: Option<PathBuf>,
    /// Emulator host.
    pub emulator_host: Option<String>,
    /// Policy file.
    pub policy: Option<PathBuf>,
    /// Principal.
    pub principal: Option<String>,
    /// Organization (default `local`).
    pub organization: String,
    /// Audit log path, if set explicitly.
    pub audit_log: Option<PathBuf>,
    /// Progress bars wanted (also requires a terminal).
    pub progress: bool,
}

/// Where a setting came from; key sources at a higher level override lower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Env,
    /// The config file.
    File,
}

/// Reads the config file: `--config` (must exist) or `./firekeep.toml` (if it exists).
pub fn load_file(explicit: Option<&Path>) -> CliResult<(FileConfig, Option<PathBuf>)> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from(DEFAULT_CONFIG);
            if !p.is_file() {
                return Ok((FileConfig::default(), None));
            }
            p
        }
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| CliError::file("reading config", &path, e))?;
    let mut cfg = parse(&text, &path)?;
    // Absolute, so error messages and the audit trail name real paths.
    let abs = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
    let base = abs
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    cfg.rebase(&base);
    Ok((cfg, Some(path)))
}

/// Parses config text; errors name the file, line and key.
pub fn parse(text: &str, path: &Path) -> CliResult<FileConfig> {
    toml::from_str(text).map_err(|e| {
        CliError::usage(format!(
            "config file {} is not valid: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })
}

impl FileConfig {
    fn rebase(&mut self, base: &Path) {
        for p in [
            &mut self.passphrase_file,
            &mut self.key_file,
            &mut self.credentials,
            &mut self.policy,
            &mut self.audit_log,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(repo) = &mut self.repo
            && !repo.contains("://")
            && Path::new(repo.as_str()).is_relative()
        {
            *repo = base.join(&*repo).display().to_string();
        }
    }
}

/// Merges the global flags (already merged with the environment by clap) with the file.
/// `from_env` tells, per option id, whether clap took the value from the environment.
pub fn merge(args: &GlobalArgs, file: &FileConfig, from_env: &dyn Fn(&str) -> bool) -> Settings {
    let src = |id: &str| {
        if from_env(id) {
            Source::Env
        } else {
            Source::Flag
        }
    };
    Settings {
        repo: args.repo.clone().or_else(|| file.repo.clone()),
        passphrase_file: args
            .passphrase_file
            .clone()
            .map(|p| (p, src("passphrase_file")))
            .or_else(|| file.passphrase_file.clone().map(|p| (p, Source::File))),
        key_file: args
            .key_file
            .clone()
            .map(|p| (p, src("key_file")))
            .or_else(|| file.key_file.clone().map(|p| (p, Source::File))),
        kms_key: args
            .kms_key
            .clone()
            .map(|k| (k, src("kms_key")))
            .or_else(|| file.kms_key.clone().map(|k| (k, Source::File))),
        storage_options: file
            .storage
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(
                args.storage_options
                    .iter()
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (kv.clone(), String::new()),
                    }),
            )
            .collect(),
        project: args.project.clone().or_else(|| file.project.clone()),
        database: args
            .database
            .clone()
            .or_else(|| file.database.clone())
            .unwrap_or_else(|| "(default)".to_string()),
        credentials: args
            .credentials
            .clone()
            .or_else(|| file.credentials.clone()),
        emulator_host: args
            .emulator_host
            .clone()
            .filter(|h| !h.is_empty())
            .or_else(|| file.emulator_host.clone()),
        policy: args.policy.clone().or_else(|| file.policy.clone()),
        principal: args.principal.clone().or_else(|| file.principal.clone()),
        organization: args
            .organization
            .clone()
            .or_else(|| file.organization.clone())
            .unwrap_or_else(|| "local".to_string()),
        audit_log: args.audit_log.clone().or_else(|| file.audit_log.clone()),
        progress: !args.no_progress && !args.json,
    }
}

/// The backup scope: flags if any collection flag was given, else the file's `[backup]`.
pub fn backup_scope(args: &ScopeArgs, file: &BackupConfig) -> firekeep_core::source::Scope {
    let flags_given = !args.collections.is_empty() || !args.exclude.is_empty();
    let (collections, exclude) = if flags_given {
        (args.collections.clone(), args.exclude.clone())
    } else {
        (file.collections.clone(), file.exclude.clone())
    };
    let subcollections = if args.no_subcollections {
        false
    } else {
        file.subcollections.unwrap_or(true)
    };
    firekeep_core::source::Scope::of(collections, subcollections, exclude)
}

/// The restore scope: only flags (a restore's scope is a per-run decision).
pub fn restore_scope(args: &ScopeArgs) -> firekeep_core::source::Scope {
    firekeep_core::source::Scope::of(
        args.collections.clone(),
        !args.no_subcollections,
        args.exclude.clone(),
    )
}

/// Retention: each flag overrides the file's `[retention]` value of the same name.
pub fn retention(args: &PruneArgs, file: &RetentionConfig) -> RetentionConfig {
    RetentionConfig {
        keep_last: args.keep_last.or(file.keep_last),
        keep_hourly: args.keep_hourly.or(file.keep_hourly),
        keep_daily: args.keep_daily.or(file.keep_daily),
        keep_weekly: args.keep_weekly.or(file.keep_weekly),
        keep_monthly: args.keep_monthly.or(file.keep_monthly),
        keep_yearly: args.keep_yearly.or(file.keep_yearly),
        keep_within: args.keep_within.clone().or(file.keep_within.clone()),
    }
}

/// Parses a retention duration with the core's one grammar
/// ([`firekeep_core::engine::parse_duration`]: units y, m = months, w, d, h, s), as a usage
/// error when it is not one.
pub fn parse_duration(text: &str) -> CliResult<std::time::Duration> {
    firekeep_core::engine::parse_duration(text).map_err(|e| match e {
        firekeep_core::Error::InvalidInput(msg) => CliError::usage(msg),
        other => other.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> GlobalArgs {
        GlobalArgs::default()
    }

    #[test]
    fn flags_override_file_and_defaults_apply() {
        let file = parse(
            r#"
            repo = "/from/file"
            project = "file-project"
            passphrase_file = "pp.txt"
            [retention]
            keep_daily = 7
            keep_within = "2d"
            "#,
            Path::new("f.toml"),
        )
        .unwrap();
        let mut a = args();
        a.repo = Some("/from/flag".into());
        let s = merge(&a, &file, &|_| false);
        assert_eq!(s.repo.as_deref(), Some("/from/flag"));
        assert_eq!(s.project.as_deref(), Some("file-project"));
        assert_eq!(s.database, "(default)");
        assert_eq!(s.organization, "local");
        assert_eq!(s.passphrase_file.unwrap().1, Source::File);

        a.passphrase_file = Some("x".into());
        let s = merge(&a, &file, &|id| id == "passphrase_file");
        assert_eq!(s.passphrase_file.unwrap().1, Source::Env);

        let r = retention(
            &PruneArgs {
                keep_daily: Some(3),
                ..Default::default()
            },
            &file.retention,
        );
        assert_eq!(r.keep_daily, Some(3));
        assert_eq!(r.keep_within.as_deref(), Some("2d"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_line() {
        let err = parse("repo = \"x\"\nrepoo = \"y\"\n", Path::new("f.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("repoo") && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let mut cfg = parse(
            "repo = \"backups\"\nkey_file = \"k\"\ncredentials = \"/abs/sa.json\"\n",
            Path::new("x"),
        )
        .unwrap();
        cfg.rebase(Path::new("/etc/firekeep"));
        assert_eq!(cfg.repo.as_deref(), Some("/etc/firekeep/backups"));
        assert_eq!(cfg.key_file.unwrap(), PathBuf::from("/etc/firekeep/k"));
        assert_eq!(cfg.credentials.unwrap(), PathBuf::from("/abs/sa.json"));
    }

    #[test]
    fn the_example_config_is_valid() {
        let cfg = parse(
            include_str!("../../examples/firekeep.toml"),
            Path::new("examples/firekeep.toml"),
        )
        .unwrap();
        assert_eq!(cfg.retention.keep_daily, Some(14));
        assert_eq!(cfg.backup.exclude, ["sessions"]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("36h").unwrap().as_secs(), 36 * 3600);
        assert_eq!(
            parse_duration("1y2m").unwrap().as_secs(),
            (365 + 60) * 86400
        );
        assert!(matches!(parse_duration("3x"), Err(CliError::Usage(_))));
        assert_eq!(parse_duration("6m").unwrap().as_secs(), 180 * 86400);
        for bad in ["", "5", "d", "3x", "1.5d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
