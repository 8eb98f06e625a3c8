//! `S3Store` against moto: the shared store contract plus what only S3 does.
//!
//! Why: derivd's whole point is REDUCED_REDUNDANCY objects, conditional writes and S3's
//! way of saying "gone", so those are checked on a real S3 API rather than assumed.
//! Needs moto (run scripts/test.sh); every test makes its own bucket.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use common::{moto, store_contract};
use derivd::storage::s3::S3Store;
use derivd::storage::{ObjectStore, PutCondition, PutRequest, StorageClass, StoreError};

async fn store() -> S3Store {
    S3Store::new(moto::s3().await)
}

fn put_req(key: &str, body: &'static [u8]) -> PutRequest {
    PutRequest {
        key: key.to_owned(),
        bytes: Bytes::from_static(body),
        content_type: "image/jpeg".to_owned(),
        storage_class: StorageClass::ReducedRedundancy,
        cache_control: None,
        metadata: BTreeMap::new(),
        condition: PutCondition::None,
    }
}

#[tokio::test]
async fn reduced_redundancy_round_trips_on_head_get_and_list() {
    let s = store().await;
    let bucket = moto::new_bucket("rrs").await;
    let etag = s
        .put(&bucket, put_req("d/w640/a.jpg", b"jpeg"))
        .await
        .unwrap();
    assert!(!etag.is_empty() && !etag.contains('"'), "bare etag: {etag}");

    let head = s
        .head(&bucket, "d/w640/a.jpg")
        .await
        .unwrap()
        .expect("head");
    assert_eq!(head.storage_class.as_deref(), Some("REDUCED_REDUNDANCY"));
    assert_eq!(head.etag, etag);
    assert_eq!(head.size, 4);

    let got = s.get(&bucket, "d/w640/a.jpg").await.unwrap().expect("get");
    assert_eq!(
        got.meta.storage_class.as_deref(),
        Some("REDUCED_REDUNDANCY")
    );
    assert_eq!(&got.bytes[..], b"jpeg");

    let mut std = put_req("d/w640/b.jpg", b"standard");
    std.storage_class = StorageClass::Standard;
    s.put(&bucket, std).await.unwrap();

    let page = s.list(&bucket, "d/", None).await.unwrap();
    assert!(page.next.is_none());
    let classes: Vec<_> = page
        .objects
        .iter()
        .map(|o| {
            (
                o.key.as_str(),
                o.storage_class.as_deref(),
                o.etag.as_str(),
                o.size,
            )
        })
        .collect();
    assert_eq!(
        classes[0],
        ("d/w640/a.jpg", Some("REDUCED_REDUNDANCY"), etag.as_str(), 4)
    );
    assert_eq!(classes[1].0, "d/w640/b.jpg");
    assert_ne!(classes[1].1, Some("REDUCED_REDUNDANCY"));
}

#[tokio::test]
async fn headers_and_user_metadata_round_trip() {
    let s = store().await;
    let bucket = moto::new_bucket("meta").await;
    let mut req = put_req("m.webp", b"webp!");
    req.content_type = "image/webp".into();
    req.cache_control = Some("public, max-age=31536000, immutable".into());
    req.metadata = BTreeMap::from([
        ("source-etag".to_owned(), "abc123".to_owned()),
        ("recipe".to_owned(), "w640-q80".to_owned()),
    ]);
    s.put(&bucket, req.clone()).await.unwrap();

    for meta in [
        s.head(&bucket, "m.webp").await.unwrap().unwrap(),
        s.get(&bucket, "m.webp").await.unwrap().unwrap().meta,
    ] {
        assert_eq!(meta.key, "m.webp");
        assert_eq!(meta.content_type.as_deref(), Some("image/webp"));
        assert_eq!(meta.cache_control, req.cache_control);
        assert_eq!(meta.metadata, req.metadata);
        assert_eq!(meta.size, 5);
    }
}

#[tokio::test]
async fn if_none_match_star_refuses_to_overwrite() {
    let s = store().await;
    let bucket = moto::new_bucket("ifabsent").await;
    let mut req = put_req("once.jpg", b"first");
    req.condition = PutCondition::IfAbsent;
    s.put(&bucket, req.clone()).await.unwrap();
    req.bytes = Bytes::from_static(b"second");
    let err = s.put(&bucket, req).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::PreconditionFailed { key } if key == "once.jpg"),
        "{err:?}"
    );
    let got = s.get(&bucket, "once.jpg").await.unwrap().unwrap();
    assert_eq!(&got.bytes[..], b"first");
}

#[tokio::test]
async fn if_match_requires_the_current_etag() {
    let s = store().await;
    let bucket = moto::new_bucket("ifmatch").await;
    let first = s.put(&bucket, put_req("v.jpg", b"v1")).await.unwrap();

    let mut stale = put_req("v.jpg", b"v2");
    stale.condition = PutCondition::IfMatch("0123456789abcdef0123456789abcdef".into());
    let err = s.put(&bucket, stale).await.unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { .. }),
        "{err:?}"
    );

    let mut fresh = put_req("v.jpg", b"v2");
    fresh.condition = PutCondition::IfMatch(first.clone());
    let second = s.put(&bucket, fresh).await.unwrap();
    assert_ne!(first, second);

    // The old ETag no longer matches.
    let mut again = put_req("v.jpg", b"v3");
    again.condition = PutCondition::IfMatch(first);
    assert!(matches!(
        s.put(&bucket, again).await,
        Err(StoreError::PreconditionFailed { .. })
    ));
    let got = s.get(&bucket, "v.jpg").await.unwrap().unwrap();
    assert_eq!(&got.bytes[..], b"v2");
}

#[tokio::test]
async fn awkward_keys_work_with_path_style() {
    let s = store().await;
    let bucket = moto::new_bucket("keys").await;
    let keys = [
        "with space/a b.jpg",
        "plus+sign/1+1=2.jpg",
        "unicode/Zürich €/日本語.jpg",
        "tilde~and%percent/x.jpg",
    ];
    for key in keys {
        s.put(&bucket, put_req(key, b"x")).await.unwrap();
        assert!(s.head(&bucket, key).await.unwrap().is_some(), "head {key}");
        assert_eq!(&s.get(&bucket, key).await.unwrap().unwrap().bytes[..], b"x");
    }
    let listed: Vec<_> = s
        .list(&bucket, "", None)
        .await
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect();
    let mut expected: Vec<_> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    for key in keys {
        s.delete(&bucket, key).await.unwrap();
        assert!(s.head(&bucket, key).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn missing_objects_are_none_and_deletes_are_idempotent() {
    let s = store().await;
    let bucket = moto::new_bucket("missing").await;
    assert!(s.get(&bucket, "nope.jpg").await.unwrap().is_none());
    assert!(s.head(&bucket, "nope.jpg").await.unwrap().is_none());
    s.delete(&bucket, "nope.jpg").await.unwrap();
    s.put(&bucket, put_req("yes.jpg", b"y")).await.unwrap();
    s.delete(&bucket, "yes.jpg").await.unwrap();
    s.delete(&bucket, "yes.jpg").await.unwrap();
    assert!(s.get(&bucket, "yes.jpg").await.unwrap().is_none());
}

#[tokio::test]
async fn missing_bucket_is_permanent() {
    let s = store().await;
    let bucket = format!("no-such-bucket-{}", uuid::Uuid::new_v4().simple());
    s.check(&moto::new_bucket("exists").await).await.unwrap();
    let err = s.check(&bucket).await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
    let err = s.put(&bucket, put_req("k.jpg", b"k")).await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
    let err = s.get(&bucket, "k.jpg").await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
    let err = s.list(&bucket, "", None).await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn invalid_keys_are_refused() {
    let s = store().await;
    let bucket = moto::new_bucket("invalid").await;
    let err = s.put(&bucket, put_req("", b"x")).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidKey(_)), "{err:?}");
    let long = "k".repeat(1025);
    let err = s.head(&bucket, &long).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidKey(_)), "{err:?}");
}

/// The backend-neutral contract (shared with LocalStore), including a multi-page listing.
#[tokio::test]
async fn store_contract() {
    let bucket = moto::new_bucket("contract").await;
    let options = store_contract::Options {
        large_listing: true,
    };
    store_contract::run_all(&store().await, &bucket, options).await;
}

#[tokio::test]
async fn presigned_get_fetches_the_object() {
    let s = store().await;
    let bucket = moto::new_bucket("presign").await;
    s.put(&bucket, put_req("dir/a b.jpg", b"presigned body"))
        .await
        .unwrap();
    let url = s
        .presign_get(&bucket, "dir/a b.jpg", Duration::from_secs(300))
        .await
        .unwrap()
        .expect("S3 presigns");
    assert!(
        url.starts_with(&format!("{}/{bucket}/", moto::endpoint())),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let resp = reqwest::get(&url).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(&resp.bytes().await.unwrap()[..], b"presigned body");
}

/// Path style must follow from the endpoint override alone, whether it came from
/// derivd's config or from `AWS_ENDPOINT_URL` (which scripts/test.sh sets).
#[tokio::test]
async fn endpoint_override_forces_path_style() {
    let expires = Duration::from_secs(60);
    // Explicit endpoint with a host name: virtual-host style would give bucket.localhost.
    let port = moto::endpoint()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let cfg =
        derivd::aws::load_sdk_config(Some("us-east-1"), Some(&format!("http://localhost:{port}")))
            .await;
    let s = S3Store::new(derivd::aws::s3_client(&cfg));
    let url = s
        .presign_get("some-bucket", "k.jpg", expires)
        .await
        .unwrap()
        .unwrap();
    assert!(
        url.starts_with(&format!("http://localhost:{port}/some-bucket/k.jpg?")),
        "{url}"
    );

    // Endpoint from the environment only.
    let cfg = derivd::aws::load_sdk_config(None, None).await;
    assert_eq!(cfg.endpoint_url(), Some(moto::endpoint().as_str()));
    let s = S3Store::new(derivd::aws::s3_client(&cfg));
    let url = s
        .presign_get("some-bucket", "k.jpg", expires)
        .await
        .unwrap()
        .unwrap();
    assert!(
        url.starts_with(&format!("{}/some-bucket/k.jpg?", moto::endpoint())),
        "{url}"
    );
}
