//! Erasure, export and legal hold on a `Client` (`firekeep.Client.erase`, `.export`,
//! `.hold`, `.release_hold`): arguments mapped to the core's options, nothing more.

use crate::client::Client;
use crate::errors::{py_err, value_err};
use crate::runtime::{CancellationToken, block_on, to_json, token_of};
use crate::values::py_to_value;
use firekeep_core::engine::{DirOutput, EraseOptions, EraseSelector, ExportOptions, FieldMatch};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Erases documents from backups; returns the report as JSON.
#[pyfunction]
#[pyo3(signature = (client, *, paths=vec![], collection_group=None, field=None, equals=None, subcollections=false, backups=vec![], dry_run=false, cancel=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn client_erase(
    py: Python<'_>,
    client: &Client,
    paths: Vec<String>,
    collection_group: Option<String>,
    field: Option<String>,
    equals: Option<&Bound<'_, PyAny>>,
    subcollections: bool,
    backups: Vec<String>,
    dry_run: bool,
    cancel: Option<&CancellationToken>,
) -> PyResult<String> {
    let field_match = match (collection_group, field, equals) {
        (Some(collection_group), Some(field), Some(v)) => Some(FieldMatch {
            collection_group,
            field,
            value: py_to_value(v, 0)?,
        }),
        (None, None, None) => None,
        _ => {
            return Err(value_err(
                "a field match needs collection_group, field and equals together",
            ));
        }
    };
    let opts = EraseOptions {
        selector: EraseSelector {
            paths,
            field_match,
            include_subcollections: subcollections,
        },
        backups,
        dry_run,
    };
    let inner = client.inner.clone();
    let token = token_of(cancel);
    block_on(py, async move {
        Ok(to_json(&inner.erase(&opts, &token).await?))
    })
}

/// Exports a backup into directory `out`; returns the report as JSON.
#[pyfunction]
#[pyo3(signature = (client, backup_id, out, *, collections=vec![], format="ndjson", cancel=None))]
pub(crate) fn client_export(
    py: Python<'_>,
    client: &Client,
    backup_id: String,
    out: PathBuf,
    collections: Vec<String>,
    format: &str,
    cancel: Option<&CancellationToken>,
) -> PyResult<String> {
    let opts = ExportOptions {
        collections,
        format: format.parse().map_err(py_err)?,
    };
    let inner = client.inner.clone();
    let token = token_of(cancel);
    block_on(py, async move {
        let mut dir = DirOutput(out);
        Ok(to_json(
            &inner.export(&backup_id, &opts, &mut dir, &token).await?,
        ))
    })
}

/// Places a legal hold; returns the hold as JSON.
#[pyfunction]
#[pyo3(signature = (client, backup_id, reason=""))]
pub(crate) fn client_hold(
    py: Python<'_>,
    client: &Client,
    backup_id: String,
    reason: &str,
) -> PyResult<String> {
    let inner = client.inner.clone();
    let reason = reason.to_string();
    block_on(py, async move {
        Ok(to_json(&inner.hold(&backup_id, &reason).await?))
    })
}

/// Releases a legal hold; returns the released hold as JSON (`null` if none).
#[pyfunction]
pub(crate) fn client_release_hold(
    py: Python<'_>,
    client: &Client,
    backup_id: String,
) -> PyResult<String> {
    let inner = client.inner.clone();
    block_on(py, async move {
        Ok(to_json(&inner.release_hold(&backup_id).await?))
    })
}
