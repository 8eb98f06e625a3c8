//! [`ObjectStore`] on Amazon S3 (or anything speaking its API, e.g. moto) via aws-sdk-s3.
//!
//! Why it looks the way it does: derivd writes derived objects as REDUCED_REDUNDANCY and
//! must notice when S3 loses them. A lost RRS object answers GET/HEAD with 405
//! MethodNotAllowed, so 404 NoSuchKey *and* 405 both mean "not there" (`Ok(None)`), which
//! makes the caller regenerate. Everything else is about telling retryable failures from hopeless
//! ones (see [`crate::aws::classify`]), because the job loop retries the first kind and
//! dead-letters the second. Object bodies are never logged.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::{ListPage, Object, ObjectMeta, ObjectStore, PutCondition, PutRequest, StoreError};
use crate::aws::{sdk_failure, ErrorClass};

mod get;

/// Longest key S3 accepts, in UTF-8 bytes.
const MAX_KEY_BYTES: usize = 1024;

/// S3-backed object store. Cheap to clone (the SDK client is an `Arc` inside).
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    /// Wraps a client built with [`crate::aws::s3_client`] (path style when the endpoint
    /// is overridden).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Rejects what S3 would reject anyway, before a round trip (and before the SDK turns an
/// empty key into an opaque build error).
fn validate(bucket: &str, key: &str) -> Result<(), StoreError> {
    if bucket.is_empty() || bucket.contains('/') {
        return Err(StoreError::InvalidKey(format!(
            "invalid bucket name {bucket:?}"
        )));
    }
    if key.is_empty() {
        return Err(StoreError::InvalidKey("empty key".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidKey(format!(
            "key is {} bytes, S3 allows {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

/// Maps an SDK error for `op` on `bucket/key` to a [`StoreError`].
fn store_error<E>(op: &str, bucket: &str, key: &str, err: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let f = sdk_failure(err);
    let what = format!("S3 {op} s3://{bucket}/{key}: {}", f.detail);
    if let Some("InvalidBucketName" | "KeyTooLongError") = f.code.as_deref() {
        return StoreError::InvalidKey(what);
    }
    match f.class {
        ErrorClass::Transient => {
            tracing::debug!(op, bucket, key, status = ?f.status, code = ?f.code, "transient S3 error");
            StoreError::Transient(what)
        }
        ErrorClass::Permanent => StoreError::Permanent(what),
    }
}

/// 404 (no such key) or 405 (lost Reduced Redundancy object) on a GET or HEAD. A GET's 404
/// must also say NoSuchKey: NoSuchBucket is a configuration problem, and a 404 without
/// S3's error body (a proxy, a wrong endpoint) must not make every source look deleted —
/// those are errors, retried and in the end dead-lettered. HEAD responses have no body, so
/// there a 404 is all S3 can say.
fn is_absent<E: ProvideErrorMetadata>(err: &SdkError<E>, has_body: bool) -> bool {
    match err.raw_response().map(|r| r.status().as_u16()) {
        Some(405) => true,
        Some(404) => !has_body || err.code() == Some("NoSuchKey"),
        _ => false,
    }
}

/// S3 quotes ETags on the wire; callers compare them bare.
fn bare_etag(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim_matches('"').to_owned()
}

fn lower_metadata(
    m: Option<&std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    m.into_iter()
        .flatten()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn get_limited(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<Object>, StoreError> {
        get::to_memory(self, bucket, key, max_bytes).await
    }

    async fn get_to_file(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
        out: std::fs::File,
    ) -> Result<Option<ObjectMeta>, StoreError> {
        get::to_file(self, bucket, key, max_bytes, out).await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        validate(bucket, key)?;
        let out = match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_absent(&e, false) => return Ok(None),
            Err(e) => return Err(store_error("HEAD", bucket, key, &e)),
        };
        Ok(Some(ObjectMeta {
            key: key.to_owned(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: bare_etag(out.e_tag()),
            content_type: out.content_type().map(str::to_owned),
            storage_class: out.storage_class().map(|c| c.as_str().to_owned()),
            cache_control: out.cache_control().map(str::to_owned),
            metadata: lower_metadata(out.metadata()),
        }))
    }

    async fn confirm_absent(&self, bucket: &str, key: &str) -> Result<bool, StoreError> {
        // A GET, not a HEAD: only a GET's error body carries S3's NoSuchKey. `get_limited`
        // with a 0-byte limit refuses a present object from its declared size, unread.
        match self.get_limited(bucket, key, 0).await {
            Ok(found) => Ok(found.is_none()),
            Err(StoreError::TooLarge { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn put(&self, bucket: &str, req: PutRequest) -> Result<String, StoreError> {
        validate(bucket, &req.key)?;
        let PutRequest {
            key,
            bytes,
            content_type,
            storage_class,
            cache_control,
            metadata,
            condition,
        } = req;
        let mut op = self
            .client
            .put_object()
            .bucket(bucket)
            .key(&key)
            .content_length(bytes.len() as i64)
            .body(ByteStream::from(bytes))
            .content_type(content_type)
            .storage_class(aws_sdk_s3::types::StorageClass::from(
                storage_class.as_str(),
            ))
            .set_cache_control(cache_control);
        for (k, v) in metadata {
            op = op.metadata(k, v);
        }
        let if_match = matches!(condition, PutCondition::IfMatch(_));
        op = match condition {
            PutCondition::None => op,
            PutCondition::IfAbsent => op.if_none_match("*"),
            PutCondition::IfMatch(etag) => op.if_match(format!("\"{}\"", etag.trim_matches('"'))),
        };
        match op.send().await {
            Ok(out) => Ok(bare_etag(out.e_tag())),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                // 412: the condition did not hold. 409 ConditionalRequestConflict: another
                // conditional write to the key won the race while ours was in flight.
                // If-Match on a key that does not exist: 404 NoSuchKey.
                let lost = match status {
                    Some(412) => true,
                    Some(409) => e.code() == Some("ConditionalRequestConflict"),
                    Some(404) => if_match && e.code() != Some("NoSuchBucket"),
                    _ => false,
                };
                if lost {
                    return Err(StoreError::PreconditionFailed { key });
                }
                Err(store_error("PUT", bucket, &key, &e))
            }
        }
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListPage, StoreError> {
        if bucket.is_empty() {
            return Err(StoreError::InvalidKey("empty bucket name".into()));
        }
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(continuation)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| store_error("LIST", bucket, prefix, &e))?;
        let objects = out
            .contents()
            .iter()
            .map(|o| ObjectMeta {
                key: o.key().unwrap_or_default().to_owned(),
                size: o.size().unwrap_or(0).max(0) as u64,
                etag: bare_etag(o.e_tag()),
                content_type: None,
                storage_class: o.storage_class().map(|c| c.as_str().to_owned()),
                cache_control: None,
                metadata: BTreeMap::new(),
            })
            .collect();
        let next = if out.is_truncated().unwrap_or(false) {
            out.next_continuation_token().map(str::to_owned)
        } else {
            None
        };
        Ok(ListPage { objects, next })
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        validate(bucket, key)?;
        match self
            .client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchKey") => Ok(()),
            Err(e) => Err(store_error("DELETE", bucket, key, &e)),
        }
    }

    async fn check(&self, bucket: &str) -> Result<(), StoreError> {
        if bucket.is_empty() {
            return Err(StoreError::InvalidKey("empty bucket name".into()));
        }
        self.client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("HEAD bucket", bucket, "", &e))
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<Option<String>, StoreError> {
        validate(bucket, key)?;
        let cfg = PresigningConfig::expires_in(expires)
            .map_err(|e| StoreError::Permanent(format!("presign s3://{bucket}/{key}: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| store_error("presign GET", bucket, key, &e))?;
        Ok(Some(req.uri().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_lose_their_quotes() {
        assert_eq!(bare_etag(Some("\"abc\"")), "abc");
        assert_eq!(bare_etag(Some("abc")), "abc");
        assert_eq!(bare_etag(None), "");
    }

    #[test]
    fn keys_are_validated_locally() {
        assert!(matches!(validate("b", ""), Err(StoreError::InvalidKey(_))));
        assert!(matches!(validate("", "k"), Err(StoreError::InvalidKey(_))));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            validate("b", &long),
            Err(StoreError::InvalidKey(_))
        ));
        assert!(validate("b", &"k".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(validate("b", "a b+c/ü.jpg").is_ok());
    }

    #[test]
    fn metadata_keys_are_lower_cased() {
        let m: std::collections::HashMap<_, _> =
            [("Source-ETag".to_owned(), "x".to_owned())].into();
        let got = lower_metadata(Some(&m));
        assert_eq!(got.get("source-etag").map(String::as_str), Some("x"));
    }
}
