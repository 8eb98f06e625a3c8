//! Random faults against moto: derivd's real SDK clients (built by `derivd::aws`, so with
//! the configured standard-mode retries) talk to moto through the fault proxy, which fails
//! a seeded fraction of S3, SQS and SNS requests with 503 SlowDown, 500, reset
//! connections (before or after moto acted) and latency.
//!
//! What must hold: the SDK's retries (backoff with jitter, `aws.max_attempts` attempts)
//! absorb the faults; with a quarter of all requests faulted every job still completes
//! with consistent outputs; and a job whose writes keep failing is never acknowledged
//! half-done: it stays in the queue until it dead-letters, and no manifest claims an
//! object that is not there.
//!
//! `DERIVD_FAULT_SEED` replays a seed (each test prints the one it used).
//! Run: `MOTO_PORT=5101 scripts/test.sh --test fault_injection`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use common::fault_proxy::chaos::by_kind;
use common::fault_proxy::{Chaos, FaultKind, FaultProxy, Match};
use common::images::corpus_file;
use common::moto;
use common::outputs::{check, S3Bucket};
use common::service::{aws_config, eventually, metric, start};
use derivd::config::AwsConfig;
use derivd::queue::sqs::SqsQueue;
use derivd::queue::Queue;
use derivd::storage::s3::S3Store;
use derivd::storage::{ObjectStore, PutCondition, PutRequest, StorageClass, StoreError};

const WAIT: Duration = Duration::from_secs(180);

fn seed(default: u64) -> u64 {
    let seed = std::env::var("DERIVD_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("fault seed {seed} (replay: DERIVD_FAULT_SEED={seed})");
    seed
}

/// derivd's own AWS set-up (`aws.*` keys) pointed at the proxy.
fn aws(proxy: &FaultProxy, max_attempts: u32) -> AwsConfig {
    AwsConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(proxy.url()),
        max_attempts,
        retry_initial_backoff_ms: 20,
    }
}

fn put(key: &str, bytes: Bytes) -> PutRequest {
    PutRequest {
        key: key.to_owned(),
        bytes,
        content_type: "application/octet-stream".into(),
        storage_class: StorageClass::ReducedRedundancy,
        cache_control: None,
        metadata: BTreeMap::new(),
        condition: PutCondition::None,
    }
}

#[tokio::test]
async fn the_configured_attempts_are_made_then_the_error_is_transient() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fi-attempts").await;
    for attempts in [1, 4] {
        let sdk = derivd::backends::sdk_config_for(&aws(&proxy, attempts)).await;
        let s3 = S3Store::new(derivd::aws::s3_client(&sdk));
        let key = format!("a{attempts}");
        // The bucket name is random and may itself contain `a4`: match `bucket/key`.
        let target = format!("{bucket}/{key}");
        let rule = proxy.fail_next(Match::method("PUT").path(&target), usize::MAX, 500);
        let err = s3.put(&bucket, put(&key, Bytes::from_static(b"x"))).await;
        assert!(matches!(err, Err(StoreError::Transient(_))), "{err:?}");
        proxy.remove(rule);
        let seen = proxy.seen_matching(&Match::method("PUT").path(&target));
        assert_eq!(
            seen, attempts as usize,
            "attempts made with max_attempts {attempts}"
        );
    }
}

#[tokio::test]
async fn sdk_retries_absorb_thirty_percent_faults_on_s3_sqs_and_sns() {
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let bucket = moto::new_bucket("fi-sdk").await;
    let (queue_url, _) = moto::new_queue("fi-sdk", None).await;
    let topic = moto::new_topic_with_queue_subscription("fi-sdk-n", true).await;
    let sdk = derivd::backends::sdk_config_for(&aws(&proxy, 6)).await;
    let s3 = S3Store::new(derivd::aws::s3_client(&sdk));
    let sqs = SqsQueue::new(derivd::aws::sqs_client(&sdk), queue_url);
    let sns = derivd::aws::sns_client(&sdk);
    proxy.set_chaos(Some(Chaos::new(seed(30), 0.3)));

    let mut calls = 0;
    for i in 0..40 {
        let key = format!("k/{i}");
        let body = Bytes::from(format!("object {i}"));
        s3.put(&bucket, put(&key, body.clone())).await.unwrap();
        let got = s3.get(&bucket, &key).await.unwrap().expect("written");
        assert_eq!(got.bytes, body);
        assert!(s3.head(&bucket, &key).await.unwrap().is_some());
        calls += 3;
    }
    for i in 0..20 {
        sqs.send(&format!("m{i}")).await.unwrap();
        let publish = sns
            .publish()
            .topic_arn(&topic.topic_arn)
            .message(format!("n{i}"));
        publish.send().await.unwrap();
        calls += 2;
    }
    // Every message arrives (a lost ReceiveMessage answer hides some for a second; a lost
    // SendMessage answer may duplicate one) and each delete succeeds.
    let mut bodies = BTreeSet::new();
    while bodies.len() < 20 {
        let got = sqs.receive(10, Duration::from_secs(1), Duration::from_secs(1));
        for m in got.await.unwrap() {
            sqs.delete(&m.receipt).await.unwrap();
            bodies.insert(m.body);
            calls += 1;
        }
        calls += 1;
    }
    let injected = by_kind(&proxy.injected());
    eprintln!(
        "calls {calls}, requests {}, injected {injected:?}",
        proxy.seen_total()
    );
    for kind in FaultKind::ALL {
        assert!(
            injected.get(kind.name()).copied().unwrap_or(0) > 0,
            "{injected:?}"
        );
    }
    // Every failed attempt was retried: more requests than calls.
    let failed: usize = injected
        .iter()
        .filter(|(k, _)| **k != "latency")
        .map(|(_, n)| n)
        .sum();
    assert!(
        proxy.seen_total() >= calls + failed,
        "{} < {calls} + {failed}",
        proxy.seen_total()
    );
}

struct Stack {
    bucket: String,
    jobs_url: String,
    dlq_url: String,
    topic: moto::TopicWithQueue,
}

async fn stack(name: &str, max_receives: u32) -> Stack {
    let bucket = moto::new_bucket(name).await;
    let (dlq_url, dlq_arn) = moto::new_queue(&format!("{name}-dlq"), None).await;
    let (jobs_url, _) = moto::new_queue(name, Some((&dlq_arn, max_receives))).await;
    let topic = moto::new_topic_with_queue_subscription(&format!("{name}-n"), true).await;
    Stack {
        bucket,
        jobs_url,
        dlq_url,
        topic,
    }
}

async fn upload(bucket: &str, key: &str, bytes: Vec<u8>) {
    let s3 = moto::s3().await;
    let op = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("image/jpeg");
    op.body(ByteStream::from(bytes)).send().await.unwrap();
}

async fn send(url: &str, body: &str) {
    let sqs = moto::sqs().await;
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

/// Visible + in flight + delayed, read past the proxy.
async fn depth(url: &str) -> u64 {
    common::moto_plain::depth(&common::moto_plain::sqs().await, url).await
}

const SOURCES: [&str; 4] = [
    "formats/ir_progressive_650x470.jpg",
    "formats/sharp_lossy_1024x772.webp",
    "formats/sharp_still_800x533.gif",
    "formats/wm_rgba_dice_800x600.png",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_complete_with_a_quarter_of_all_requests_faulted() {
    let s = stack("fi-jobs", 8).await;
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let mut expected = BTreeMap::new();
    let transforms: BTreeSet<String> = ["thumb-128", "thumb-256"].map(String::from).into();
    for i in 0..12 {
        let key = format!("chaos/{i:02}.img");
        upload(&s.bucket, &key, corpus_file(SOURCES[i % SOURCES.len()])).await;
        expected.insert(key, transforms.clone());
    }
    let mut cfg = aws_config(proxy.url(), &s.bucket, &s.jobs_url, &s.topic.topic_arn);
    cfg.aws.retry_initial_backoff_ms = 50;
    // A lost ReceiveMessage answer hides its message for the visibility timeout: keep it
    // short so the test does not wait long for those.
    cfg.queue.visibility_timeout_secs = 6;
    let svc = start(cfg, false).await;
    // Faults from the first job on: a start-up whose catalogue write fails after its
    // retries stops the service, which is not what this test is about.
    eventually(WAIT, "the catalogue published", || async {
        let s3 = moto::s3().await;
        let head = s3
            .head_object()
            .bucket(&s.bucket)
            .key("derived/_catalogue.json");
        head.send().await.ok().map(|_| ())
    })
    .await;
    proxy.set_chaos(Some(Chaos::new(seed(25), 0.25)));
    for (key, transforms) in &expected {
        let job = serde_json::json!({"source": key, "transforms": transforms});
        send(&s.jobs_url, &job.to_string()).await;
    }
    eventually(WAIT, "the job queue to drain", || async {
        (depth(&s.jobs_url).await == 0).then_some(())
    })
    .await;
    proxy.set_chaos(None);
    let retried = metric(&svc.app, "derivd_jobs_total", &["retry"]);
    let injected = by_kind(&proxy.injected());
    eprintln!(
        "injected {injected:?}; {} job attempts retried from the queue",
        retried + 0.0
    );
    svc.token.cancel();
    svc.handle.await.unwrap().unwrap();
    assert_eq!(depth(&s.dlq_url).await, 0, "nothing dead-lettered");
    let bucket = S3Bucket {
        client: moto::s3().await,
        bucket: s.bucket.clone(),
    };
    let checked = check(&bucket, "derived/", &expected).await;
    assert_eq!(checked.derived_objects, 24);
    assert!(injected.values().sum::<usize>() >= 20, "{injected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_writes_keep_failing_is_never_acknowledged_half_done() {
    let s = stack("fi-halfdone", 3).await;
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    upload(&s.bucket, "h.jpg", corpus_file(SOURCES[0])).await;
    // One of the job's two objects can never be written; the other can.
    let rule = Match::method("PUT").path("/derived/h.jpg/thumb-256");
    proxy.fail_next(rule.clone(), usize::MAX, 500);
    let mut cfg = aws_config(proxy.url(), &s.bucket, &s.jobs_url, &s.topic.topic_arn);
    cfg.aws.retry_initial_backoff_ms = 10;
    let svc = start(cfg, false).await;
    send(
        &s.jobs_url,
        r#"{"source": "h.jpg", "transforms": ["thumb-128", "thumb-256"]}"#,
    )
    .await;
    eventually(WAIT, "the message in the dead-letter queue", || async {
        (depth(&s.dlq_url).await == 1).then_some(())
    })
    .await;
    let retried = metric(&svc.app, "derivd_jobs_total", &["retry"]);
    let ok = metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]);
    svc.token.cancel();
    svc.handle.await.unwrap().unwrap();
    assert_eq!(
        (retried, ok),
        (3.0, 0.0),
        "one failed attempt per receive, none done"
    );
    assert_eq!(depth(&s.jobs_url).await, 0);
    // Three receives, each with the SDK's three attempts at the failing PUT.
    assert_eq!(proxy.seen_matching(&rule), 9);
    let s3 = moto::s3().await;
    let manifest = s3
        .head_object()
        .bucket(&s.bucket)
        .key("derived/h.jpg/_manifest.json");
    assert!(
        manifest.send().await.is_err(),
        "no manifest for a job that never finished"
    );
    let notices = moto::sqs()
        .await
        .receive_message()
        .queue_url(&s.topic.queue_url);
    let notices = notices.wait_time_seconds(1).send().await.unwrap();
    assert!(
        notices.messages().is_empty(),
        "no notice: {:?}",
        notices.messages()
    );
}
