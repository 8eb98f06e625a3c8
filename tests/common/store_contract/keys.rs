//! Keys: hostile ones stay keys (never paths), and the length limits S3 has.

use derivd::storage::{ObjectStore, StoreError};

use super::*;

/// A put that must be refused as an invalid key.
async fn put_invalid(store: &dyn ObjectStore, bucket: &str, key: &str) {
    let r = store.put(bucket, put_req(key, "x")).await;
    let n = key.len();
    assert!(
        matches!(r, Err(StoreError::InvalidKey(_))),
        "{n}-byte key: {r:?}"
    );
}

/// Keys S3 accepts that a naive "key = path" store would mangle, merge or escape with.
pub fn hostile_suffixes() -> Vec<String> {
    let mut keys: Vec<String> = [
        "a",
        "a/b",
        "a/../b",
        "../../../../etc/passwd",
        "./x",
        "x/./y",
        "x/.",
        "x/..",
        "with space",
        "plus+sign",
        "percent%20literal",
        "percent%2Fslash",
        "question?mark#hash&amp=1",
        "caf\u{e9}/\u{65e5}\u{672c}\u{8a9e}/\u{1F600}",
        "CaseOnly",
        "caseonly",
        "CASEONLY",
        "double//slash",
        "trailing/",
        "back\\slash",
        "tilde~and'quote\"",
        "dir.obj",
        ".tmp-looks-internal",
    ]
    .map(String::from)
    .to_vec();
    keys.push(format!("long/{}/end", "s".repeat(300)));
    keys
}

pub async fn hostile_keys(store: &dyn ObjectStore, bucket: &str) {
    let p = unique_prefix("hostile");
    let mut keys = hostile_suffixes();
    keys.iter_mut().for_each(|k| k.insert_str(0, &p));
    // `p` ends in '/', so this key has a `//` and a segment with a leading slash.
    keys.push(format!("{p}/leading-slash"));
    // put_many stores each key's own name as its bytes.
    put_many(store, bucket, &keys).await;
    for k in &keys {
        let got = get_ok(store, bucket, k).await;
        assert_eq!((&got.bytes[..], &got.meta.key), (k.as_bytes(), k));
    }
    let mut want = keys.clone();
    want.sort();
    assert_eq!(list_all(store, bucket, &p).await.0, want);
    delete_many(store, bucket, &keys).await;
    assert!(list_all(store, bucket, &p).await.0.is_empty());
}

pub async fn key_length_limits(store: &dyn ObjectStore, bucket: &str) {
    let p = unique_prefix("length");
    // Exactly 1024 bytes, ending in a 2-byte character so the limit is counted in bytes.
    let mut max = format!("{p}{}", "k".repeat(1024 - p.len() - 2));
    max.push('\u{e9}');
    assert_eq!(max.len(), 1024);
    put_ok(store, bucket, &max, "max").await;
    assert_eq!(&get_ok(store, bucket, &max).await.bytes[..], b"max");
    assert_eq!(list_all(store, bucket, &p).await.0, [max.clone()]);
    delete_many(store, bucket, &[max.clone()]).await;
    put_invalid(store, bucket, &format!("{max}x")).await;
    put_invalid(store, bucket, "").await;
}
