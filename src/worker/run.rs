//! One job, start to finish: fetch the source, work out what is owed, render it with one
//! decode on the CPU pool, write every derived object, merge the manifest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::try_join_all;

use super::error::JobError;
use crate::app::App;
use crate::catalogue::Transform;
use crate::engine::{Deadline, Rendition, SourceInfo};
use crate::job::{JobRequest, TransformSelection};
use crate::keys::KeyLayout;
use crate::manifest::{self, ManifestEntry};
use crate::notice::NoticeDerived;
use crate::storage::{PutCondition, PutRequest};

/// User-metadata names on every derived object (S3 lower-cases them).
pub const META_SOURCE_KEY: &str = "derivd-source-key";
pub const META_SOURCE_ETAG: &str = "derivd-source-etag";
pub const META_TRANSFORM: &str = "derivd-transform";
pub const META_DIGEST: &str = "derivd-digest";

/// What a successful job did.
#[derive(Debug, Default)]
pub struct JobReport {
    pub bucket: String,
    pub derived: Vec<NoticeDerived>,
    /// Transforms already up to date (same source ETag and digest) and so not rewritten.
    pub up_to_date: usize,
}

/// Runs `req` until every derived object and the manifest are written.
pub async fn run_job(
    app: &App,
    req: &JobRequest,
    deadline: Instant,
) -> Result<JobReport, JobError> {
    let bucket = req
        .bucket
        .clone()
        .unwrap_or_else(|| app.cfg.storage.default_bucket.clone());
    let mapping = app.cfg.bucket(&bucket).ok_or_else(|| {
        JobError::client(
            "bucket_not_allowed",
            format!("bucket {bucket:?} is not allowed"),
        )
    })?;
    let layout = KeyLayout::new(mapping.prefix.clone());
    layout
        .check_source(&req.source)
        .map_err(|e| JobError::client("invalid_key", e.to_string()))?;

    let t0 = Instant::now();
    let source = fetch_source(app, &bucket, &req.source).await?;
    app.metrics
        .stage_duration
        .with_label_values(&["fetch"])
        .observe(t0.elapsed().as_secs_f64());
    let bytes = source.bytes.clone();
    let etag = source.meta.etag.clone();

    let info = probe(app, &bytes).await?;
    let wanted = select_transforms(app, &req.transforms, info.media)?;

    let mut owed = Vec::new();
    let mut report = JobReport {
        bucket: mapping.derived().to_string(),
        ..Default::default()
    };
    let heads = try_join_all(wanted.iter().map(|t| {
        let key = layout.derived_key(&req.source, &t.name, t.output.format.extension());
        let store = app.store.clone();
        let derived_bucket = mapping.derived().to_string();
        async move {
            let key = key.map_err(|e| JobError::client("invalid_key", e.to_string()))?;
            if req.force {
                return Ok::<_, JobError>(None);
            }
            Ok(store.head(&derived_bucket, &key).await?)
        }
    }))
    .await?;
    // An object counts as done only if the manifest records it too: a retry after a
    // failed manifest write must not acknowledge the job with the manifest left behind.
    let recorded = if req.force {
        None
    } else {
        manifest::read(app.store.as_ref(), mapping.derived(), &layout, &req.source)
            .await
            .ok()
            .flatten()
            .map(|(m, _)| m)
    };
    for (t, head) in wanted.iter().zip(heads) {
        let in_manifest = recorded.as_ref().is_some_and(|m| {
            m.derived
                .get(&t.name)
                .is_some_and(|e| e.digest == t.digest && e.source_etag == etag)
        });
        let current = in_manifest
            && head.is_some_and(|m| {
                m.metadata.get(META_SOURCE_ETAG) == Some(&etag)
                    && m.metadata.get(META_DIGEST) == Some(&t.digest)
            });
        if current {
            report.up_to_date += 1;
        } else {
            owed.push(t.clone());
        }
    }
    if owed.is_empty() {
        return Ok(report);
    }

    let renditions = render(app, bytes, info.estimated_decode_bytes, owed, deadline).await?;
    let t_store = Instant::now();
    let written = write_all(
        app,
        mapping.derived(),
        &layout,
        &req.source,
        &etag,
        &renditions,
    )
    .await?;
    app.metrics
        .stage_duration
        .with_label_values(&["store"])
        .observe(t_store.elapsed().as_secs_f64());

    let t_manifest = Instant::now();
    manifest::merge(
        app.store.as_ref(),
        mapping.derived(),
        &layout,
        &req.source,
        &etag,
        &written,
    )
    .await?;
    app.metrics
        .stage_duration
        .with_label_values(&["manifest"])
        .observe(t_manifest.elapsed().as_secs_f64());
    for (t, e) in &written {
        app.metrics.derived_objects.with_label_values(&[t]).inc();
        app.metrics.derived_bytes.inc_by(e.bytes);
        report.derived.push(NoticeDerived {
            transform: t.clone(),
            key: e.key.clone(),
            bytes: e.bytes,
        });
    }
    Ok(report)
}

/// Reads the source's header on the blocking pool (format, size, decode memory).
pub(crate) async fn probe(app: &App, bytes: &Bytes) -> Result<SourceInfo, JobError> {
    let (engine, bytes) = (app.engine.clone(), bytes.clone());
    tokio::task::spawn_blocking(move || engine.probe(&bytes))
        .await
        .map_err(|e| JobError::bug("panic", e.to_string()))?
        .map_err(JobError::from)
}

/// Reads a source, refusing one larger than the input-size limit (from its declared size,
/// before the body is downloaded).
pub async fn fetch_source(
    app: &App,
    bucket: &str,
    key: &str,
) -> Result<crate::storage::Object, JobError> {
    let max = app.cfg.limits.max_input_bytes;
    app.store
        .get_limited(bucket, key, max)
        .await?
        .ok_or_else(|| JobError::client("source_missing", format!("source {key:?} not found")))
}

fn select_transforms(
    app: &App,
    sel: &TransformSelection,
    media: crate::media::MediaType,
) -> Result<Vec<Arc<Transform>>, JobError> {
    match sel {
        TransformSelection::All => {
            let all = app.catalogue.applicable(media);
            if all.is_empty() {
                return Err(JobError::client(
                    "not_accepted",
                    format!("no transform accepts {}", media.mime()),
                ));
            }
            Ok(all)
        }
        TransformSelection::Named(names) => names
            .iter()
            .map(|n| {
                let t = app.catalogue.get(n).ok_or_else(|| {
                    JobError::client("unknown_transform", format!("unknown transform {n:?}"))
                })?;
                if !t.accepts(media) {
                    return Err(JobError::client(
                        "not_accepted",
                        format!("transform {n} does not accept {}", media.mime()),
                    ));
                }
                Ok(t.clone())
            })
            .collect(),
    }
}

/// Renders on the blocking pool after reserving decode memory.
/// Renders on the blocking pool after reserving the source's decode memory.
pub(crate) async fn render(
    app: &App,
    bytes: Bytes,
    estimated: u64,
    transforms: Vec<Arc<Transform>>,
    deadline: Instant,
) -> Result<Vec<Rendition>, JobError> {
    // The reservation moves into the blocking task: if this future is dropped (time
    // limit, shutdown), the memory stays reserved until the render really ends.
    let reservation = app.budget.reserve(estimated, &app.metrics).await;
    let engine = app.engine.clone();
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        let _reservation = reservation;
        engine.render(&bytes, &transforms, Deadline::at(deadline))
    })
    .await
    .map_err(|e| JobError::bug("panic", e.to_string()))??;
    app.metrics
        .stage_duration
        .with_label_values(&["render"])
        .observe(started.elapsed().as_secs_f64());
    Ok(out)
}

/// Writes every rendition concurrently; returns manifest entries by transform.
async fn write_all(
    app: &App,
    bucket: &str,
    layout: &KeyLayout,
    source_key: &str,
    etag: &str,
    renditions: &[Rendition],
) -> Result<BTreeMap<String, ManifestEntry>, JobError> {
    let puts = renditions.iter().map(|r| {
        let t = &r.transform;
        let key = layout
            .derived_key(source_key, &t.name, t.output.format.extension())
            .expect("checked before rendering");
        let req = PutRequest {
            key: key.clone(),
            bytes: Bytes::from(r.bytes.clone()),
            content_type: t.output.format.mime().to_string(),
            storage_class: app.cfg.storage.storage_class,
            cache_control: t.cache_control.clone(),
            metadata: derived_metadata(source_key, etag, t),
            condition: PutCondition::None,
        };
        let entry = ManifestEntry {
            key,
            digest: t.digest.clone(),
            source_etag: etag.to_string(),
            content_type: t.output.format.mime().to_string(),
            bytes: r.bytes.len() as u64,
            width: r.width,
            height: r.height,
        };
        let store = app.store.clone();
        async move {
            store.put(bucket, req).await?;
            Ok::<_, JobError>((t.name.clone(), entry))
        }
    });
    Ok(try_join_all(puts).await?.into_iter().collect())
}

/// S3 user metadata must be printable ASCII, so the source key is percent-encoded: `%`,
/// control characters and non-ASCII bytes only, so ordinary keys stay readable.
pub fn derived_metadata(source_key: &str, etag: &str, t: &Transform) -> BTreeMap<String, String> {
    const META: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');
    let encoded = percent_encoding::utf8_percent_encode(source_key, META).to_string();
    BTreeMap::from([
        (META_SOURCE_KEY.to_string(), encoded),
        (META_SOURCE_ETAG.to_string(), etag.to_string()),
        (META_TRANSFORM.to_string(), t.name.clone()),
        (META_DIGEST.to_string(), t.digest.clone()),
    ])
}
