//! Checks a bucket's derived objects against the manifests, reading the bucket directly —
//! S3 through the SDK, the embedded backend's folder through its documented record format —
//! never through derivd's code, so a check cannot share a bug with what it checks.
//!
//! For every source: its manifest (`{prefix}{source}/_manifest.json`, JSON) exists and lists
//! exactly the transforms asked for; each entry's object exists, its user metadata
//! (`derivd-source-key` percent-encoded, `derivd-source-etag`, `derivd-transform`,
//! `derivd-digest`), content type and length match the entry, the entry's source ETag is the
//! source's, and it decodes to the entry's width × height. And no object under the prefix
//! (but manifests and the catalogue) lacks a manifest entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use async_trait::async_trait;

/// One stored object as a client sees it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Unquoted.
    pub etag: String,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub bytes: Vec<u8>,
}

/// A bucket, read-only.
#[async_trait]
pub trait BucketReader: Send + Sync {
    async fn keys(&self, prefix: &str) -> Vec<String>;
    async fn get(&self, key: &str) -> Option<Stored>;
}

/// A bucket on S3 (moto).
pub struct S3Bucket {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

#[async_trait]
impl BucketReader for S3Bucket {
    async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| panic!("list {}: {e:?}", self.bucket));
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys
    }

    async fn get(&self, key: &str) -> Option<Stored> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return None,
            Err(e) => panic!("get {}/{key}: {e:?}", self.bucket),
        };
        let metadata = out
            .metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        // S3 sends the ETag quoted; derivd records it bare.
        let etag = out.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        let content_type = out.content_type.clone();
        let bytes = out
            .body
            .collect()
            .await
            .expect("read body")
            .into_bytes()
            .to_vec();
        Some(Stored {
            etag,
            content_type,
            metadata,
            bytes,
        })
    }
}

/// A bucket of the embedded backend: `<data_dir>/buckets/<bucket>/objects/<h[0..2]>/<h[2..4]>/<h>.obj`,
/// each record `DRVDOBJ1 | u32 LE header length | JSON header | payload` (the layout
/// documented in derivd's local store).
pub struct LocalBucket {
    pub dir: PathBuf,
}

const MAGIC: &[u8; 8] = b"DRVDOBJ1";

#[derive(serde::Deserialize)]
struct Header {
    key: String,
    etag: String,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
}

impl LocalBucket {
    pub fn new(data_dir: &std::path::Path, bucket: &str) -> LocalBucket {
        LocalBucket {
            dir: data_dir.join("buckets").join(bucket),
        }
    }

    fn records(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.join("objects")];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.map(|e| e.expect("dir entry").path()) {
                if e.is_dir() {
                    stack.push(e);
                } else if e.extension().is_some_and(|x| x == "obj") {
                    out.push(e);
                }
            }
        }
        out
    }
}

fn parse_record(raw: &[u8]) -> (Header, Vec<u8>) {
    assert_eq!(&raw[..8], MAGIC, "record magic");
    let len = u32::from_le_bytes(raw[8..12].try_into().unwrap()) as usize;
    let header: Header = serde_json::from_slice(&raw[12..12 + len]).expect("record header");
    (header, raw[12 + len..].to_vec())
}

#[async_trait]
impl BucketReader for LocalBucket {
    async fn keys(&self, prefix: &str) -> Vec<String> {
        self.records()
            .iter()
            .map(|p| parse_record(&std::fs::read(p).expect("read record")).0.key)
            .filter(|k| k.starts_with(prefix))
            .collect()
    }

    async fn get(&self, key: &str) -> Option<Stored> {
        use sha2::Digest;
        let h = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        let path = self
            .dir
            .join("objects")
            .join(&h[0..2])
            .join(&h[2..4])
            .join(format!("{h}.obj"));
        let raw = std::fs::read(path).ok()?;
        let (header, bytes) = parse_record(&raw);
        assert_eq!(header.key, key, "record key");
        Some(Stored {
            etag: header.etag,
            content_type: header.content_type,
            metadata: header.metadata,
            bytes,
        })
    }
}

/// What the check saw.
#[derive(Debug, Default)]
pub struct Checked {
    pub sources: usize,
    pub derived_objects: usize,
}

/// Runs every check in the module docs over `expected` (source key → transforms asked for)
/// under `prefix`; panics with every problem found.
pub async fn check(
    bucket: &dyn BucketReader,
    prefix: &str,
    expected: &BTreeMap<String, BTreeSet<String>>,
) -> Checked {
    let mut problems = Vec::new();
    let mut listed_keys = BTreeSet::new();
    for (source, transforms) in expected {
        match check_source(bucket, prefix, source, transforms).await {
            Ok(keys) => listed_keys.extend(keys),
            Err(p) => problems.extend(p),
        }
    }
    let mut derived_objects = 0;
    for key in bucket.keys(prefix).await {
        if key.ends_with("/_manifest.json") || key == format!("{prefix}_catalogue.json") {
            continue;
        }
        derived_objects += 1;
        if !listed_keys.contains(&key) {
            problems.push(format!("{key}: derived object without a manifest entry"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Checked {
        sources: expected.len(),
        derived_objects,
    }
}

/// The keys a source's manifest lists, or the problems with it.
async fn check_source(
    bucket: &dyn BucketReader,
    prefix: &str,
    source: &str,
    transforms: &BTreeSet<String>,
) -> Result<Vec<String>, Vec<String>> {
    let source_etag = bucket
        .get(source)
        .await
        .map(|s| s.etag)
        .ok_or(vec![format!("{source}: source missing")])?;
    let manifest_key = format!("{prefix}{source}/_manifest.json");
    let manifest = bucket
        .get(&manifest_key)
        .await
        .ok_or(vec![format!("{manifest_key}: missing")])?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.bytes)
        .map_err(|e| vec![format!("{manifest_key}: {e}")])?;
    let mut problems = Vec::new();
    if manifest["source_key"] != source {
        problems.push(format!(
            "{manifest_key}: source_key {}",
            manifest["source_key"]
        ));
    }
    let entries = manifest["derived"].as_object().cloned().unwrap_or_default();
    let names: BTreeSet<String> = entries.keys().cloned().collect();
    if &names != transforms {
        problems.push(format!(
            "{manifest_key}: lists {names:?}, jobs asked for {transforms:?}"
        ));
    }
    let mut keys = Vec::new();
    for (name, entry) in &entries {
        match check_entry(bucket, source, &source_etag, name, entry).await {
            Ok(key) => keys.push(key),
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(keys)
    } else {
        Err(problems)
    }
}

async fn check_entry(
    bucket: &dyn BucketReader,
    source: &str,
    source_etag: &str,
    transform: &str,
    entry: &serde_json::Value,
) -> Result<String, String> {
    let field = |f: &str| entry[f].as_str().unwrap_or_default().to_owned();
    let key = field("key");
    let obj = bucket
        .get(&key)
        .await
        .ok_or(format!("{key}: listed in the manifest, missing"))?;
    let meta = |m: &str| obj.metadata.get(m).cloned().unwrap_or_default();
    let meta_source = percent_encoding::percent_decode_str(&meta("derivd-source-key"))
        .decode_utf8_lossy()
        .into_owned();
    let checks = [
        ("derivd-source-key", meta_source, source.to_owned()),
        (
            "derivd-source-etag",
            meta("derivd-source-etag"),
            field("source_etag"),
        ),
        (
            "derivd-transform",
            meta("derivd-transform"),
            transform.to_owned(),
        ),
        ("derivd-digest", meta("derivd-digest"), field("digest")),
        (
            "the entry's source_etag (vs the source's ETag)",
            field("source_etag"),
            source_etag.to_owned(),
        ),
        (
            "content type",
            obj.content_type.clone().unwrap_or_default(),
            field("content_type"),
        ),
        (
            "bytes",
            obj.bytes.len().to_string(),
            entry["bytes"].to_string(),
        ),
    ];
    for (what, got, want) in checks {
        if got != want {
            return Err(format!(
                "{key}: {what} is {got:?}, expected {want:?} (from the manifest)"
            ));
        }
    }
    let img =
        image::load_from_memory(&obj.bytes).map_err(|e| format!("{key}: does not decode: {e}"))?;
    let want = (
        entry["width"].as_u64().unwrap_or(0),
        entry["height"].as_u64().unwrap_or(0),
    );
    let got = (u64::from(img.width()), u64::from(img.height()));
    if got != want {
        return Err(format!(
            "{key}: decodes to {got:?}, the manifest says {want:?}"
        ));
    }
    Ok(key)
}
