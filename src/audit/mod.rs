//! `derivd audit`: checks that every derived object the manifests list is still there and
//! still current, and optionally queues the regeneration of those that are not.
//!
//! Why: self-repair only works when S3's `ReducedRedundancyLostObject` notification
//! arrives. A misconfigured topic, a dead-lettered message, an event dropped while nothing
//! was listening, or a hand-deleted object leave a hole nobody hears about until a client
//! gets a 404. The manifests are the record of what should exist, so an audit walks them:
//!
//! 1. list the derived prefix of every configured bucket mapping, page by page, and pick
//!    the manifests out with [`KeyLayout::parse_manifest`];
//! 2. per manifest: read it, HEAD the source, HEAD every derived object it lists;
//! 3. judge each object ([`judge`]):
//!    - **orphaned** (`source_missing`): the source is gone;
//!    - **retired** (`transform_removed`): its transform left the catalogue. A kind of its
//!      own rather than a `stale` reason, so that "missing and stale" is exactly what
//!      `--repair` can fix: no job can make an object of a transform that does not exist;
//!    - **missing** (`absent`);
//!    - **stale** (`source_changed` / `transform_changed`): the object's
//!      `derivd-source-etag` / `derivd-digest` metadata (or, when an object has none, its
//!      manifest entry) differs from the source's current ETag / the catalogue digest.
//!
//! Requests are bounded: manifests are checked `concurrency` at a time, each doing its
//! GET and HEADs one after another, so at most `concurrency` requests are in flight while
//! the listing streams ahead lazily. A failed request is recorded in the report (which
//! then exits 2) and the audit goes on: one unreadable object must not hide the rest.
//!
//! With repair on, missing and stale objects are grouped by source and one forced job per
//! source goes to the job queue, so one decode serves all of a source's transforms.
//! Orphaned and retired objects are reported only.

mod repair;
mod report;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use futures_util::stream::{self, Stream, StreamExt};

pub use repair::repair_jobs;
pub use report::{
    reason, AuditIssue, AuditReport, Counts, Finding, FindingKind, RepairSummary, EXIT_ERROR,
    EXIT_HEALTHY, EXIT_PROBLEMS,
};

use crate::catalogue::Catalogue;
use crate::derive::identity::{self, Identity, Verdict};
use crate::derive::{BucketMap, Mapping};
use crate::manifest::{self, ManifestEntry};
use crate::queue::Queue;
use crate::storage::{ObjectMeta, ObjectStore};

/// What an audit reads and where `--repair` sends its jobs.
pub struct Auditor {
    pub store: Arc<dyn ObjectStore>,
    pub buckets: BucketMap,
    pub catalogue: Arc<Catalogue>,
    /// The job queue, for `--repair` (which fails without one).
    pub jobs: Option<Arc<dyn Queue>>,
}

/// Requests in flight at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Told how far the audit has got (the CLI draws a progress bar with it).
pub trait AuditProgress: Send + Sync {
    /// The listing found `n` more manifests.
    fn found(&self, n: u64);
    /// One manifest was checked: `objects` derived objects, `problems` of them unhealthy.
    fn checked(&self, objects: u64, problems: u64);
}

#[derive(Clone)]
pub struct AuditOptions {
    /// Queue forced regeneration jobs for missing and stale objects.
    pub repair: bool,
    /// Store requests in flight at once (0 is taken as 1).
    pub concurrency: usize,
    /// Source buckets to audit; empty = every configured bucket mapping.
    pub buckets: Vec<String>,
    pub progress: Option<Arc<dyn AuditProgress>>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            repair: false,
            concurrency: DEFAULT_CONCURRENCY,
            buckets: Vec::new(),
            progress: None,
        }
    }
}

/// Why an audit could not start. Failures while it runs go into [`AuditReport::errors`].
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("bucket {0:?} is not a configured source bucket (storage.buckets)")]
    UnknownBucket(String),
}

/// One unit of work from the listing.
enum Unit {
    Manifest {
        mapping: Arc<Mapping>,
        source_key: String,
    },
    ListFailed {
        bucket: String,
        prefix: String,
        message: String,
    },
}

/// Audits every manifest of the selected bucket mappings; see the module docs.
pub async fn audit(app: &Auditor, opts: &AuditOptions) -> Result<AuditReport, AuditError> {
    let mappings = select_mappings(&app.buckets, &opts.buckets)?;
    let concurrency = opts.concurrency.max(1);
    let progress = opts.progress.clone();
    let store = app.store.as_ref();
    let units = stream::iter(mappings)
        .flat_map(|m| manifests(store, Arc::new(m), progress.clone()))
        .map(|unit| check_unit(app, unit))
        .buffer_unordered(concurrency);
    let mut units = std::pin::pin!(units);
    let mut report = AuditReport::default();
    while let Some(part) = units.next().await {
        if let Some(p) = &progress {
            p.checked(part.counts.objects, part.findings.len() as u64);
        }
        merge(&mut report, part);
    }
    report.sort();
    if opts.repair {
        repair::enqueue_repairs(app, &mut report, concurrency).await;
    }
    Ok(report)
}

fn select_mappings(map: &BucketMap, buckets: &[String]) -> Result<Vec<Mapping>, AuditError> {
    let all = map.all();
    if buckets.is_empty() {
        return Ok(all.to_vec());
    }
    buckets
        .iter()
        .map(|b| {
            all.iter()
                .find(|m| &m.source == b)
                .cloned()
                .ok_or_else(|| AuditError::UnknownBucket(b.clone()))
        })
        .collect()
}

/// The manifests under one mapping's derived prefix, listed lazily page by page. A failed
/// listing ends the stream with a [`Unit::ListFailed`].
fn manifests<'a>(
    store: &'a dyn ObjectStore,
    mapping: Arc<Mapping>,
    progress: Option<Arc<dyn AuditProgress>>,
) -> impl Stream<Item = Unit> + 'a {
    let layout = mapping.layout.clone();
    // State: `Some(continuation)` while pages remain, `None` once the listing is done.
    stream::unfold(Some(None::<String>), move |state| {
        let (mapping, layout, progress) = (mapping.clone(), layout.clone(), progress.clone());
        async move {
            let continuation = state?;
            let bucket = mapping.derived.clone();
            match store.list(&bucket, layout.prefix(), continuation).await {
                Ok(page) => {
                    let units: Vec<Unit> = page
                        .objects
                        .iter()
                        .filter_map(|o| layout.parse_manifest(&o.key))
                        .map(|source_key| Unit::Manifest {
                            mapping: mapping.clone(),
                            source_key,
                        })
                        .collect();
                    if let Some(p) = &progress {
                        p.found(units.len() as u64);
                    }
                    Some((stream::iter(units), page.next.map(Some)))
                }
                Err(e) => {
                    let failed = Unit::ListFailed {
                        bucket,
                        prefix: layout.prefix().to_string(),
                        message: format!("listing failed: {e}"),
                    };
                    Some((stream::iter(vec![failed]), None))
                }
            }
        }
    })
    .flatten()
}

async fn check_unit(app: &Auditor, unit: Unit) -> AuditReport {
    match unit {
        Unit::Manifest {
            mapping,
            source_key,
        } => check_source(app, &mapping, &source_key).await,
        Unit::ListFailed {
            bucket,
            prefix,
            message,
        } => {
            let mut part = AuditReport::default();
            part.add_error(&bucket, &prefix, message);
            part
        }
    }
}

/// Reads one manifest and judges every object it lists; a partial report.
async fn check_source(app: &Auditor, mapping: &Mapping, source_key: &str) -> AuditReport {
    let mut part = AuditReport::default();
    let store = app.store.as_ref();
    let derived_bucket = mapping.derived.as_str();
    let layout = &mapping.layout;
    let manifest_key = layout.manifest_key(source_key).unwrap_or_default();
    let manifest = match manifest::read(store, derived_bucket, layout, source_key).await {
        Ok(Some((m, _etag))) => m,
        // Deleted since it was listed (its source was removed and cleaned up): nothing
        // left to audit.
        Ok(None) => return part,
        Err(e) => {
            part.add_error(derived_bucket, &manifest_key, e.to_string());
            return part;
        }
    };
    part.counts.manifests = 1;
    let source = match store.head(&mapping.source, source_key).await {
        Ok(s) => s,
        Err(e) => {
            part.add_error(&mapping.source, source_key, format!("source HEAD: {e}"));
            return part;
        }
    };
    let source_etag = source.as_ref().map(|s| s.etag.as_str());
    for (transform, entry) in &manifest.derived {
        let head = match store.head(derived_bucket, &entry.key).await {
            Ok(h) => h,
            Err(e) => {
                part.add_error(derived_bucket, &entry.key, e.to_string());
                continue;
            }
        };
        part.counts.objects += 1;
        // A fill made at the source's focal point carries the digest that includes it.
        let digest = app
            .catalogue
            .get(transform)
            .map(|t| crate::derive::identity::digest_for(t, manifest.focus));
        match judge(entry, head.as_ref(), source_etag, digest.as_deref()) {
            None => part.counts.healthy += 1,
            Some((kind, why)) => part.add_finding(Finding {
                bucket: derived_bucket.to_string(),
                key: entry.key.clone(),
                source_bucket: mapping.source.clone(),
                source_key: source_key.to_string(),
                transform: transform.clone(),
                kind,
                reason: why.to_string(),
                present: head.is_some(),
            }),
        }
    }
    part
}

/// What is wrong with one manifest entry, if anything. `head` is the derived object (if
/// present), `source_etag` the source's current ETag (if the source exists), `digest` the
/// catalogue's current digest of the transform (if it still exists). First match wins:
/// orphaned, retired, then the deriver's own judgement ([`identity::judge`]).
pub fn judge(
    entry: &ManifestEntry,
    head: Option<&ObjectMeta>,
    source_etag: Option<&str>,
    digest: Option<&str>,
) -> Option<(FindingKind, &'static str)> {
    let Some(source_etag) = source_etag else {
        return Some((FindingKind::Orphaned, reason::SOURCE_MISSING));
    };
    let Some(digest) = digest else {
        return Some((FindingKind::Retired, reason::TRANSFORM_REMOVED));
    };
    let wanted = Identity {
        source_etag: source_etag.to_string(),
        digest: digest.to_string(),
    };
    match identity::judge(&wanted, head, Some(entry)) {
        Verdict::Current => None,
        Verdict::Missing => Some((FindingKind::Missing, reason::ABSENT)),
        Verdict::SourceChanged => Some((FindingKind::Stale, reason::SOURCE_CHANGED)),
        Verdict::TransformChanged => Some((FindingKind::Stale, reason::TRANSFORM_CHANGED)),
        Verdict::Unrecorded => Some((FindingKind::Stale, reason::UNRECORDED)),
    }
}

fn merge(report: &mut AuditReport, part: AuditReport) {
    let (c, p) = (&mut report.counts, &part.counts);
    c.manifests += p.manifests;
    c.objects += p.objects;
    c.healthy += p.healthy;
    c.errors += p.errors;
    report.errors.extend(part.errors);
    for f in part.findings {
        report.add_finding(f);
    }
}
