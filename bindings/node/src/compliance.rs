//! Erasure, export and legal hold on a `Client` (`client.erase`, `.export`, `.hold`,
//! `.releaseHold`): arguments mapped to the core's options, reports as the core's JSON.

use crate::client::Client;
use crate::errors::{invalid_input, to_json, type_err};
use crate::runtime::{CancelToken, spawn, token_of};
use firekeep_core::engine::{DirOutput, EraseOptions, EraseSelector, ExportOptions, FieldMatch};
use firekeep_core::model::json;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::PathBuf;

/// What to erase; `equalsJson` is the matched value in Firestore REST JSON (`lib/` encodes
/// JS values with the same mapping as documents).
#[napi(object)]
#[derive(Default)]
pub struct NativeEraseOptions {
    pub paths: Option<Vec<String>>,
    pub collection_group: Option<String>,
    pub field: Option<String>,
    pub equals_json: Option<String>,
    pub subcollections: Option<bool>,
    pub backups: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

fn erase_options(o: NativeEraseOptions) -> Result<EraseOptions> {
    let field_match = match (o.collection_group, o.field, o.equals_json) {
        (Some(collection_group), Some(field), Some(v)) => Some(FieldMatch {
            collection_group,
            field,
            value: json::decode_value(v.as_bytes()).map_err(invalid_input)?,
        }),
        (None, None, None) => None,
        _ => {
            return Err(type_err(
                "a field match needs collectionGroup, field and equals together",
            ));
        }
    };
    Ok(EraseOptions {
        selector: EraseSelector {
            paths: o.paths.unwrap_or_default(),
            field_match,
            include_subcollections: o.subcollections.unwrap_or(false),
        },
        backups: o.backups.unwrap_or_default(),
        dry_run: o.dry_run.unwrap_or(false),
    })
}

#[napi]
impl Client {
    /// Erases documents from every backup holding them (or `backups`); resolves with the
    /// report as JSON. Needs `erase_data`; a backup under legal hold refuses it.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn erase<'e>(
        &self,
        env: &'e Env,
        options: NativeEraseOptions,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let opts = erase_options(options)?;
        let client = self.inner.clone();
        let t = token_of(cancel);
        spawn(
            env,
            async move { Ok(to_json(&client.erase(&opts, &t).await?)) },
        )
    }

    /// Exports a backup, decrypted, into directory `out` as `ndjson`, `json` or `csv`;
    /// resolves with the report as JSON. Needs `export_data`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn export<'e>(
        &self,
        env: &'e Env,
        backup_id: String,
        out: String,
        collections: Option<Vec<String>>,
        format: Option<String>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'e, String>> {
        let opts = ExportOptions {
            collections: collections.unwrap_or_default(),
            format: format
                .as_deref()
                .unwrap_or("ndjson")
                .parse()
                .map_err(invalid_input)?,
        };
        let client = self.inner.clone();
        let t = token_of(cancel);
        spawn(env, async move {
            let mut dir = DirOutput(PathBuf::from(out));
            Ok(to_json(
                &client.export(&backup_id, &opts, &mut dir, &t).await?,
            ))
        })
    }

    /// Places a legal hold (`manage_legal_holds`); resolves with the hold as JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn hold<'e>(
        &self,
        env: &'e Env,
        backup_id: String,
        reason: String,
    ) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        spawn(env, async move {
            Ok(to_json(&client.hold(&backup_id, &reason).await?))
        })
    }

    /// Releases a legal hold; resolves with the released hold as JSON (`null` if none).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn release_hold<'e>(
        &self,
        env: &'e Env,
        backup_id: String,
    ) -> Result<PromiseRaw<'e, String>> {
        let client = self.inner.clone();
        spawn(env, async move {
            Ok(to_json(&client.release_hold(&backup_id).await?))
        })
    }
}
