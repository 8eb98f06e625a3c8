//! GET of an object's body, refused over a size limit from its declared size (before the
//! body is read) and again while reading it: into memory, or streamed into a file (a video
//! that must not be held in memory).

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::{bare_etag, is_absent, lower_metadata, store_error, validate, S3Store};
use crate::storage::{Object, ObjectMeta, StoreError};

/// The object's metadata and its unread body, or `None` when it does not exist.
async fn open(
    s3: &S3Store,
    bucket: &str,
    key: &str,
    max_bytes: u64,
) -> Result<Option<(ObjectMeta, ByteStream)>, StoreError> {
    validate(bucket, key)?;
    let out = match s3.client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if is_absent(&e, true) => return Ok(None),
        Err(e) => return Err(store_error("GET", bucket, key, &e)),
    };
    let declared = out.content_length().unwrap_or(0).max(0) as u64;
    if declared > max_bytes {
        return Err(too_large(key, declared, max_bytes)); // the body is dropped unread
    }
    let meta = ObjectMeta {
        key: key.to_owned(),
        size: declared,
        etag: bare_etag(out.e_tag()),
        content_type: out.content_type().map(str::to_owned),
        storage_class: out.storage_class().map(|c| c.as_str().to_owned()),
        cache_control: out.cache_control().map(str::to_owned),
        metadata: lower_metadata(out.metadata()),
    };
    Ok(Some((meta, out.body)))
}

fn too_large(key: &str, size: u64, limit: u64) -> StoreError {
    StoreError::TooLarge {
        key: key.to_owned(),
        size,
        limit,
    }
}

/// Why a body that broke off mid-way failed: network trouble, worth another try.
fn broken(bucket: &str, key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Transient(format!("S3 GET s3://{bucket}/{key}: reading body: {e}"))
}

pub(super) async fn to_memory(
    s3: &S3Store,
    bucket: &str,
    key: &str,
    max_bytes: u64,
) -> Result<Option<Object>, StoreError> {
    let Some((mut meta, mut body)) = open(s3, bucket, key, max_bytes).await? else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(meta.size as usize);
    while let Some(chunk) = body.try_next().await.map_err(|e| broken(bucket, key, e))? {
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large(
                key,
                (bytes.len() + chunk.len()) as u64,
                max_bytes,
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    meta.size = bytes.len() as u64;
    Ok(Some(Object {
        meta,
        bytes: Bytes::from(bytes),
    }))
}

pub(super) async fn to_file(
    s3: &S3Store,
    bucket: &str,
    key: &str,
    max_bytes: u64,
    out: std::fs::File,
) -> Result<Option<ObjectMeta>, StoreError> {
    let Some((mut meta, mut body)) = open(s3, bucket, key, max_bytes).await? else {
        return Ok(None);
    };
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(out));
    let local = |e: std::io::Error| StoreError::Transient(format!("local copy of {key}: {e}"));
    let mut written = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(|e| broken(bucket, key, e))? {
        written += chunk.len() as u64;
        if written > max_bytes {
            return Err(too_large(key, written, max_bytes));
        }
        out.write_all(&chunk).await.map_err(local)?;
    }
    out.flush().await.map_err(local)?;
    meta.size = written;
    Ok(Some(meta))
}
