//! [`LocalStore`]: the zero-config object store, a directory on local disk standing in for S3.
//!
//! ```text
//! <root>/<bucket>/objects/<h[0..2]>/<h[2..4]>/<h>.obj   one record per object, h = sha256(key) hex
//! <root>/<bucket>/locks/<h[0..2]>.lock                  256 lock stripes per bucket
//! ```
//!
//! **Keys are never used as paths.** S3 keys are any UTF-8 up to 1024 bytes: `a` and `a/b`
//! coexist, `..` is an ordinary segment, a segment may exceed the file-name limit, and keys may
//! differ only in case on a case-insensitive disk. So the file name is the lower-case SHA-256 of
//! the key, sharded two levels deep: constant path length (even macOS's 1024-byte `PATH_MAX` is
//! no concern) and nothing in a key can reach outside the bucket folder. The key is stored in the
//! record and checked on read, so a (theoretical) hash collision is an error, not a wrong object.
//!
//! **One record file per object**: `MAGIC | u32 LE header length | JSON ObjectMeta | payload`.
//! One `rename` publishes metadata and bytes together: a reader holding the file open sees one
//! consistent version even while it is replaced, and a crash cannot pair new bytes with old
//! metadata or orphan a data file. Writes go to `.tmp-<uuid>` in the destination folder, are
//! fsynced, renamed over the record, and the folder is fsynced (new folders are fsynced into
//! their parents as they are made); a crash leaves the old or the new object, at worst plus a
//! stray `.tmp-*` file that reads and listings ignore and the next open sweeps once no writer
//! holds it (`durable.rs`).
//!
//! **Conditional writes** must be atomic across threads *and* processes sharing the directory,
//! so every put and delete checks and renames under an exclusive `flock` on the key's lock stripe
//! (advisory, honoured by every derivd process). Unconditional writes lock too, or one could slip
//! between another's check and rename. The slow part, writing and fsyncing the temp file, happens
//! before locking. Lock files are never deleted (deleting a lock others may hold is racy); there
//! are at most 256 per bucket. Reads need no lock: rename is atomic.
//!
//! **Listing** reads every record header in the bucket and keeps the smallest 1001 keys after the
//! continuation (the previous page's last key) to return 1000: O(objects in bucket) per page,
//! fine for an embedded backend with up to tens of thousands of objects, not for millions.
//!
//! **ETag** is the first 32 hex digits of SHA-256 of the bytes (S3 uses MD5, which we do not
//! carry); like S3's, it is opaque. All disk work runs in `spawn_blocking`.

mod durable;
mod list;
mod record;

use record::{read_body, read_header};

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ListPage, Object, ObjectMeta, ObjectStore, PutCondition, PutRequest, StoreError};
use durable::{lock_stripe, sync_dir, TempFile};
use list::list_blocking;

pub use durable::{sweep_orphans, ORPHAN_AGE};

const MAGIC: &[u8; 8] = b"DRVDOBJ1";
/// Headers are small (S3 bounds user metadata to 2 KiB); this only guards against corruption.
const MAX_HEADER_LEN: u32 = 1 << 20;
const MAX_KEY_BYTES: usize = 1024;
const PAGE_SIZE: usize = 1000;

/// A directory on disk that behaves like S3 for derivd's purposes. See the module docs.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// The record header is exactly [`ObjectMeta`]; this mirror only gives it serde (remote derive),
/// so the two cannot drift apart.
#[derive(Serialize, Deserialize)]
#[serde(remote = "ObjectMeta")]
struct Header {
    key: String,
    size: u64,
    etag: String,
    content_type: Option<String>,
    storage_class: Option<String>,
    cache_control: Option<String>,
    metadata: BTreeMap<String, String>,
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root`. Buckets are created on first write.
    /// Temp files left by crashed writes (older than [`durable::ORPHAN_AGE`], their writer's
    /// lock gone) are removed; other processes' writes in flight are left alone.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        durable::create_dir_durable(&root)?;
        let swept = durable::sweep_orphans(&root, durable::ORPHAN_AGE)?;
        if swept > 0 {
            tracing::info!(swept, root = %root.display(), "removed temp files of crashed writes");
        }
        Ok(LocalStore { root })
    }

    /// The directory this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, StoreError> {
        validate_bucket(bucket)?;
        Ok(self.root.join(bucket))
    }

    /// Where `key`'s record and lock live; validates both names first.
    fn locate(&self, bucket: &str, key: &str) -> Result<Location, StoreError> {
        if !(1..=MAX_KEY_BYTES).contains(&key.len()) {
            let n = key.len();
            return Err(StoreError::InvalidKey(format!(
                "key must be 1..={MAX_KEY_BYTES} bytes, got {n}"
            )));
        }
        let dir = self.bucket_dir(bucket)?;
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        let shard = dir.join("objects").join(&hash[0..2]).join(&hash[2..4]);
        Ok(Location {
            record: shard.join(format!("{hash}.obj")),
            lock: dir.join("locks").join(format!("{}.lock", &hash[0..2])),
            shard,
            key: key.to_owned(),
        })
    }
}

struct Location {
    shard: PathBuf,
    record: PathBuf,
    lock: PathBuf,
    key: String,
}

/// S3's bucket naming rules (the subset that matters here): 3–63 of `[a-z0-9.-]`, starting and
/// ending alphanumeric, no `..`. That also rules out `.`, `..` and anything path-like.
fn validate_bucket(b: &str) -> Result<(), StoreError> {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = (3..=63).contains(&b.len())
        && b.bytes().all(|c| alnum(c) || c == b'.' || c == b'-')
        && alnum(b.as_bytes()[0])
        && alnum(b.as_bytes()[b.len() - 1])
        && !b.contains("..");
    ok.then_some(())
        .ok_or_else(|| StoreError::InvalidKey(format!("bad bucket name {b:?}")))
}

/// Attaches what was being done to which path to an I/O error, and classifies it: local I/O
/// failures are mostly worth retrying (disk full, interrupted, too many open files); a
/// permission problem is not.
pub(super) trait IoContext<T> {
    fn ctx(self, what: &str, path: &Path) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, what: &str, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| {
            let msg = format!("{what} {}: {e}", path.display());
            match e.kind() {
                io::ErrorKind::PermissionDenied | io::ErrorKind::Unsupported => {
                    StoreError::Permanent(msg)
                }
                _ => StoreError::Transient(msg),
            }
        })
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Permanent(format!("local store task failed: {e}")))?
}

/// Whether a write guarded by `condition` may replace the object now stored at `loc`.
/// ETags may arrive quoted, as S3 clients often echo them.
fn condition_holds(condition: &PutCondition, loc: &Location) -> Result<bool, StoreError> {
    let current = read_header(loc)?.map(|(m, _)| m.etag);
    Ok(match (condition, current) {
        (PutCondition::None, _) => true,
        (PutCondition::IfAbsent, current) => current.is_none(),
        (PutCondition::IfMatch(want), Some(have)) => want.trim_matches('"') == have,
        (PutCondition::IfMatch(_), None) => false,
    })
}

fn put_blocking(loc: Location, req: PutRequest) -> Result<String, StoreError> {
    let meta = ObjectMeta {
        key: loc.key.clone(),
        size: req.bytes.len() as u64,
        etag: hex::encode(Sha256::digest(&req.bytes))[..32].to_owned(),
        content_type: Some(req.content_type),
        storage_class: Some(req.storage_class.as_str().to_owned()),
        cache_control: req.cache_control,
        // S3 lower-cases user metadata names; do the same so callers see identical results.
        metadata: req
            .metadata
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
    };
    let mut header = Vec::new();
    Header::serialize(&meta, &mut serde_json::Serializer::new(&mut header))
        .map_err(|e| StoreError::Permanent(e.to_string()))?;
    if header.len() > MAX_HEADER_LEN as usize {
        return Err(StoreError::InvalidKey("metadata too large".into()));
    }
    // Optimistic early exit so a losing conditional write (e.g. IfAbsent on an existing
    // rendition, the common case) does not write and fsync the payload for nothing. The check
    // under the lock below is the one that counts.
    if req.condition != PutCondition::None && !condition_holds(&req.condition, &loc)? {
        return Err(StoreError::PreconditionFailed { key: loc.key });
    }

    durable::create_dir_durable(&loc.shard)?;
    let path = loc.shard.join(format!(".tmp-{}", Uuid::new_v4().simple()));
    let write = |mut f: &File| -> io::Result<()> {
        f.write_all(MAGIC)?;
        f.write_all(&(header.len() as u32).to_le_bytes())?;
        f.write_all(&header)?;
        f.write_all(&req.bytes)?;
        f.sync_all()
    };
    // Locked (against the sweeper) until the rename published it and it is dropped.
    let tmp = TempFile::create(path.clone())
        .and_then(|t| write(&t.file).map(|()| t))
        .ctx("write", &path)?;

    let _lock = lock_stripe(&loc.lock)?;
    if !condition_holds(&req.condition, &loc)? {
        return Err(StoreError::PreconditionFailed { key: loc.key });
    }
    fs::rename(&tmp.path, &loc.record).ctx("rename to", &loc.record)?;
    tmp.published();
    sync_dir(&loc.shard)?;
    Ok(meta.etag)
}

fn delete_blocking(loc: Location) -> Result<(), StoreError> {
    let _lock = lock_stripe(&loc.lock)?;
    match fs::remove_file(&loc.record) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => {
            other.ctx("delete", &loc.record)?;
            sync_dir(&loc.shard)
        }
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn get_limited(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<Object>, StoreError> {
        let loc = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || {
            let mut bytes = Vec::new();
            let meta = read_body(&loc, &key, max_bytes, &mut bytes)?;
            Ok(meta.map(|meta| Object {
                meta,
                bytes: Bytes::from(bytes),
            }))
        })
        .await
    }

    async fn get_to_file(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
        mut out: std::fs::File,
    ) -> Result<Option<ObjectMeta>, StoreError> {
        let loc = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || read_body(&loc, &key, max_bytes, &mut out)).await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let loc = self.locate(bucket, key)?;
        blocking(move || Ok(read_header(&loc)?.map(|(m, _)| m))).await
    }

    async fn confirm_absent(&self, bucket: &str, key: &str) -> Result<bool, StoreError> {
        let loc = self.locate(bucket, key)?;
        let dir = self.bucket_dir(bucket)?;
        blocking(move || {
            // A missing bucket folder (a wrong data dir, an unmounted volume) is S3's
            // NoSuchBucket, not proof that the object was deleted.
            if !dir.is_dir() {
                return Err(StoreError::Permanent(format!(
                    "no bucket folder {}",
                    dir.display()
                )));
            }
            Ok(read_header(&loc)?.is_none())
        })
        .await
    }

    async fn put(&self, bucket: &str, req: PutRequest) -> Result<String, StoreError> {
        let loc = self.locate(bucket, &req.key)?;
        blocking(move || put_blocking(loc, req)).await
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListPage, StoreError> {
        let objects = self.bucket_dir(bucket)?.join("objects");
        let prefix = prefix.to_owned();
        blocking(move || list_blocking(&objects, &prefix, continuation.as_deref())).await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let loc = self.locate(bucket, key)?;
        blocking(move || delete_blocking(loc)).await
    }

    async fn check(&self, bucket: &str) -> Result<(), StoreError> {
        let dir = self.bucket_dir(bucket)?;
        blocking(move || {
            durable::create_dir_durable(&dir)?;
            // Prove the directory is writable, not merely present.
            let path = dir.join(format!(".probe-{}", Uuid::new_v4().simple()));
            let probe = TempFile::create(path.clone()).ctx("write", &path)?;
            (&probe.file).write_all(b"ok").ctx("write", &path)
        })
        .await
    }
}
