//! Self-repair: put back derived objects that Reduced Redundancy Storage lost.
//!
//! S3 reports each loss as a `ReducedRedundancyLostObject` event (through SNS, to the
//! repair queue). Each lost key is parsed back to (source key, transform) with the key
//! layout of the derived bucket it came from; losses of one source in one batch share one
//! decode; the object is rewritten with the same key, storage class, content type and
//! metadata, and nothing else is touched (the manifest already lists it).
//!
//! - Source gone, or transform no longer in the catalogue: an **orphan** — logged,
//!   counted, reported in a failure notice, and not retried.
//! - Already back with the current source ETag and digest (duplicate or late event):
//!   skipped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::app::App;
use crate::catalogue::Transform;
use crate::config::BucketMapping;
use crate::engine::Fault;
use crate::job::ObjectRef;
use crate::keys::KeyLayout;
use crate::manifest::ManifestEntry;
use crate::notice::{Notice, NoticeDerived};
use crate::storage::{PutCondition, PutRequest};
use crate::worker::run::{derived_metadata, META_DIGEST, META_SOURCE_ETAG};
use crate::worker::JobError;

pub mod pool;

/// Handles a batch of lost objects; `Some(fault)` means leave the message for retry.
pub async fn handle_lost(app: &App, objects: &[ObjectRef]) -> Option<Fault> {
    repair_batch(app, objects)
        .await
        .into_iter()
        .flatten()
        .next()
}

/// Repairs `objects`, decoding each source once however many of its objects were lost.
/// Returns, per object, `Some(fault)` when it must be retried.
pub async fn repair_batch(app: &App, objects: &[ObjectRef]) -> Vec<Option<Fault>> {
    let mut outcome = vec![None; objects.len()];
    // Group by (mapping, source) so each source is decoded once.
    type Group = (BucketMapping, Vec<String>, Vec<usize>);
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        let Some((mapping, parts)) = locate(app, o) else {
            warn!(bucket = %o.bucket, key = %o.key, "lost object is not a derived object of ours");
            app.metrics
                .repairs
                .with_label_values(&["not_derived"])
                .inc();
            continue;
        };
        let g = groups
            .entry((mapping.source.clone(), parts.source_key.clone()))
            .or_insert_with(|| (mapping.clone(), Vec::new(), Vec::new()));
        g.1.push(parts.transform);
        g.2.push(i);
    }
    for ((_, source), (mapping, transforms, members)) in groups {
        if let Some(fault) = repair_group(app, &mapping, &source, &transforms).await {
            for i in members {
                outcome[i] = Some(fault);
            }
        }
    }
    outcome
}

async fn repair_group(
    app: &App,
    mapping: &BucketMapping,
    source: &str,
    transforms: &[String],
) -> Option<Fault> {
    let started = Instant::now();
    let limit = Duration::from_secs(app.cfg.worker.job_timeout_secs);
    let r = tokio::time::timeout(
        limit,
        repair_source(app, mapping, source, transforms, started + limit),
    )
    .await
    .unwrap_or_else(|_| Err(JobError::transient("timeout", "repair over the job limit")));
    app.metrics
        .stage_duration
        .with_label_values(&["repair"])
        .observe(started.elapsed().as_secs_f64());
    match r {
        Ok(done) => {
            info!(%source, repaired = done.len(), "repaired");
            for d in &done {
                app.metrics.repairs.with_label_values(&["repaired"]).inc();
                app.metrics
                    .derived_objects
                    .with_label_values(&[&d.derived.transform])
                    .inc();
            }
            None
        }
        Err(e) if e.fault == Fault::Client => {
            warn!(%source, reason = e.reason, error = %e.message, "orphaned derived object");
            app.metrics.repairs.with_label_values(&["orphan"]).inc();
            let notice = Notice {
                id: None,
                bucket: mapping.source.clone(),
                source: source.to_string(),
                status: "failed".into(),
                derived: Vec::new(),
                error: Some(format!("orphan ({}): {}", e.reason, e.message)),
            };
            if let Err(e) = app.notifier.publish(&notice).await {
                warn!(error = %e, "could not publish notice");
            }
            None
        }
        Err(e) => {
            warn!(%source, reason = e.reason, error = %e.message, "repair failed; will retry");
            app.metrics.repairs.with_label_values(&["retry"]).inc();
            Some(e.fault)
        }
    }
}

/// Which configured mapping a lost key belongs to, and what it was derived from.
fn locate(app: &App, o: &ObjectRef) -> Option<(BucketMapping, crate::keys::DerivedKeyParts)> {
    app.cfg
        .bucket_mappings()
        .into_iter()
        .filter(|m| m.derived() == o.bucket)
        .find_map(|m| {
            let parts = KeyLayout::new(m.prefix.clone()).parse(&o.key).ok()?;
            Some((m, parts))
        })
}

/// Regenerates the given transforms of one source; returns what was rewritten.
pub async fn repair_source(
    app: &App,
    mapping: &BucketMapping,
    source_key: &str,
    transform_names: &[String],
    deadline: Instant,
) -> Result<Vec<Regenerated>, JobError> {
    let layout = KeyLayout::new(mapping.prefix.clone());
    let mut transforms: Vec<Arc<Transform>> = Vec::new();
    for name in transform_names {
        let t = app.catalogue.get(name).ok_or_else(|| {
            JobError::client(
                "transform_removed",
                format!("transform {name:?} no longer exists"),
            )
        })?;
        if !transforms.iter().any(|x| x.name == t.name) {
            transforms.push(t.clone());
        }
    }
    let source = crate::worker::run::fetch_source(app, &mapping.source, source_key).await?;
    let etag = source.meta.etag.clone();
    // Skip what is already back (a duplicate or late event).
    let mut owed = Vec::new();
    for t in transforms {
        let key = layout
            .derived_key(source_key, &t.name, t.output.format.extension())
            .map_err(|e| JobError::client("invalid_key", e.to_string()))?;
        let head = app.store.head(mapping.derived(), &key).await?;
        let current = head.is_some_and(|m| {
            m.metadata.get(META_SOURCE_ETAG) == Some(&etag)
                && m.metadata.get(META_DIGEST) == Some(&t.digest)
        });
        if current {
            app.metrics
                .repairs
                .with_label_values(&["already_present"])
                .inc();
        } else {
            owed.push((t, key));
        }
    }
    if owed.is_empty() {
        return Ok(Vec::new());
    }
    let info = crate::worker::run::probe(app, &source.bytes).await?;
    let list: Vec<_> = owed.iter().map(|(t, _)| t.clone()).collect();
    let renditions = crate::worker::run::render(
        app,
        source.bytes.clone(),
        info.estimated_decode_bytes,
        list,
        deadline,
    )
    .await?;
    let mut done = Vec::new();
    for (r, (t, key)) in renditions.into_iter().zip(owed) {
        let len = r.bytes.len() as u64;
        app.store
            .put(
                mapping.derived(),
                PutRequest {
                    key: key.clone(),
                    bytes: r.bytes.into(),
                    content_type: t.output.format.mime().to_string(),
                    storage_class: app.cfg.storage.storage_class,
                    cache_control: t.cache_control.clone(),
                    metadata: derived_metadata(source_key, &etag, &t),
                    condition: PutCondition::None,
                },
            )
            .await?;
        app.metrics.derived_bytes.inc_by(len);
        let entry = ManifestEntry {
            key: key.clone(),
            digest: t.digest.clone(),
            source_etag: etag.clone(),
            content_type: t.output.format.mime().to_string(),
            bytes: len,
            width: r.width,
            height: r.height,
        };
        done.push(Regenerated {
            derived: NoticeDerived {
                transform: t.name.clone(),
                key,
                bytes: len,
            },
            entry,
        });
    }
    Ok(done)
}

/// One object written by [`repair_source`], with the manifest entry that describes it.
#[derive(Debug, Clone)]
pub struct Regenerated {
    pub derived: NoticeDerived,
    pub entry: ManifestEntry,
}

/// An S3-shaped `ReducedRedundancyLostObject` event for one key, as S3 would send it (used
/// by `derivd lose` to simulate a loss on the embedded backend). Keys are form-urlencoded
/// in S3 events.
pub fn lost_object_event(bucket: &str, key: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": now,
            "eventName": "ReducedRedundancyLostObject",
            "userIdentity": { "principalId": "AWS:derivd-lose" },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": { "x-amz-request-id": "derivd", "x-amz-id-2": "derivd" },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "derivd-lose",
                "bucket": { "name": bucket, "arn": format!("arn:aws:s3:::{bucket}") },
                "object": { "key": encoded, "sequencer": "0" }
            }
        }]
    })
    .to_string()
}
