//! Where the key comes from: a passphrase (file, `FIREKEEP_PASSPHRASE`, or a no-echo prompt)
//! or a raw key (file or `FIREKEEP_KEY`, base64 of 32 bytes). Never a command-line argument,
//! since arguments are visible to every user through `ps` and shell history.
//!
//! When several sources are set, the highest level wins (flag > environment > config file);
//! two different sources at the same level are an error rather than a guess.

use crate::config::Source;
use crate::error::{CliError, CliResult};
use firekeep_core::secret::SecretString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Environment variable holding a passphrase.
pub const ENV_PASSPHRASE: &str = "FIREKEEP_PASSPHRASE";
/// Environment variable holding a raw key (base64).
pub const ENV_KEY: &str = "FIREKEEP_KEY";
/// Environment variable holding the new passphrase for `rotate-key`.
pub const ENV_NEW_PASSPHRASE: &str = "FIREKEEP_NEW_PASSPHRASE";
/// Environment variable holding the new raw key for `rotate-key`.
pub const ENV_NEW_KEY: &str = "FIREKEEP_NEW_KEY";

/// A key the user supplied. Both variants hold secrets (redacted when printed).
#[derive(Debug, Clone)]
pub enum KeySecret {
    /// A passphrase, stretched with PBKDF2 by the passphrase key provider.
    Passphrase(SecretString),
    /// Base64 text of a 32-byte key.
    Raw(SecretString),
    /// An AWS KMS key id or a Google Cloud KMS key name (not a secret: the KMS holds the key).
    Kms(String),
}

/// One candidate key source with its level.
#[derive(Debug, Clone)]
pub enum Candidate {
    /// `--passphrase-file`.
    PassphraseFile(PathBuf),
    /// `--key-file`.
    KeyFile(PathBuf),
    /// An environment variable holding a passphrase.
    PassphraseEnv(&'static str),
    /// An environment variable holding a raw key.
    KeyEnv(&'static str),
    /// An AWS KMS key id or a Google Cloud KMS key name.
    Kms(String),
}

impl Candidate {
    fn describe(&self) -> String {
        match self {
            Candidate::PassphraseFile(p) => format!("passphrase file {}", p.display()),
            Candidate::KeyFile(p) => format!("key file {}", p.display()),
            Candidate::PassphraseEnv(v) | Candidate::KeyEnv(v) => format!("${v}"),
            Candidate::Kms(k) => format!("KMS key {k}"),
        }
    }
}

/// How to ask when nothing is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Ask once (reading existing backups).
    Once,
    /// Ask twice and compare (creating backups under a new key: a typo would be permanent).
    Confirm,
    /// Never ask (non-interactive commands).
    Never,
}

/// Picks the key source with the highest precedence and reads it.
pub fn resolve(
    candidates: Vec<(Candidate, Source)>,
    prompt: Prompt,
    prompt_label: &str,
    what: &str,
) -> CliResult<KeySecret> {
    let Some(best) = candidates.iter().map(|(_, s)| *s).min() else {
        return prompt_for(prompt, prompt_label, what);
    };
    let top: Vec<&Candidate> = candidates
        .iter()
        .filter(|(_, s)| *s == best)
        .map(|(c, _)| c)
        .collect();
    if top.len() > 1 {
        let names: Vec<String> = top.iter().map(|c| c.describe()).collect();
        return Err(CliError::usage(format!(
            "{what}: several key sources are set ({}); set only one",
            names.join(", ")
        )));
    }
    read(top[0])
}

/// The candidates from the environment variables `pass_var` / `key_var`.
pub fn env_candidates(pass_var: &'static str, key_var: &'static str) -> Vec<(Candidate, Source)> {
    let mut out = Vec::new();
    if std::env::var_os(pass_var).is_some_and(|v| !v.is_empty()) {
        out.push((Candidate::PassphraseEnv(pass_var), Source::Env));
    }
    if std::env::var_os(key_var).is_some_and(|v| !v.is_empty()) {
        out.push((Candidate::KeyEnv(key_var), Source::Env));
    }
    out
}

fn read(c: &Candidate) -> CliResult<KeySecret> {
    match c {
        Candidate::PassphraseFile(p) => {
            let text = read_secret_file(p, "reading passphrase file")?;
            // The first line: `echo secret > file` adds a newline that is not part of it.
            let line = text.expose().lines().next().unwrap_or("").to_string();
            non_empty(SecretString::from(line), &c.describe()).map(KeySecret::Passphrase)
        }
        Candidate::KeyFile(p) => non_empty(read_key_file(p)?, &c.describe()).map(KeySecret::Raw),
        Candidate::PassphraseEnv(v) => {
            non_empty(env_secret(v)?, &c.describe()).map(KeySecret::Passphrase)
        }
        Candidate::KeyEnv(v) => non_empty(env_secret(v)?, &c.describe()).map(KeySecret::Raw),
        Candidate::Kms(k) if k.trim().is_empty() => Err(CliError::usage("the KMS key id is empty")),
        Candidate::Kms(k) => Ok(KeySecret::Kms(k.clone())),
    }
}

/// Reads a raw key file: the base64 text, ignoring lines that start with `#` (the demo
/// labels its key file that way).
pub fn read_key_file(path: &Path) -> CliResult<SecretString> {
    let text = read_secret_file(path, "reading key file")?;
    let key: String = text
        .expose()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .concat();
    Ok(SecretString::from(key))
}

fn env_secret(var: &str) -> CliResult<SecretString> {
    std::env::var(var)
        .map(SecretString::from)
        .map_err(|_| CliError::usage(format!("${var} is not valid UTF-8")))
}

fn non_empty(s: SecretString, what: &str) -> CliResult<SecretString> {
    if s.expose().trim().is_empty() {
        Err(CliError::usage(format!("{what} is empty")))
    } else {
        Ok(s)
    }
}

fn read_secret_file(path: &Path, what: &'static str) -> CliResult<SecretString> {
    let bytes = std::fs::read(path).map_err(|e| CliError::file(what, path, e))?;
    String::from_utf8(bytes)
        .map(SecretString::from)
        .map_err(|_| CliError::usage(format!("{} is not UTF-8 text", path.display())))
}

fn prompt_for(prompt: Prompt, label: &str, what: &str) -> CliResult<KeySecret> {
    let no_key = || {
        CliError::usage(format!(
            "{what}: no key given; use --passphrase-file FILE, --key-file FILE, --kms-key KEY, \
             or set {ENV_PASSPHRASE} or {ENV_KEY} (a passphrase prompt needs a terminal)"
        ))
    };
    if prompt == Prompt::Never || !std::io::stdin().is_terminal() {
        return Err(no_key());
    }
    let ask = |l: &str| -> CliResult<SecretString> {
        rpassword::prompt_password(l)
            .map(SecretString::from)
            .map_err(|e| CliError::usage(format!("could not read the passphrase: {e}")))
    };
    let first = ask(&format!("{label}: "))?;
    if first.expose().is_empty() {
        return Err(no_key());
    }
    if prompt == Prompt::Confirm {
        let again = ask(&format!("{label} (again): "))?;
        if again.expose() != first.expose() {
            return Err(CliError::usage("the passphrases did not match; try again"));
        }
    }
    Ok(KeySecret::Passphrase(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_level_wins_and_ties_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let pp = dir.path().join("pp");
        std::fs::write(&pp, "correct horse battery staple\nignored\n").unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").unwrap();

        let got = resolve(
            vec![
                (Candidate::KeyFile(key.clone()), Source::File),
                (Candidate::PassphraseFile(pp.clone()), Source::Flag),
            ],
            Prompt::Never,
            "Passphrase",
            "key",
        )
        .unwrap();
        match got {
            KeySecret::Passphrase(s) => assert_eq!(s.expose(), "correct horse battery staple"),
            other => panic!("{other:?}"),
        }

        let err = resolve(
            vec![
                (Candidate::KeyFile(key.clone()), Source::Flag),
                (Candidate::PassphraseFile(pp), Source::Flag),
            ],
            Prompt::Never,
            "Passphrase",
            "key",
        )
        .unwrap_err();
        assert!(err.to_string().contains("several key sources"), "{err}");
        assert!(!err.to_string().contains("horse"));

        let err = resolve(vec![], Prompt::Never, "Passphrase", "key").unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
