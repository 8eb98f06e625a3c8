//! An older job must not win after a re-upload (issue 15, item 7).
//!
//! Derived PUTs are unconditional and the manifest follows whichever job merges last, so a
//! job that read version 1 of a source and is slow to write could overwrite what the job
//! for a re-uploaded version 2 made. The fault proxy holds the first job's PUTs while the
//! source is re-uploaded and its job runs to the end; afterwards the renditions, their
//! metadata and the manifest must all be version 2's. Before the fix (derive re-reads the
//! source after writing and starts over when it changed) the manifest and objects ended
//! as version 1's. Run: `MOTO_PORT=5101 scripts/test.sh --test reupload_race`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::fault_proxy::{FaultProxy, Match};
use common::images::{corpus_file, decode};
use common::moto;
use common::outputs::{check, S3Bucket};
use common::service::{aws_config, eventually, metric, start};

const WAIT: Duration = Duration::from_secs(90);
const TRANSFORMS: [&str; 2] = ["thumb-256", "preview-512"];

/// Uploads `bytes` as `key`; its ETag (bare).
async fn upload(bucket: &str, key: &str, bytes: Vec<u8>) -> String {
    let s3 = moto::s3().await;
    let op = s3.put_object().bucket(bucket).key(key);
    let out = op.body(ByteStream::from(bytes)).send().await.unwrap();
    out.e_tag().unwrap().trim_matches('"').to_owned()
}

async fn send_job(url: &str, source: &str) {
    let job = serde_json::json!({"source": source, "transforms": TRANSFORMS}).to_string();
    let sqs = moto::sqs().await;
    sqs.send_message()
        .queue_url(url)
        .message_body(job)
        .send()
        .await
        .unwrap();
}

/// The manifest's `source_etag`, if there is a manifest.
async fn manifest_etag(bucket: &str, source: &str) -> Option<String> {
    let key = format!("derived/{source}/_manifest.json");
    let out = moto::s3()
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    let bytes = out.body.collect().await.unwrap().into_bytes();
    let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    m["source_etag"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_source_wins_over_a_slow_older_job() {
    let bucket = moto::new_bucket("race").await;
    let (jobs_url, _) = moto::new_queue("race", None).await;
    let topic = moto::new_topic_with_queue_subscription("race-n", true).await;
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let source = "race/photo.img";
    let v1 = upload(
        &bucket,
        source,
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    // The first job's two derived PUTs are held for 8 s before they reach moto.
    let put_derived = Match::method("PUT").path("/derived/race/photo.img/");
    proxy.delay(
        put_derived.clone(),
        TRANSFORMS.len(),
        Duration::from_secs(8),
    );
    let cfg = aws_config(proxy.url(), &bucket, &jobs_url, &topic.topic_arn);
    let svc = start(cfg, false).await;

    send_job(&jobs_url, source).await;
    eventually(WAIT, "the first job's PUTs held by the proxy", || async {
        (proxy.seen_matching(&put_derived) == TRANSFORMS.len()).then_some(())
    })
    .await;
    let v2 = upload(
        &bucket,
        source,
        corpus_file("formats/sharp_lossy_1024x772.webp"),
    )
    .await;
    assert_ne!(v1, v2);
    send_job(&jobs_url, source).await;
    eventually(WAIT, "the second job's manifest", || async {
        (manifest_etag(&bucket, source).await.as_deref() == Some(v2.as_str())).then_some(())
    })
    .await;
    // Both jobs done (the first one's PUTs were released and it finished too).
    eventually(WAIT, "both jobs finished", || async {
        let done = metric(&svc.app, "derivd_jobs_total", &[]);
        let sqs = common::moto_plain::sqs().await;
        let depth = common::moto_plain::depth(&sqs, &jobs_url).await;
        (done >= 2.0 && depth == 0).then_some(())
    })
    .await;
    let changed = metric(&svc.app, "derivd_source_changed_total", &[]);
    svc.token.cancel();
    svc.handle.await.unwrap().unwrap();

    assert_eq!(
        manifest_etag(&bucket, source).await.as_deref(),
        Some(v2.as_str())
    );
    // Every rendition is version 2's: its metadata names v2 and it has v2's shape.
    let s3 = moto::s3().await;
    for (t, side) in [("thumb-256.jpg", 256), ("preview-512.webp", 512)] {
        let key = format!("derived/{source}/{t}");
        let obj = s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        let meta = obj.metadata().cloned().unwrap_or_default();
        assert_eq!(meta.get("derivd-source-etag"), Some(&v2), "{key}: {meta:?}");
        let img = decode(&obj.body.collect().await.unwrap().into_bytes());
        // v2 is 1024×772, so 256×193 and 512×386 (v1, 650×470, made 256×185 and 512×370).
        assert_eq!(
            (img.width(), img.height()),
            (side, side * 772 / 1024),
            "{key}"
        );
    }
    let expected = BTreeMap::from([(
        source.to_owned(),
        TRANSFORMS
            .map(String::from)
            .into_iter()
            .collect::<BTreeSet<_>>(),
    )]);
    check(&S3Bucket { client: s3, bucket }, "derived/", &expected).await;
    assert!(
        changed >= 1.0,
        "the old job saw the change and derived again"
    );
}
