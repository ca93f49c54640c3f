//! Redaction: secrets never reach a sink, whether they sit under a secret-sounding key or
//! appear as a known secret value anywhere in an event's free text.

use super::AuditEvent;
use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Fragments of key names that hold secrets (compared lower-case, without `_`, `-`, `.`).
const SECRET_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "accountkey",
    "saskey",
    "encryptionkey",
    "rawkey",
    "datakey",
    "keymaterial",
    "credential",
    "authorization",
    "cookie",
    "sessionkey",
];

/// Whether a detail key names a secret (`passphrase`, `api_key`, `accessToken` ...). Keys
/// ending in `id`/`ids` (`key_id`, `api_key_id`) name non-secret identifiers and are kept.
pub fn is_secret_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    if norm.ends_with("id") || norm.ends_with("ids") {
        return false;
    }
    norm == "dek" || SECRET_FRAGMENTS.iter().any(|f| norm.contains(f))
}

fn scrub_str(s: &mut String, secrets: &[&str]) {
    for secret in secrets {
        if !secret.is_empty() && s.contains(secret) {
            *s = s.replace(secret, REDACTED);
        }
    }
}

fn scrub_opt(s: &mut Option<String>, secrets: &[&str]) {
    if let Some(s) = s {
        scrub_str(s, secrets);
    }
}

fn redact_value(v: &mut Value, secrets: &[&str]) {
    match v {
        Value::String(s) => scrub_str(s, secrets),
        Value::Array(a) => a.iter_mut().for_each(|x| redact_value(x, secrets)),
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if is_secret_key(k) {
                    *x = Value::String(REDACTED.to_string());
                } else {
                    redact_value(x, secrets);
                }
            }
        }
        _ => {}
    }
}

/// Redacts an event in place: every detail under a secret-named key (at any depth), and
/// every occurrence of one of `secrets` in the actor, resource, context and details.
pub fn redact_event(event: &mut AuditEvent, secrets: &[&str]) {
    for (k, x) in event.details.iter_mut() {
        if is_secret_key(k) {
            *x = Value::String(REDACTED.to_string());
        } else {
            redact_value(x, secrets);
        }
    }
    if secrets.is_empty() {
        return;
    }
    scrub_str(&mut event.actor.id, secrets);
    scrub_opt(&mut event.actor.email, secrets);
    scrub_str(&mut event.resource.id, secrets);
    scrub_opt(&mut event.context.ip, secrets);
    scrub_opt(&mut event.context.user_agent, secrets);
    scrub_opt(&mut event.context.location, secrets);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        for k in [
            "passphrase",
            "api_key",
            "apiKey",
            "accessToken",
            "SECRET",
            "raw-key",
            "dek",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "key_id",
            "apiKeyId",
            "backup_id",
            "documents",
            "keyIds",
            "collections",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
