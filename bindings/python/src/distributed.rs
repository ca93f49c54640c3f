//! A backup split into tasks (`firekeep.distributed`): the core's plan, task and commit
//! steps, each a blocking call with the GIL released. Dask (or any other scheduler) runs
//! the tasks; this layer only maps arguments and reports (JSON).

use crate::client::{Client, opt_ts};
use crate::errors::py_err;
use crate::firestore::Firestore;
use crate::runtime::{block_on, to_json};
use firekeep_core::engine::{
    BackupOptions, CancellationToken as CoreToken, PlanOptions, TaskOptions,
};
use firekeep_core::model::DatabaseId;
use firekeep_core::source::Scope;
use pyo3::prelude::*;
use std::collections::BTreeMap;

/// Plans a distributed backup of `source`; returns the plan report as JSON.
#[pyfunction]
#[pyo3(signature = (client, source, *, task_count, collections=None, subcollections=true, exclude=vec![], read_time=None, labels=None, partitions_per_task=1))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_backup(
    py: Python<'_>,
    client: &Client,
    source: &Firestore,
    task_count: usize,
    collections: Option<Vec<String>>,
    subcollections: bool,
    exclude: Vec<String>,
    read_time: Option<&Bound<'_, PyAny>>,
    labels: Option<BTreeMap<String, String>>,
    partitions_per_task: usize,
) -> PyResult<String> {
    let opts = PlanOptions {
        backup: BackupOptions {
            scope: Scope::of(collections.unwrap_or_default(), subcollections, exclude),
            read_time: opt_ts(read_time)?,
            labels: labels.unwrap_or_default(),
            ..BackupOptions::default()
        },
        task_count,
        partitions_per_task,
    };
    let client = client.inner.clone();
    let source = source.clone();
    block_on(py, async move {
        let conn = source.connect().await?;
        Ok(to_json(&client.plan_backup(conn, &opts).await?))
    })
}

/// Runs task `task_index` of the distributed backup `backup_id`; returns its report (JSON).
#[pyfunction]
#[pyo3(signature = (client, source, backup_id, task_index, task_count=None))]
pub(crate) fn backup_task(
    py: Python<'_>,
    client: &Client,
    source: &Firestore,
    backup_id: String,
    task_index: usize,
    task_count: Option<usize>,
) -> PyResult<String> {
    let client = client.inner.clone();
    let source = source.clone();
    block_on(py, async move {
        let conn = source.connect().await?;
        let r = client
            .backup_task(
                conn,
                &backup_id,
                task_index,
                task_count,
                &TaskOptions::default(),
                None,
                &CoreToken::new(),
            )
            .await?;
        Ok(to_json(&r))
    })
}

/// Commits the distributed backup `backup_id` planned on `source`'s database; returns the
/// backup report (JSON).
#[pyfunction]
pub(crate) fn commit_backup(
    py: Python<'_>,
    client: &Client,
    source: &Firestore,
    backup_id: String,
) -> PyResult<String> {
    let client = client.inner.clone();
    let db = DatabaseId::new(source.project_id(), source.database_id()).map_err(py_err)?;
    block_on(py, async move {
        Ok(to_json(
            &client
                .commit_backup(&db, &backup_id, &CoreToken::new())
                .await?,
        ))
    })
}
