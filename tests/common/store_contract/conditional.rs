//! Conditional writes: `IfAbsent` and `IfMatch`, alone and racing (the manifest's merge
//! rests on them).

use derivd::storage::{ObjectStore, PutCondition, PutRequest, StoreError};

use super::*;

/// A conditional put that must fail its precondition.
async fn put_412(store: &dyn ObjectStore, bucket: &str, req: PutRequest, what: &str) {
    let r = store.put(bucket, req).await;
    let ok = matches!(r, Err(StoreError::PreconditionFailed { .. }));
    assert!(ok, "{what}: expected PreconditionFailed, got {r:?}");
}

pub async fn if_absent(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-absent"));
    let mut req = put_req(&key, "first");
    req.condition = PutCondition::IfAbsent;
    let etag = put_cond(store, bucket, req.clone()).await;
    req.bytes = Bytes::from_static(b"second");
    put_412(store, bucket, req.clone(), "IfAbsent, exists").await;
    let got = get_ok(store, bucket, &key).await;
    assert_eq!((&got.bytes[..], got.meta.etag), (&b"first"[..], etag));
    // Absent again after a delete.
    store.delete(bucket, &key).await.unwrap();
    put_cond(store, bucket, req).await;
    delete_many(store, bucket, &[key]).await;
}

pub async fn if_match(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-match"));
    let mut req = put_req(&key, "v1");
    req.condition = PutCondition::IfMatch("0123456789abcdef0123456789abcdef".into());
    put_412(store, bucket, req.clone(), "IfMatch, missing").await;
    assert!(store.head(bucket, &key).await.unwrap().is_none());

    let e1 = put_ok(store, bucket, &key, "v1").await;
    req.bytes = Bytes::from_static(b"v2");
    put_412(store, bucket, req.clone(), "IfMatch, wrong").await;
    req.condition = PutCondition::IfMatch(e1.clone());
    let e2 = put_cond(store, bucket, req.clone()).await;
    assert_ne!(e1, e2);
    req.bytes = Bytes::from_static(b"v3");
    put_412(store, bucket, req, "IfMatch, stale").await;
    let got = get_ok(store, bucket, &key).await;
    assert_eq!((&got.bytes[..], got.meta.etag), (&b"v2"[..], e2));
    delete_many(store, bucket, &[key]).await;
}

/// Runs `n` conditional writers of distinct bytes at once; exactly one may win, and the
/// stored object must be the winner's.
async fn race(store: &dyn ObjectStore, bucket: &str, key: &str, cond: PutCondition, n: usize) {
    let writer = |i: usize| {
        let mut req = put_req(key, format!("writer {i}"));
        req.condition = cond.clone();
        store.put(bucket, req)
    };
    let results = join_all((0..n).map(writer).collect()).await;
    let winners: Vec<usize> = (0..n).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one writer must win: {results:?}");
    for r in &results {
        let ok = matches!(r, Ok(_) | Err(StoreError::PreconditionFailed { .. }));
        assert!(ok, "{r:?}");
    }
    let got = get_ok(store, bucket, key).await;
    assert_eq!(got.bytes, format!("writer {}", winners[0]));
    assert_eq!(&got.meta.etag, results[winners[0]].as_ref().unwrap());
}

pub async fn if_absent_race(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-absent-race"));
    race(store, bucket, &key, PutCondition::IfAbsent, 8).await;
    delete_many(store, bucket, &[key]).await;
}

pub async fn if_match_race(store: &dyn ObjectStore, bucket: &str) {
    let key = format!("{}k", unique_prefix("if-match-race"));
    let e0 = put_ok(store, bucket, &key, "v0").await;
    race(store, bucket, &key, PutCondition::IfMatch(e0), 8).await;
    delete_many(store, bucket, &[key]).await;
}
