//! The behaviour every [`ObjectStore`] must share, written once and run against each backend
//! (LocalStore directly, S3Store against moto), so the embedded default cannot drift from S3.
//!
//! Rules for checks: each takes `&dyn ObjectStore` plus a bucket that already exists, and
//! works under its own random prefix, so suites may run concurrently against one shared moto
//! server and leave nothing another check could see. Only behaviour real S3 also has is
//! asserted (e.g. `storage_class` may be `None` for STANDARD, list entries carry no content
//! type). Timing-free: nothing here sleeps.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use derivd::storage::{Object, ObjectStore, PutCondition, PutRequest, StorageClass, StoreError};

mod conditional;
mod keys;

pub use conditional::*;
pub use keys::*;

/// Optional, slower checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Page through more than 1000 keys (1000 is the fixed page size, so a real multi-page
    /// listing needs > 1000 objects: quick on disk, slow-ish against moto).
    pub large_listing: bool,
}

/// Every check, one after another.
pub async fn run_all(store: &dyn ObjectStore, bucket: &str, options: Options) {
    round_trip_with_metadata(store, bucket).await;
    overwrite_replaces_everything(store, bucket).await;
    empty_object(store, bucket).await;
    missing_is_none(store, bucket).await;
    confirm_absent(store, bucket).await;
    size_limited_get(store, bucket).await;
    get_to_file(store, bucket).await;
    delete_is_idempotent(store, bucket).await;
    list_by_prefix_in_byte_order(store, bucket).await;
    if options.large_listing {
        list_paginates(store, bucket).await;
    }
    if_absent(store, bucket).await;
    if_match(store, bucket).await;
    if_absent_race(store, bucket).await;
    if_match_race(store, bucket).await;
    hostile_keys(store, bucket).await;
    key_length_limits(store, bucket).await;
    check_succeeds(store, bucket).await;
}

/// A prefix no other run (or check) shares.
pub fn unique_prefix(check: &str) -> String {
    format!("contract-{}/{check}/", uuid::Uuid::new_v4().simple())
}

pub fn put_req(key: &str, bytes: impl Into<Bytes>) -> PutRequest {
    PutRequest {
        key: key.to_owned(),
        bytes: bytes.into(),
        content_type: "application/octet-stream".into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: BTreeMap::new(),
        condition: PutCondition::None,
    }
}

/// Polls all futures concurrently in the current task (no `futures` crate here). Enough for
/// races: each future's I/O (HTTP, or a blocking-pool disk write) proceeds independently.
pub async fn join_all<T>(mut futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        // Only futures that have not completed yet are polled again.
        for (f, o) in futures
            .iter_mut()
            .zip(&mut out)
            .filter(|(_, o)| o.is_none())
        {
            if let Poll::Ready(v) = f.as_mut().poll(cx) {
                *o = Some(v);
            }
        }
        let done = out.iter().all(Option::is_some);
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

/// Every key under `prefix`, following continuations; asserts page size and order.
pub async fn list_all(store: &dyn ObjectStore, bucket: &str, prefix: &str) -> (Vec<String>, usize) {
    let (mut keys, mut pages, mut next) = (Vec::new(), 0, None);
    loop {
        let page = store.list(bucket, prefix, next).await.expect("list");
        pages += 1;
        assert!(page.objects.len() <= 1000, "page of {}", page.objects.len());
        keys.extend(page.objects.into_iter().map(|o| o.key));
        next = page.next;
        if next.is_none() {
            break;
        }
        assert!(pages < 10_000, "listing does not terminate");
    }
    let ordered = keys.windows(2).all(|w| w[0] < w[1]);
    assert!(ordered, "not in byte order, or duplicated: {keys:?}");
    (keys, pages)
}

/// A put that must succeed; returns the ETag.
pub async fn put_ok(store: &dyn ObjectStore, bucket: &str, key: &str, bytes: &str) -> String {
    let r = store.put(bucket, put_req(key, bytes.to_owned())).await;
    r.unwrap_or_else(|e| panic!("put {key:?}: {e}"))
}

/// A get of an object that must exist.
pub async fn get_ok(store: &dyn ObjectStore, bucket: &str, key: &str) -> Object {
    let r = store.get(bucket, key).await;
    let found = r.unwrap_or_else(|e| panic!("get {key:?}: {e}"));
    found.unwrap_or_else(|| panic!("{key:?} missing"))
}

/// A conditional put that must succeed; its new ETag.
async fn put_cond(store: &dyn ObjectStore, bucket: &str, req: PutRequest) -> String {
    let what = format!("{:?} put of {:?}", req.condition, req.key);
    let r = store.put(bucket, req).await;
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Puts (or deletes) many keys, 50 at a time concurrently: moto is slow one by one.
pub async fn put_many(store: &dyn ObjectStore, bucket: &str, keys: &[String]) {
    for chunk in keys.chunks(50) {
        let puts = chunk
            .iter()
            .map(|k| store.put(bucket, put_req(k, k.clone())));
        join_all(puts.collect())
            .await
            .into_iter()
            .for_each(|r| drop(r.unwrap()));
    }
}

pub async fn delete_many(store: &dyn ObjectStore, bucket: &str, keys: &[String]) {
    for chunk in keys.chunks(50) {
        let deletes = chunk.iter().map(|k| store.delete(bucket, k));
        join_all(deletes.collect())
            .await
            .into_iter()
            .for_each(|r| r.unwrap());
    }
}

pub async fn round_trip_with_metadata(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}photo.webp", unique_prefix("round-trip"));
    let mut req = put_req(&key, &b"\x00\x01 not really webp \xff"[..]);
    req.content_type = "image/webp".into();
    req.storage_class = StorageClass::ReducedRedundancy;
    req.cache_control = Some("public, max-age=31536000, immutable".into());
    req.metadata = BTreeMap::from([
        ("source-etag".to_owned(), "abc123".to_owned()),
        ("transform".to_owned(), "thumb-256".to_owned()),
    ]);
    let etag = put_cond(store, bucket, req.clone()).await;
    assert!(!etag.is_empty() && !etag.contains('"'), "{etag:?}");

    let got = get_ok(store, bucket, &key).await;
    assert_eq!(got.bytes, req.bytes);
    let head = store.head(bucket, &key).await.unwrap().unwrap();
    assert_eq!(head, got.meta, "head and get disagree");
    let size = req.bytes.len() as u64;
    assert_eq!((&head.key, head.size, &head.etag), (&key, size, &etag));
    assert_eq!(head.content_type.as_deref(), Some("image/webp"));
    assert_eq!(head.storage_class.as_deref(), Some("REDUCED_REDUNDANCY"));
    assert_eq!(head.cache_control, req.cache_control);
    assert_eq!(head.metadata, req.metadata);

    let listed = store.list(bucket, &key, None).await.unwrap().objects;
    let summary: Vec<_> = listed.iter().map(|o| (&o.key, o.size, &o.etag)).collect();
    assert_eq!(summary, [(&key, size, &etag)]);
    delete_many(store, bucket, &[key]).await;
}

/// A second put replaces bytes and all metadata; nothing of the first version lingers.
pub async fn overwrite_replaces_everything(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("overwrite"));
    let mut first = put_req(&key, "first version");
    first.cache_control = Some("no-cache".into());
    first.metadata = BTreeMap::from([("old".to_owned(), "1".to_owned())]);
    let e1 = put_cond(store, bucket, first).await;
    let mut second = put_req(&key, "second");
    second.content_type = "text/plain".into();
    second.metadata = BTreeMap::from([("new".to_owned(), "2".to_owned())]);
    let e2 = put_cond(store, bucket, second.clone()).await;
    assert_ne!(e1, e2, "different bytes, same etag");
    let got = get_ok(store, bucket, &key).await;
    assert_eq!(&got.bytes[..], b"second");
    let meta = got.meta;
    assert_eq!((meta.etag, meta.metadata), (e2, second.metadata));
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.cache_control, None);
    let class = meta.storage_class.as_deref();
    assert!(matches!(class, None | Some("STANDARD")), "{class:?}");
    // Listed once, not once per version.
    assert_eq!(
        list_all(store, bucket, &key).await.0,
        std::slice::from_ref(&key)
    );
    delete_many(store, bucket, &[key]).await;
}

pub async fn empty_object(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}empty", unique_prefix("empty"));
    let etag = put_ok(store, bucket, &key, "").await;
    let got = get_ok(store, bucket, &key).await;
    assert!(got.bytes.is_empty());
    assert_eq!((got.meta.size, got.meta.etag), (0, etag));
    delete_many(store, bucket, &[key]).await;
}

pub async fn missing_is_none(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}never-written", unique_prefix("missing"));
    assert!(store.get(bucket, &key).await.expect("get").is_none());
    assert!(store.head(bucket, &key).await.expect("head").is_none());
    let page = store.list(bucket, &key, None).await.expect("list");
    assert!(page.objects.is_empty() && page.next.is_none());
}

/// `confirm_absent`: true for a never-written key, false for present objects (empty or
/// not); a bucket that does not exist is an error, never "absent".
pub async fn confirm_absent(store: &dyn ObjectStore, bucket: &str) {
    let prefix = unique_prefix("confirm-absent");
    let (gone, empty, full) = (
        format!("{prefix}gone"),
        format!("{prefix}empty"),
        format!("{prefix}full"),
    );
    put_ok(store, bucket, &empty, "").await;
    put_ok(store, bucket, &full, &"x".repeat(5000)).await;
    assert!(store.confirm_absent(bucket, &gone).await.expect("absent"));
    for key in [&empty, &full] {
        assert!(!store.confirm_absent(bucket, key).await.expect("present"));
    }
    let no_bucket = format!("nb-{}", uuid::Uuid::new_v4().simple());
    let err = store.confirm_absent(&no_bucket, &gone).await;
    assert!(
        err.is_err(),
        "missing bucket must not confirm absence: {err:?}"
    );
    delete_many(store, bucket, &[empty, full]).await;
}

/// `get_limited` returns objects up to the limit, refuses larger ones with `TooLarge`, and
/// says `None` for missing ones.
pub async fn size_limited_get(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}hundred", unique_prefix("limited"));
    put_ok(store, bucket, &key, &"x".repeat(100)).await;
    let got = store
        .get_limited(bucket, &key, 100)
        .await
        .expect("get_limited");
    assert_eq!(got.expect("present").bytes.len(), 100);
    match store.get_limited(bucket, &key, 99).await {
        Err(StoreError::TooLarge { size, limit, .. }) => assert_eq!((size, limit), (100, 99)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let missing = format!("{key}-not-there");
    assert!(store
        .get_limited(bucket, &missing, 1)
        .await
        .expect("get")
        .is_none());
    delete_many(store, bucket, &[key]).await;
}

/// `get_to_file` streams the object into the file with its metadata, under the same limit
/// rule as `get_limited`, and says `None` for missing ones.
pub async fn get_to_file(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}big", unique_prefix("to-file"));
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let etag = store
        .put(bucket, put_req(&key, body.clone()))
        .await
        .unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    let meta = store
        .get_to_file(bucket, &key, 300_000, file.reopen().unwrap())
        .await
        .expect("get_to_file")
        .expect("present");
    assert_eq!((meta.size, meta.etag.as_str()), (300_000, etag.as_str()));
    assert!(
        std::fs::read(file.path()).unwrap() == body,
        "the file holds the object"
    );
    let small = tempfile::NamedTempFile::new().unwrap();
    match store
        .get_to_file(bucket, &key, 299_999, small.reopen().unwrap())
        .await
    {
        Err(StoreError::TooLarge { size, .. }) => assert_eq!(size, 300_000),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let missing = format!("{key}-not-there");
    let got = store.get_to_file(bucket, &missing, 1, small.reopen().unwrap());
    assert!(got.await.expect("get").is_none());
    delete_many(store, bucket, &[key]).await;
}

pub async fn delete_is_idempotent(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("delete"));
    store.delete(bucket, &key).await.expect("delete missing");
    put_ok(store, bucket, &key, "x").await;
    store.delete(bucket, &key).await.expect("delete");
    assert!(store.head(bucket, &key).await.unwrap().is_none());
    assert!(store.get(bucket, &key).await.unwrap().is_none());
    store.delete(bucket, &key).await.expect("delete again");
}

pub async fn list_by_prefix_in_byte_order(store: &dyn ObjectStore, bucket: &str) {
    let p = unique_prefix("list");
    // Byte order, not locale order: 'B' < 'a' < 'b' < 'é'; "a" < "a b" < "a/b" < "a0" < "ab".
    let inside = [
        "B",
        "a",
        "a b",
        "a/b",
        "a/b/c",
        "a0",
        "ab",
        "b",
        "é",
        "\u{1F600}",
    ];
    let mut want: Vec<String> = inside.iter().map(|k| format!("{p}{k}")).collect();
    // Keys that share the prefix's characters but not the whole prefix must not be listed.
    let stem = &p[..p.len() - 1];
    let siblings = [stem.to_owned(), format!("{stem}0"), format!("{stem}x")];
    put_many(store, bucket, &want).await;
    put_many(store, bucket, &siblings).await;
    want.sort();
    assert_eq!(list_all(store, bucket, &p).await, (want.clone(), 1));
    // `a/` must not match "a", "a b", "a0" or "ab".
    let (sub, _) = list_all(store, bucket, &format!("{p}a/")).await;
    assert_eq!(sub, [format!("{p}a/b"), format!("{p}a/b/c")]);
    delete_many(store, bucket, &want).await;
    delete_many(store, bucket, &siblings).await;
    assert!(list_all(store, bucket, &p).await.0.is_empty());
}

/// More than one page: 1000 a page, continuation resumes exactly after the last key.
pub async fn list_paginates(store: &dyn ObjectStore, bucket: &str) {
    let p = unique_prefix("paginate");
    let keys: Vec<String> = (0..1205).map(|i| format!("{p}{i:05}")).collect();
    put_many(store, bucket, &keys).await;
    let first = store.list(bucket, &p, None).await.expect("list");
    assert_eq!(first.objects.len(), 1000, "a full first page");
    assert!(first.next.is_some());
    assert_eq!(list_all(store, bucket, &p).await, (keys.clone(), 2));
    delete_many(store, bucket, &keys).await;
}

pub async fn check_succeeds(store: &dyn ObjectStore, bucket: &str) {
    store.check(bucket).await.expect("check");
}
