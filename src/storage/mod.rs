//! Object storage seam: where sources are read from and derived objects are written to.
//!
//! Two real implementations share one behaviour contract (see `tests/common/store_contract.rs`, run by `tests/store_local.rs` and `tests/store_s3.rs`):
//! [`s3::S3Store`] (aws-sdk-s3) and [`local::LocalStore`] (a directory on disk, the
//! embedded default). Callers never see backend types, only [`ObjectStore`].

pub mod local;
pub mod s3;

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;

/// S3 storage classes derivd may write derived objects with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StorageClass {
    Standard,
    ReducedRedundancy,
    StandardIa,
    OnezoneIa,
    IntelligentTiering,
}

impl StorageClass {
    /// The name S3 uses on the wire (`x-amz-storage-class`).
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::ReducedRedundancy => "REDUCED_REDUNDANCY",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StorageClass::Standard,
            StorageClass::ReducedRedundancy,
            StorageClass::StandardIa,
            StorageClass::OnezoneIa,
            StorageClass::IntelligentTiering,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// What HEAD (and LIST, partly) tells about an object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Entity tag without surrounding quotes.
    pub etag: String,
    pub content_type: Option<String>,
    /// `None` when the backend did not say (S3 omits it for STANDARD on HEAD).
    pub storage_class: Option<String>,
    pub cache_control: Option<String>,
    /// User metadata (`x-amz-meta-*`), keys lower-case without the prefix.
    pub metadata: BTreeMap<String, String>,
}

/// A whole object read into memory.
#[derive(Debug, Clone)]
pub struct Object {
    pub meta: ObjectMeta,
    pub bytes: Bytes,
}

/// Optimistic-concurrency guard on a write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PutCondition {
    /// Always write.
    #[default]
    None,
    /// Write only if no object exists at the key (`If-None-Match: *`).
    IfAbsent,
    /// Write only if the current object's ETag equals this one (`If-Match`).
    IfMatch(String),
}

#[derive(Debug, Clone)]
pub struct PutRequest {
    pub key: String,
    pub bytes: Bytes,
    pub content_type: String,
    pub storage_class: StorageClass,
    pub cache_control: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub condition: PutCondition,
}

/// One page of a prefix listing, in key order.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    /// Pass back to get the next page; `None` when the listing is complete.
    pub next: Option<String>,
}

/// Errors classified by what the caller should do about them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost the race (HTTP 412 / 409 on S3).
    #[error("precondition failed for {key}")]
    PreconditionFailed { key: String },
    /// The key cannot be stored (too long, empty, invalid bucket name).
    #[error("invalid key or bucket: {0}")]
    InvalidKey(String),
    /// Worth retrying later: network, 5xx, throttling, timeouts, local I/O hiccups.
    #[error("transient storage error: {0}")]
    Transient(String),
    /// Retrying will not help: access denied, no such bucket, bad request.
    #[error("storage error: {0}")]
    Permanent(String),
    /// [`ObjectStore::get_limited`]: the object is larger than the caller accepts.
    #[error("{key} is {size} bytes, over the {limit} byte limit")]
    TooLarge { key: String, size: u64, limit: u64 },
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

/// The object-store seam. `bucket` is a logical bucket name; the local store maps it to a
/// folder. Missing objects are `Ok(None)`, never an error — including S3's 405 answer for a
/// lost Reduced Redundancy object.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Object>, StoreError> {
        self.get_limited(bucket, key, u64::MAX).await
    }
    /// [`get`](Self::get), refusing an object of more than `max_bytes` with
    /// [`StoreError::TooLarge`] — from its declared size, before reading the body, and
    /// again while reading it. One request, where a HEAD and a GET would be two.
    async fn get_limited(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<Object>, StoreError>;
    /// [`get_limited`](Self::get_limited) streamed into `out` rather than memory (a video
    /// for a tool to read): the metadata, with `size` the bytes written.
    async fn get_to_file(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
        out: std::fs::File,
    ) -> Result<Option<ObjectMeta>, StoreError>;
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError>;
    /// Whether the object is *provably* gone, for decisions that delete things. `head`'s
    /// `None` is not enough: a HEAD 404 has no body, so a proxy or a wrong endpoint
    /// answering 404 looks exactly like a deleted object. `Ok(true)` only when the store
    /// says so in a way a misrouted request cannot (S3: a GET answered `NoSuchKey`, or 405
    /// for a lost RRS object; local: the bucket folder exists and the record does not);
    /// `Ok(false)` when the object is there; anything else is an error.
    async fn confirm_absent(&self, bucket: &str, key: &str) -> Result<bool, StoreError>;
    /// Returns the new object's ETag.
    async fn put(&self, bucket: &str, req: PutRequest) -> Result<String, StoreError>;
    /// Keys starting with `prefix`, in lexicographic (byte) order, up to 1000 a page.
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListPage, StoreError>;
    /// Deleting a missing key succeeds, as on S3.
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError>;
    /// Readiness probe: is the bucket reachable?
    async fn check(&self, bucket: &str) -> Result<(), StoreError>;
    /// A URL a client can GET the object from, if the backend has one (S3 presigning).
    async fn presign_get(
        &self,
        _bucket: &str,
        _key: &str,
        _expires: std::time::Duration,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}
