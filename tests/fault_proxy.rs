//! Failure classification end to end: SDK clients talk to moto through the fault proxy,
//! which injects errors, stalls and dropped connections on demand.
//!
//! Why: moto never fails, yet what derivd does on failure (retry later vs dead-letter,
//! regenerate vs error) hinges on classifying real SDK errors correctly. Most clients
//! here make a single attempt (SDK retries off) so each injected fault is observable.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::timeout::TimeoutConfig;
use bytes::Bytes;
use common::fault_proxy::{FaultProxy, Match};
use common::moto;
use derivd::queue::sqs::SqsQueue;
use derivd::queue::{Queue, QueueError};
use derivd::storage::s3::S3Store;
use derivd::storage::{ObjectStore, PutCondition, PutRequest, StorageClass, StoreError};

async fn s3_via(proxy: &FaultProxy, max_attempts: u32) -> S3Store {
    let cfg = moto::sdk_config_via(&proxy.url(), max_attempts).await;
    S3Store::new(derivd::aws::s3_client(&cfg))
}

fn put_req(key: &str, bytes: Bytes) -> PutRequest {
    PutRequest {
        key: key.to_owned(),
        bytes,
        content_type: "image/jpeg".into(),
        storage_class: StorageClass::ReducedRedundancy,
        cache_control: None,
        metadata: BTreeMap::new(),
        condition: PutCondition::None,
    }
}

fn small(key: &str) -> PutRequest {
    put_req(key, Bytes::from_static(b"derived"))
}

#[tokio::test]
async fn put_is_transient_while_the_fault_lasts_then_succeeds() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-put").await;
    let s = s3_via(&proxy, 1).await;
    let rule = proxy.fail_next(Match::method("PUT").path(&bucket), 1, 503);

    let err = s.put(&bucket, small("a.jpg")).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("SlowDown"), "{err}");
    assert_eq!(proxy.remaining(rule), 0);

    s.put(&bucket, small("a.jpg")).await.unwrap();
    assert_eq!(proxy.seen("PUT"), 2);
    assert_eq!(proxy.faulted(), 1);
    // Really written: read it back past the proxy.
    let direct = S3Store::new(moto::s3().await);
    let got = direct.get(&bucket, "a.jpg").await.unwrap().unwrap();
    assert_eq!(&got.bytes[..], b"derived");
}

#[tokio::test]
async fn internal_errors_are_transient_and_sdk_retries_absorb_short_outages() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-retry").await;
    proxy.fail_next(Match::method("PUT"), 1, 500);
    let err = s3_via(&proxy, 1)
        .await
        .put(&bucket, small("r.jpg"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");

    // Standard mode: 3 attempts, so two failures in a row are invisible to the caller.
    proxy.fail_next(Match::method("PUT"), 2, 500);
    s3_via(&proxy, 3)
        .await
        .put(&bucket, small("r.jpg"))
        .await
        .unwrap();
    assert_eq!(proxy.seen("PUT"), 4);
}

#[tokio::test]
async fn throttling_is_transient_and_access_denied_is_permanent() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-class").await;
    let s = s3_via(&proxy, 1).await;
    s.put(&bucket, small("c.jpg")).await.unwrap();

    proxy.fail_next(Match::method("GET").path("c.jpg"), 1, 429);
    let err = s.get(&bucket, "c.jpg").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    proxy.fail_next_with_code(Match::method("GET"), 1, 400, "RequestTimeout");
    let err = s.get(&bucket, "c.jpg").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    proxy.fail_next(Match::method("GET"), 1, 403);
    let err = s.get(&bucket, "c.jpg").await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");

    proxy.fail_next(Match::method("PUT"), 1, 403);
    let err = s.put(&bucket, small("c.jpg")).await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");

    proxy.fail_next(Match::method("HEAD"), 1, 403);
    let err = s.check(&bucket).await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");

    proxy.fail_next(Match::method("PUT"), 1, 412);
    let err = s.put(&bucket, small("c.jpg")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { .. }),
        "{err:?}"
    );
    proxy.fail_next_with_code(Match::method("PUT"), 1, 409, "ConditionalRequestConflict");
    let err = s.put(&bucket, small("c.jpg")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { .. }),
        "{err:?}"
    );
}

/// S3 answers GET/HEAD on a lost Reduced Redundancy object with 405; moto cannot lose
/// objects, so the proxy plays the part.
#[tokio::test]
async fn method_not_allowed_means_a_lost_object() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-lost").await;
    let s = s3_via(&proxy, 1).await;
    s.put(&bucket, small("lost.jpg")).await.unwrap();

    proxy.fail_next(Match::method("HEAD").path("lost.jpg"), 1, 405);
    assert!(s.head(&bucket, "lost.jpg").await.unwrap().is_none());
    proxy.fail_next(Match::method("GET").path("lost.jpg"), 1, 405);
    assert!(s.get(&bucket, "lost.jpg").await.unwrap().is_none());
    // A 404 without a body (HEAD) or with NoSuchKey (GET) is also "not there".
    proxy.fail_next(Match::method("HEAD"), 1, 404);
    assert!(s.head(&bucket, "lost.jpg").await.unwrap().is_none());
    proxy.fail_next(Match::method("GET"), 1, 404);
    assert!(s.get(&bucket, "lost.jpg").await.unwrap().is_none());
    // ... but a GET answering NoSuchBucket is a configuration error, and so is a 404 that
    // is not S3's NoSuchKey (a proxy or a wrong endpoint): neither may look like a deletion.
    proxy.fail_next_with_code(Match::method("GET"), 1, 404, "NoSuchBucket");
    let err = s.get(&bucket, "lost.jpg").await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
    proxy.fail_next_with_code(Match::method("GET"), 1, 404, "NotS3");
    let err = s.get(&bucket, "lost.jpg").await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");

    assert!(s.head(&bucket, "lost.jpg").await.unwrap().is_some());
}

#[tokio::test]
async fn dropped_connections_and_dead_upstreams_are_transient() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-drop").await;
    let s = s3_via(&proxy, 1).await;
    proxy.drop_next(Match::method("PUT"), 1);
    let err = s.put(&bucket, small("d.jpg")).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
    s.put(&bucket, small("d.jpg")).await.unwrap();

    // Nothing listens upstream: the proxy answers 502.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = FaultProxy::start(&format!("http://127.0.0.1:{dead_port}")).await;
    let err = s3_via(&nowhere, 1).await.check(&bucket).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");

    // Nothing listens at all: connect error.
    drop(nowhere);
    let cfg = moto::sdk_config_via(&format!("http://127.0.0.1:{dead_port}"), 1).await;
    let err = S3Store::new(derivd::aws::s3_client(&cfg))
        .check(&bucket)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn stalls_past_the_operation_timeout_are_transient() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-slow").await;
    let cfg = moto::sdk_config_via(&proxy.url(), 1)
        .await
        .to_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_millis(500))
                .build(),
        )
        .build();
    let s = S3Store::new(derivd::aws::s3_client(&cfg));
    s.put(&bucket, small("slow.jpg")).await.unwrap();

    proxy.delay(Match::method("GET"), 1, Duration::from_secs(3));
    let start = Instant::now();
    let err = s.get(&bucket, "slow.jpg").await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn large_bodies_pass_through_unchanged() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-big").await;
    let s = s3_via(&proxy, 1).await;
    let body: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let body = Bytes::from(body);
    s.put(&bucket, put_req("big.jpg", body.clone()))
        .await
        .unwrap();
    let got = s.get(&bucket, "big.jpg").await.unwrap().unwrap();
    assert_eq!(got.bytes.len(), body.len());
    assert!(got.bytes == body);
    let listed = s.list(&bucket, "", None).await.unwrap();
    assert_eq!(listed.objects.len(), 1);
    assert_eq!(proxy.seen("PUT"), 1);
    assert_eq!(proxy.seen("GET"), 2);
    assert_eq!(proxy.faulted(), 0);
}

#[tokio::test]
async fn sqs_faults_are_classified_like_s3_ones() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let (url, _) = moto::new_queue("fault-sqs", None).await;
    let cfg = moto::sdk_config_via(&proxy.url(), 1).await;
    let q = SqsQueue::new(derivd::aws::sqs_client(&cfg), url);

    proxy.fail_next(Match::any().target("SendMessage"), 1, 500);
    let err = q.send("job").await.unwrap_err();
    assert!(matches!(err, QueueError::Transient(_)), "{err:?}");
    q.send("job").await.unwrap();

    proxy.fail_next_with_code(
        Match::any().target("ReceiveMessage"),
        1,
        400,
        "RequestThrottled",
    );
    let err = q
        .receive(1, Duration::ZERO, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::Transient(_)), "{err:?}");
    proxy.fail_next(Match::any().target("ReceiveMessage"), 1, 503);
    let err = q
        .receive(1, Duration::ZERO, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::Transient(_)), "{err:?}");

    proxy.fail_next(Match::any().target("GetQueueAttributes"), 1, 403);
    let err = q.check().await.unwrap_err();
    assert!(matches!(err, QueueError::Permanent(_)), "{err:?}");

    let got = q
        .receive(1, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    proxy.fail_next_with_code(
        Match::any().target("DeleteMessage"),
        1,
        400,
        "ReceiptHandleIsInvalid",
    );
    let err = q.delete(&got[0].receipt).await.unwrap_err();
    assert!(matches!(err, QueueError::InvalidReceipt), "{err:?}");
    q.delete(&got[0].receipt).await.unwrap();

    assert_eq!(
        proxy.seen_matching(&Match::any().target("ReceiveMessage")),
        3
    );
    assert_eq!(proxy.faulted(), 5);
}

#[tokio::test]
async fn rules_can_be_removed_and_requests_counted() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fault-rules").await;
    let s = s3_via(&proxy, 1).await;
    let forever = proxy.fail_next(Match::method("DELETE"), usize::MAX, 503);
    for _ in 0..3 {
        assert!(s.delete(&bucket, "x.jpg").await.unwrap_err().is_transient());
    }
    proxy.remove(forever);
    assert_eq!(proxy.remaining(forever), 0);
    s.delete(&bucket, "x.jpg").await.unwrap();
    assert_eq!(proxy.seen("DELETE"), 4);
    assert_eq!(proxy.faulted(), 3);
    assert_eq!(proxy.seen_total(), 4);
    let log = proxy.log();
    assert!(log
        .iter()
        .all(|r| r.method == "DELETE" && r.path.contains("x.jpg")));
}

#[tokio::test]
async fn query_protocol_calls_are_matched_by_action_and_denied() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let sns = derivd::aws::sns_client(&moto::sdk_config_via(&proxy.url(), 1).await);
    let rule = proxy.deny_next(Match::method("POST").action("GetTopicAttributes"), 1);
    let name = format!("deny-{}", uuid::Uuid::new_v4().simple());
    // Another SNS call on the same path passes: the rule looks at the body's Action.
    let arn = sns.create_topic().name(&name).send().await.unwrap();
    let arn = arn.topic_arn().unwrap();
    let err = sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .unwrap_err();
    let failure = derivd::aws::sdk_failure(&err);
    assert_eq!(failure.status, Some(403));
    assert_eq!(failure.code.as_deref(), Some("AuthorizationError"));
    assert!(failure.is_access_denied());
    assert_eq!(proxy.remaining(rule), 0);
    sns.get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .unwrap();
    let denied = proxy
        .log()
        .into_iter()
        .filter(|s| s.faulted)
        .collect::<Vec<_>>();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].action.as_deref(), Some("GetTopicAttributes"));
}

#[test]
fn chaos_decisions_follow_the_seed_and_the_rate() {
    use common::fault_proxy::{Chaos, FaultKind};
    let a = Chaos::new(7, 0.1);
    let picks: Vec<_> = (0..20_000).map(|n| a.pick(n)).collect();
    // The same seed gives the same sequence; another seed another one.
    assert!((0..20_000).all(|n| a.pick(n) == picks[n as usize]));
    let b = Chaos::new(8, 0.1);
    assert!((0..200).any(|n| b.pick(n) != picks[n as usize]));
    let faulted = picks.iter().flatten().count();
    assert!(
        (1_800..2_200).contains(&faulted),
        "{faulted} of 20000 at 10 %"
    );
    for kind in FaultKind::ALL {
        let n = picks.iter().flatten().filter(|(k, _)| *k == kind).count();
        assert!((250..550).contains(&n), "{kind:?}: {n}");
    }
    let (lo, hi) = a.latency;
    assert!(picks.iter().flatten().all(|(_, d)| *d >= lo && *d < hi));
    assert_eq!(Chaos::new(7, 0.0).pick(3), None);
    assert!((0..100).all(|n| Chaos::new(7, 1.0).pick(n).is_some()));
}
