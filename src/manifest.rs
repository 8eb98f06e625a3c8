//! Per-source manifest: `{prefix}{source_key}/_manifest.json`, the record of every derived
//! object made from one source. `audit` and repair rely on it.
//!
//! Jobs for one source may run concurrently on different workers, so the manifest is
//! merged, never overwritten: read it with its ETag, add our entries, write it back with
//! `If-Match` (or `If-None-Match: *` when new), and start over on 412. It is always stored
//! as STANDARD: losing it would lose track of what exists.
//!
//! # Format versions
//!
//! `version` is the manifest format. Adding a field is **not** a version bump: every
//! reader keeps fields it does not know (`extra`, on the manifest and on each entry) and
//! writes them back, so an older worker in a rolling upgrade never strips what a newer one
//! wrote. A bump means existing fields changed meaning, which older code cannot preserve:
//! a worker that reads a manifest newer than [`MANIFEST_VERSION`] refuses to write it
//! (a transient error, so the job waits in the queue for an upgraded worker) and never
//! lowers the number.
//!
//! - **1**: one entry per transform, keyed by its name.
//! - **2**: also entries of *variants* (`name.ext`, one per format of a transform with
//!   `variants`). A version-1 worker can read it (the entries are ordinary ones under
//!   names it does not know) but would drop the variants when it rewrote the transform's
//!   entries, so it must not write it. A manifest becomes 2 only when it gets a variant
//!   entry: without variants, workers of both versions keep sharing manifests.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::engine::geometry::Focus;
use crate::engine::Placeholders;
use crate::keys::KeyLayout;
use crate::storage::{ObjectStore, PutCondition, PutRequest, StorageClass, StoreError};

/// The newest format this derivd reads and writes.
pub const MANIFEST_VERSION: u32 = 2;
/// The format of a manifest without variant entries.
const PLAIN_VERSION: u32 = 1;
/// The format of one with them.
const VARIANTS_VERSION: u32 = 2;
const MAX_ATTEMPTS: usize = 16;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub source_key: String,
    /// ETag of the source the newest entries were made from.
    pub source_etag: String,
    /// By transform name.
    pub derived: BTreeMap<String, ManifestEntry>,
    /// What the source is, as of `source_etag` (absent in manifests written before
    /// derivd recorded it; the next render fills it in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<SourceFacts>,
    /// The source's focal point, from the last job that gave one (kept across jobs
    /// without one, and across re-uploads: it is a property of the picture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<Focus>,
    /// Fields of newer versions of derivd, kept as they are.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The public facts about a source that a render learns: its media type, upright size and
/// placeholders (`GET /v1/sources/{key}` serves them). A video's size is its display size
/// and its placeholders are of the frame rendered; a PDF's is its page's in points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFacts {
    pub media_type: String,
    /// Upright (orientation-applied) size.
    pub width: u32,
    pub height: u32,
    pub placeholders: Placeholders,
    /// What ffprobe or pdfinfo found in a video or PDF (duration, codec, frame rate,
    /// rotation; page count and size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_facts: Option<crate::extract::Facts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub key: String,
    /// Digest of the transform definition the object was made with.
    pub digest: String,
    /// ETag of the source it was made from.
    pub source_etag: String,
    pub content_type: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Fields of newer versions of derivd, kept as they are.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Manifest {
    pub fn new(source_key: &str, source_etag: &str) -> Manifest {
        Manifest {
            version: PLAIN_VERSION,
            source_key: source_key.to_string(),
            source_etag: source_etag.to_string(),
            derived: BTreeMap::new(),
            facts: None,
            focus: None,
            extra: BTreeMap::new(),
        }
    }

    /// Adds or replaces entries; the manifest's source ETag follows the newest job.
    pub fn merge(&mut self, source_etag: &str, entries: &BTreeMap<String, ManifestEntry>) {
        if self.source_etag != source_etag {
            self.facts = None; // they described another version of the source
        }
        self.source_etag = source_etag.to_string();
        for (t, e) in entries {
            self.derived.insert(t.clone(), e.clone());
        }
        if self.derived.keys().any(|name| name.contains('.')) {
            self.version = self.version.max(VARIANTS_VERSION);
        }
    }

    /// The facts, if they describe `source_etag`.
    pub fn facts_of(&self, source_etag: &str) -> Option<&SourceFacts> {
        self.facts
            .as_ref()
            .filter(|_| self.source_etag == source_etag)
    }
}

/// Reads the manifest of `source_key`, if any, with its ETag.
pub async fn read(
    store: &dyn ObjectStore,
    bucket: &str,
    layout: &KeyLayout,
    source_key: &str,
) -> Result<Option<(Manifest, String)>, StoreError> {
    let key = layout
        .manifest_key(source_key)
        .map_err(|e| StoreError::InvalidKey(e.to_string()))?;
    let Some(obj) = store.get(bucket, &key).await? else {
        return Ok(None);
    };
    let m: Manifest = serde_json::from_slice(&obj.bytes)
        .map_err(|e| StoreError::Permanent(format!("manifest {key} is not valid: {e}")))?;
    Ok(Some((m, obj.meta.etag)))
}

/// Merges `entries` into the manifest with optimistic concurrency (see module docs).
pub async fn merge(
    store: &dyn ObjectStore,
    bucket: &str,
    layout: &KeyLayout,
    source_key: &str,
    source_etag: &str,
    entries: &BTreeMap<String, ManifestEntry>,
) -> Result<Manifest, StoreError> {
    let update = SourceUpdate::default();
    merge_with(
        store,
        bucket,
        layout,
        source_key,
        source_etag,
        entries,
        update,
    )
    .await
}

/// What a job learnt about its source besides its entries: `None` fields leave the
/// manifest's as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceUpdate<'a> {
    /// The source's facts as of this job's source ETag.
    pub facts: Option<&'a SourceFacts>,
    /// A focal point the job gave.
    pub focus: Option<Focus>,
}

/// [`merge`], also recording `update`.
pub async fn merge_with(
    store: &dyn ObjectStore,
    bucket: &str,
    layout: &KeyLayout,
    source_key: &str,
    source_etag: &str,
    entries: &BTreeMap<String, ManifestEntry>,
    update: SourceUpdate<'_>,
) -> Result<Manifest, StoreError> {
    let key = layout
        .manifest_key(source_key)
        .map_err(|e| StoreError::InvalidKey(e.to_string()))?;
    for _ in 0..MAX_ATTEMPTS {
        let (mut manifest, condition) = match store.get(bucket, &key).await? {
            Some(obj) => match serde_json::from_slice::<Manifest>(&obj.bytes) {
                Ok(m) => (m, PutCondition::IfMatch(obj.meta.etag)),
                // Only a manifest that does not parse is rebuilt (from this job's entries)
                // rather than blocking every future job on the source; any other error
                // propagates, so a passing read failure can never wipe other entries.
                Err(e) => {
                    tracing::warn!(%key, error = %e, "manifest unreadable; rebuilding it");
                    (
                        Manifest::new(source_key, source_etag),
                        PutCondition::IfMatch(obj.meta.etag),
                    )
                }
            },
            None => (
                Manifest::new(source_key, source_etag),
                PutCondition::IfAbsent,
            ),
        };
        if manifest.version > MANIFEST_VERSION {
            return Err(StoreError::Transient(format!(
                "manifest {key} is format version {}; this derivd writes {MANIFEST_VERSION} \
                 and must not rewrite a newer one (upgrade this worker)",
                manifest.version
            )));
        }
        manifest.merge(source_etag, entries);
        if let Some(f) = update.facts {
            manifest.facts = Some(f.clone());
        }
        if let Some(f) = update.focus {
            manifest.focus = Some(f);
        }
        let body = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        let req = PutRequest {
            key: key.clone(),
            bytes: Bytes::from(body),
            content_type: "application/json".into(),
            storage_class: StorageClass::Standard,
            cache_control: Some("no-cache".into()),
            metadata: BTreeMap::new(),
            condition,
        };
        match store.put(bucket, req).await {
            Ok(_) => return Ok(manifest),
            Err(StoreError::PreconditionFailed { .. }) => {
                // Someone else updated it between our read and write: merge again.
                tokio::time::sleep(std::time::Duration::from_millis(5 + rand_jitter_ms())).await;
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Transient(format!(
        "manifest {key}: still contended after {MAX_ATTEMPTS} attempts"
    )))
}

fn rand_jitter_ms() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos % 50) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_belong_to_one_version_of_the_source() {
        let mut m = Manifest::new("a.jpg", "e0");
        m.facts = Some(SourceFacts {
            media_type: "image/jpeg".into(),
            width: 4,
            height: 3,
            placeholders: Placeholders {
                thumbhash: "t".into(),
                blurhash: "b".into(),
                dominant_color: "#000000".into(),
            },
            media_facts: None,
        });
        let back: Manifest = serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert!(m.facts_of("e0").is_some() && m.facts_of("e1").is_none());
        m.merge("e1", &BTreeMap::new());
        assert_eq!(m.facts, None);
        // A manifest of the previous format (no facts) still reads.
        let old = r#"{"version": 1, "source_key": "a.jpg", "source_etag": "e0", "derived": {}}"#;
        assert_eq!(serde_json::from_str::<Manifest>(old).unwrap().facts, None);
    }

    #[test]
    fn fields_of_newer_versions_survive_a_merge() {
        let newer = r#"{"version": 1, "source_key": "a.jpg", "source_etag": "e0",
            "frames": {"count": 12},
            "derived": {"thumb-256": {"key": "derived/a.jpg/thumb-256.jpg", "digest": "d",
                "source_etag": "e0", "content_type": "image/jpeg", "bytes": 1, "width": 1,
                "height": 1, "focus": {"x": 0.5}}}}"#;
        let mut m: Manifest = serde_json::from_str(newer).unwrap();
        let entry = ManifestEntry {
            key: "derived/a.jpg/web-1024.jpg".into(),
            digest: "d".into(),
            source_etag: "e0".into(),
            content_type: "image/jpeg".into(),
            bytes: 2,
            width: 2,
            height: 2,
            extra: BTreeMap::new(),
        };
        m.merge("e0", &BTreeMap::from([("web-1024".to_string(), entry)]));
        let back: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert_eq!(back["frames"]["count"], 12);
        assert_eq!(back["derived"]["thumb-256"]["focus"]["x"], 0.5);
        assert_eq!(back["derived"]["web-1024"]["bytes"], 2);
    }

    #[test]
    fn the_first_variant_entry_makes_the_manifest_version_2_for_good() {
        let entry = |key: &str| ManifestEntry {
            key: key.into(),
            digest: "d".into(),
            source_etag: "e0".into(),
            content_type: "image/webp".into(),
            bytes: 1,
            width: 1,
            height: 1,
            extra: BTreeMap::new(),
        };
        let mut m = Manifest::new("a.jpg", "e0");
        m.merge(
            "e0",
            &BTreeMap::from([("t".into(), entry("derived/a.jpg/t.jpg"))]),
        );
        assert_eq!(
            m.version, 1,
            "no variants: version-1 workers may still write it"
        );
        let variant = BTreeMap::from([("v.webp".into(), entry("derived/a.jpg/v.webp"))]);
        m.merge("e0", &variant);
        assert_eq!(m.version, 2);
        m.derived.remove("v.webp");
        m.merge("e1", &BTreeMap::new());
        assert_eq!(m.version, 2, "never lowered");
        // A version-1 reader's view: the variant entry is an ordinary entry.
        let v1: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert!(v1["derived"]["t"]["key"].is_string());
    }
}
