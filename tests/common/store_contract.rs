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
use derivd::storage::{ObjectStore, PutCondition, PutRequest, StorageClass, StoreError};

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
pub async fn join_all<T>(futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut slots: Vec<_> = futures.into_iter().map(|f| (Some(f), None)).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in slots.iter_mut() {
            if let Some(f) = fut {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *fut = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    slots
        .into_iter()
        .map(|(_, out)| out.expect("ready"))
        .collect()
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
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "not in byte order / duplicated: {keys:?}"
    );
    (keys, pages)
}

fn assert_precondition_failed<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(r, Err(StoreError::PreconditionFailed { .. })),
        "{what}: expected PreconditionFailed, got {r:?}"
    );
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
    let etag = store.put(bucket, req.clone()).await.expect("put");
    assert!(
        !etag.is_empty() && !etag.contains('"'),
        "etag {etag:?} must be bare"
    );

    let got = store
        .get(bucket, &key)
        .await
        .expect("get")
        .expect("object exists");
    assert_eq!(got.bytes, req.bytes);
    let head = store
        .head(bucket, &key)
        .await
        .expect("head")
        .expect("object exists");
    assert_eq!(head, got.meta, "head and get disagree");
    assert_eq!(head.key, key);
    assert_eq!(head.size, req.bytes.len() as u64);
    assert_eq!(head.etag, etag);
    assert_eq!(head.content_type.as_deref(), Some("image/webp"));
    assert_eq!(head.storage_class.as_deref(), Some("REDUCED_REDUNDANCY"));
    assert_eq!(head.cache_control, req.cache_control);
    assert_eq!(head.metadata, req.metadata);

    let listed = store.list(bucket, &key, None).await.expect("list");
    assert_eq!(listed.objects.len(), 1);
    assert_eq!(listed.objects[0].key, key);
    assert_eq!(listed.objects[0].size, req.bytes.len() as u64);
    assert_eq!(listed.objects[0].etag, etag);
    store.delete(bucket, &key).await.expect("delete");
}

/// A second put replaces bytes and all metadata; nothing of the first version lingers.
pub async fn overwrite_replaces_everything(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("overwrite"));
    let mut first = put_req(&key, "first version");
    first.cache_control = Some("no-cache".into());
    first.metadata = BTreeMap::from([("old".to_owned(), "1".to_owned())]);
    let e1 = store.put(bucket, first).await.expect("put 1");
    let mut second = put_req(&key, "second");
    second.content_type = "text/plain".into();
    second.metadata = BTreeMap::from([("new".to_owned(), "2".to_owned())]);
    let e2 = store.put(bucket, second).await.expect("put 2");
    assert_ne!(e1, e2, "different bytes, same etag");
    let got = store.get(bucket, &key).await.unwrap().expect("exists");
    assert_eq!(&got.bytes[..], b"second");
    assert_eq!(got.meta.etag, e2);
    assert_eq!(got.meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(got.meta.cache_control, None);
    assert_eq!(
        got.meta.metadata,
        BTreeMap::from([("new".to_owned(), "2".to_owned())])
    );
    assert!(matches!(
        got.meta.storage_class.as_deref(),
        None | Some("STANDARD")
    ));
    let (keys, _) = list_all(store, bucket, &key).await;
    assert_eq!(
        keys,
        vec![key.clone()],
        "overwrite duplicated the key in listings"
    );
    store.delete(bucket, &key).await.unwrap();
}

pub async fn empty_object(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}empty", unique_prefix("empty"));
    let etag = store
        .put(bucket, put_req(&key, Bytes::new()))
        .await
        .expect("put");
    let got = store.get(bucket, &key).await.unwrap().expect("exists");
    assert!(got.bytes.is_empty());
    assert_eq!((got.meta.size, got.meta.etag), (0, etag));
    store.delete(bucket, &key).await.unwrap();
}

pub async fn missing_is_none(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}never-written", unique_prefix("missing"));
    assert!(store.get(bucket, &key).await.expect("get").is_none());
    assert!(store.head(bucket, &key).await.expect("head").is_none());
    let page = store.list(bucket, &key, None).await.expect("list");
    assert!(page.objects.is_empty() && page.next.is_none());
}

pub async fn delete_is_idempotent(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("delete"));
    store.delete(bucket, &key).await.expect("delete missing");
    store.put(bucket, put_req(&key, "x")).await.unwrap();
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
    // Keys that share the prefix's characters but not the whole prefix must not be listed.
    let stem = &p[..p.len() - 1];
    let siblings = [stem.to_owned(), format!("{stem}0"), format!("{stem}x")];
    for k in inside
        .iter()
        .map(|k| format!("{p}{k}"))
        .chain(siblings.iter().cloned())
    {
        store
            .put(bucket, put_req(&k, k.clone().into_bytes()))
            .await
            .expect("put");
    }
    let mut want: Vec<String> = inside.iter().map(|k| format!("{p}{k}")).collect();
    want.sort();
    let (keys, pages) = list_all(store, bucket, &p).await;
    assert_eq!(keys, want);
    assert_eq!(pages, 1);
    // `a/` must not match "a", "a b", "a0" or "ab".
    let (sub, _) = list_all(store, bucket, &format!("{p}a/")).await;
    assert_eq!(sub, vec![format!("{p}a/b"), format!("{p}a/b/c")]);
    for k in want.iter().chain(siblings.iter()) {
        store.delete(bucket, k).await.unwrap();
    }
    assert!(list_all(store, bucket, &p).await.0.is_empty());
}

/// More than one page: 1000 a page, continuation resumes exactly after the last key.
pub async fn list_paginates(store: &dyn ObjectStore, bucket: &str) {
    let p = unique_prefix("paginate");
    let keys: Vec<String> = (0..1205).map(|i| format!("{p}{i:05}")).collect();
    for chunk in keys.chunks(50) {
        let puts = chunk
            .iter()
            .map(|k| store.put(bucket, put_req(k, "p")))
            .collect();
        for r in join_all(puts).await {
            r.expect("put");
        }
    }
    let first = store.list(bucket, &p, None).await.expect("list");
    assert_eq!(first.objects.len(), 1000, "a full first page");
    assert!(first.next.is_some());
    let (listed, pages) = list_all(store, bucket, &p).await;
    assert_eq!(listed, keys);
    assert_eq!(pages, 2);
    for chunk in keys.chunks(50) {
        let dels = chunk.iter().map(|k| store.delete(bucket, k)).collect();
        for r in join_all(dels).await {
            r.expect("delete");
        }
    }
}

pub async fn if_absent(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-absent"));
    let mut req = put_req(&key, "first");
    req.condition = PutCondition::IfAbsent;
    let etag = store.put(bucket, req.clone()).await.expect("absent: write");
    req.bytes = Bytes::from_static(b"second");
    assert_precondition_failed(store.put(bucket, req.clone()).await, "IfAbsent on existing");
    let got = store.get(bucket, &key).await.unwrap().expect("exists");
    assert_eq!((&got.bytes[..], got.meta.etag), (&b"first"[..], etag));
    // Absent again after a delete.
    store.delete(bucket, &key).await.unwrap();
    store.put(bucket, req).await.expect("IfAbsent after delete");
    store.delete(bucket, &key).await.unwrap();
}

pub async fn if_match(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-match"));
    let mut req = put_req(&key, "v1");
    req.condition = PutCondition::IfMatch("0123456789abcdef0123456789abcdef".into());
    assert_precondition_failed(
        store.put(bucket, req.clone()).await,
        "IfMatch on missing key",
    );
    assert!(store.head(bucket, &key).await.unwrap().is_none());

    let e1 = store.put(bucket, put_req(&key, "v1")).await.unwrap();
    req.bytes = Bytes::from_static(b"v2");
    assert_precondition_failed(store.put(bucket, req.clone()).await, "IfMatch wrong etag");
    req.condition = PutCondition::IfMatch(e1.clone());
    let e2 = store
        .put(bucket, req.clone())
        .await
        .expect("IfMatch current etag");
    assert_ne!(e1, e2);
    req.bytes = Bytes::from_static(b"v3");
    assert_precondition_failed(store.put(bucket, req).await, "IfMatch stale etag");
    let got = store.get(bucket, &key).await.unwrap().expect("exists");
    assert_eq!((&got.bytes[..], got.meta.etag), (&b"v2"[..], e2));
    store.delete(bucket, &key).await.unwrap();
}

/// Runs `n` conditional writers of distinct bytes at once; exactly one may win, and the
/// stored object must be the winner's.
async fn race(store: &dyn ObjectStore, bucket: &str, key: &str, condition: PutCondition, n: usize) {
    let writers = (0..n)
        .map(|i| {
            let mut req = put_req(key, format!("writer {i}"));
            req.condition = condition.clone();
            store.put(bucket, req)
        })
        .collect();
    let results = join_all(writers).await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one writer must win: {results:?}");
    for r in &results {
        assert!(
            matches!(r, Ok(_) | Err(StoreError::PreconditionFailed { .. })),
            "{r:?}"
        );
    }
    let got = store.get(bucket, key).await.unwrap().expect("exists");
    assert_eq!(got.bytes, Bytes::from(format!("writer {}", winners[0])));
    assert_eq!(&got.meta.etag, results[winners[0]].as_ref().unwrap());
}

pub async fn if_absent_race(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-absent-race"));
    race(store, bucket, &key, PutCondition::IfAbsent, 8).await;
    store.delete(bucket, &key).await.unwrap();
}

pub async fn if_match_race(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-match-race"));
    let e0 = store.put(bucket, put_req(&key, "v0")).await.unwrap();
    race(store, bucket, &key, PutCondition::IfMatch(e0), 8).await;
    store.delete(bucket, &key).await.unwrap();
}

/// Keys S3 accepts that a naive "key = path" store would mangle, merge or escape with.
pub fn hostile_suffixes() -> Vec<String> {
    vec![
        "a".into(),
        "a/b".into(),
        "a/../b".into(),
        "../../../../etc/passwd".into(),
        "./x".into(),
        "x/./y".into(),
        "x/.".into(),
        "x/..".into(),
        "with space".into(),
        "plus+sign".into(),
        "percent%20literal".into(),
        "percent%2Fslash".into(),
        "question?mark#hash&amp=1".into(),
        "caf\u{e9}/\u{65e5}\u{672c}\u{8a9e}/\u{1F600}".into(),
        "CaseOnly".into(),
        "caseonly".into(),
        "CASEONLY".into(),
        "double//slash".into(),
        "trailing/".into(),
        "back\\slash".into(),
        "tilde~and'quote\"".into(),
        format!("long/{}/end", "s".repeat(300)),
        "dir.obj".into(),
        ".tmp-looks-internal".into(),
    ]
}

pub async fn hostile_keys(store: &dyn ObjectStore, bucket: &str) {
    let p = unique_prefix("hostile");
    // `p` ends in '/', so `p + "/lead"` is a key with a `//` and a leading-slash segment.
    let mut keys: Vec<String> = hostile_suffixes()
        .iter()
        .map(|s| format!("{p}{s}"))
        .collect();
    keys.push(format!("{p}/leading-slash"));
    for (i, k) in keys.iter().enumerate() {
        store
            .put(bucket, put_req(k, format!("object {i}")))
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
    }
    for (i, k) in keys.iter().enumerate() {
        let got = store
            .get(bucket, k)
            .await
            .unwrap_or_else(|e| panic!("get {k:?}: {e}"));
        let got = got.unwrap_or_else(|| panic!("{k:?} missing"));
        assert_eq!(
            got.bytes,
            Bytes::from(format!("object {i}")),
            "{k:?} returned another key's bytes"
        );
        assert_eq!(&got.meta.key, k);
    }
    let mut want = keys.clone();
    want.sort();
    assert_eq!(list_all(store, bucket, &p).await.0, want);
    for k in &keys {
        store.delete(bucket, k).await.unwrap();
    }
    assert!(list_all(store, bucket, &p).await.0.is_empty());
}

pub async fn key_length_limits(store: &dyn ObjectStore, bucket: &str) {
    let p = unique_prefix("length");
    // Exactly 1024 bytes, ending in a 2-byte character so the limit is counted in bytes.
    let mut max = format!("{p}{}", "k".repeat(1024 - p.len() - 2));
    max.push('\u{e9}');
    assert_eq!(max.len(), 1024);
    store
        .put(bucket, put_req(&max, "max"))
        .await
        .expect("1024-byte key");
    assert_eq!(
        &store
            .get(bucket, &max)
            .await
            .unwrap()
            .expect("exists")
            .bytes[..],
        b"max"
    );
    assert_eq!(list_all(store, bucket, &p).await.0, vec![max.clone()]);
    store.delete(bucket, &max).await.unwrap();

    let too_long = format!("{max}x");
    let r = store.put(bucket, put_req(&too_long, "x")).await;
    assert!(
        matches!(r, Err(StoreError::InvalidKey(_))),
        "1025-byte key: {r:?}"
    );
    let r = store.put(bucket, put_req("", "x")).await;
    assert!(
        matches!(r, Err(StoreError::InvalidKey(_))),
        "empty key: {r:?}"
    );
}

pub async fn check_succeeds(store: &dyn ObjectStore, bucket: &str) {
    store.check(bucket).await.expect("check");
}
