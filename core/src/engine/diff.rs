//! `diff`: documents added, removed and changed between two backups, or between a backup
//! and the live database. Both sides are streamed in name order and merged, so memory
//! stays bounded by a part (plus the name lists, capped by `max_names`).

use super::pool::{Pool, default_parallelism};
use super::progress::CancellationToken;
use super::repo::{Opened, Repository};
use super::verify::{fetch_parts, problems_error};
use crate::keys::KeyProvider;
use crate::model::{Document, DocumentPath, Timestamp};
use crate::source::{FirestoreSource, NameRange, Scope};
use crate::{Error, Result};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use std::cmp::Ordering;
use std::sync::Arc;

/// How to compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffOptions {
    /// Which documents to compare; `None` uses the (first) backup's scope.
    pub scope: Option<Scope>,
    /// Most names listed per category (counts are always exact). Default 10,000.
    pub max_names: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            scope: None,
            max_names: 10_000,
        }
    }
}

/// Differences from `from` to `to`. Names are relative document paths
/// (`users/alice/posts/1`); documents are compared by their fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiffReport {
    /// The older side (a backup id).
    pub from: String,
    /// The newer side (a backup id, or `live@<read time>`).
    pub to: String,
    /// Documents only in `to`.
    pub added: u64,
    /// Documents only in `from`.
    pub removed: u64,
    /// Documents in both with different fields.
    pub changed: u64,
    /// Documents in both with the same fields.
    pub unchanged: u64,
    /// Names of added documents (at most `max_names`).
    pub added_names: Vec<String>,
    /// Names of removed documents (at most `max_names`).
    pub removed_names: Vec<String>,
    /// Names of changed documents (at most `max_names`).
    pub changed_names: Vec<String>,
    /// Whether any name list was cut at `max_names`.
    pub truncated: bool,
}

impl DiffReport {
    /// Whether the two sides hold the same documents.
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.removed == 0 && self.changed == 0
    }
}

type DocStream<'a> = BoxStream<'a, Result<(DocumentPath, Document)>>;

/// The documents of an opened backup inside `scope`, in name order, each part checked.
fn backup_docs<'a>(
    repo: &'a Repository,
    opened: &'a Opened,
    pool: &'a Pool,
    scope: Scope,
) -> DocStream<'a> {
    let id = opened.id.clone();
    fetch_parts(
        repo,
        opened,
        pool,
        (0..opened.manifest.parts.len()).collect(),
        2,
    )
    .map(move |(_, r)| r.map_err(|p| problems_error(&id, &[p])))
    .map_ok(|docs| stream::iter(docs.into_iter().map(Ok::<_, Error>)))
    .try_flatten()
    .try_filter_map(move |doc| {
        let r = doc
            .path()
            .map(|(_, p)| scope.contains(&p).then_some((p, doc)));
        futures::future::ready(r)
    })
    .boxed()
}

async fn merge(
    mut a: DocStream<'_>,
    mut b: DocStream<'_>,
    mut report: DiffReport,
    max_names: usize,
    cancel: &CancellationToken,
) -> Result<DiffReport> {
    fn note(list: &mut Vec<String>, truncated: &mut bool, max: usize, p: &DocumentPath) {
        if list.len() < max {
            list.push(p.to_string());
        } else {
            *truncated = true;
        }
    }
    let mut x = a.try_next().await?;
    let mut y = b.try_next().await?;
    let mut steps = 0u32;
    loop {
        steps = steps.wrapping_add(1);
        if steps % 1024 == 0 {
            cancel.check()?;
        }
        let ord = match (&x, &y) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((p, _)), Some((q, _))) => p.cmp(q),
        };
        match ord {
            Ordering::Less => {
                let (p, _) = x.take().expect("checked above");
                report.removed += 1;
                note(
                    &mut report.removed_names,
                    &mut report.truncated,
                    max_names,
                    &p,
                );
                x = a.try_next().await?;
            }
            Ordering::Greater => {
                let (q, _) = y.take().expect("checked above");
                report.added += 1;
                note(
                    &mut report.added_names,
                    &mut report.truncated,
                    max_names,
                    &q,
                );
                y = b.try_next().await?;
            }
            Ordering::Equal => {
                let (p, d1) = x.take().expect("checked above");
                let (_, d2) = y.take().expect("checked above");
                if d1.fields == d2.fields {
                    report.unchanged += 1;
                } else {
                    report.changed += 1;
                    note(
                        &mut report.changed_names,
                        &mut report.truncated,
                        max_names,
                        &p,
                    );
                }
                x = a.try_next().await?;
                y = b.try_next().await?;
            }
        }
    }
    Ok(report)
}

/// Compares backup `from` with backup `to`.
pub async fn diff_backups(
    repo: &Repository,
    keys: &dyn KeyProvider,
    from: &str,
    to: &str,
    opts: &DiffOptions,
    cancel: &CancellationToken,
) -> Result<DiffReport> {
    cancel.check()?;
    let a = repo.open_backup(from, keys).await?;
    let b = repo.open_backup(to, keys).await?;
    let scope = opts
        .scope
        .clone()
        .unwrap_or_else(|| a.manifest.scope.clone());
    let pool = Pool::new(default_parallelism(), "diff")?;
    let report = DiffReport {
        from: from.to_string(),
        to: to.to_string(),
        ..Default::default()
    };
    merge(
        backup_docs(repo, &a, &pool, scope.clone()),
        backup_docs(repo, &b, &pool, scope),
        report,
        opts.max_names,
        cancel,
    )
    .await
}

/// Compares backup `backup_id` with the live database `source` at `read_time` (now when
/// `None`). "Added" means in the database but not in the backup.
pub async fn diff_backup_with_source(
    repo: &Repository,
    keys: &dyn KeyProvider,
    backup_id: &str,
    source: Arc<dyn FirestoreSource>,
    read_time: Option<Timestamp>,
    opts: &DiffOptions,
    cancel: &CancellationToken,
) -> Result<DiffReport> {
    cancel.check()?;
    let a = repo.open_backup(backup_id, keys).await?;
    let scope = opts
        .scope
        .clone()
        .unwrap_or_else(|| a.manifest.scope.clone());
    let read_time = match read_time {
        Some(t) => t,
        None => source.snapshot_time().await?,
    };
    let pool = Pool::new(default_parallelism(), "diff")?;
    let live = source
        .stream_documents(&scope, NameRange::all(), read_time)
        .and_then(|doc| futures::future::ready(doc.path().map(|(_, p)| (p, doc))))
        .boxed();
    let report = DiffReport {
        from: backup_id.to_string(),
        to: format!("live@{read_time}"),
        ..Default::default()
    };
    merge(
        backup_docs(repo, &a, &pool, scope),
        live,
        report,
        opts.max_names,
        cancel,
    )
    .await
}
