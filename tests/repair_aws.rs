//! Self-repair against moto: a `ReducedRedundancyLostObject` event published to the loss
//! topic reaches the repair queue (SNS envelope or raw delivery) and the object comes back.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::images::{corpus_file, decode, ssim};
use common::moto;
use common::service::{aws_config, eventually, metric, s3_event, start};
use derivd::config::Config;

const WAIT: Duration = Duration::from_secs(90);

struct Stack {
    bucket: String,
    jobs_url: String,
    loss: moto::TopicWithQueue,
    notices: moto::TopicWithQueue,
}

async fn stack(name: &str, raw: bool) -> Stack {
    Stack {
        bucket: moto::new_bucket(name).await,
        jobs_url: moto::new_queue(name, None).await.0,
        loss: moto::new_topic_with_queue_subscription(&format!("{name}-loss"), raw).await,
        notices: moto::new_topic_with_queue_subscription(&format!("{name}-n"), true).await,
    }
}

fn config(s: &Stack) -> Config {
    let mut cfg = aws_config(
        moto::endpoint(),
        &s.bucket,
        &s.jobs_url,
        &s.notices.topic_arn,
    );
    cfg.queue.repair = Some(s.loss.queue_url.clone());
    cfg
}

async fn publish(topic: &str, message: &str) {
    moto::sns()
        .await
        .publish()
        .topic_arn(topic)
        .subject("Amazon S3 Notification")
        .message(message)
        .send()
        .await
        .unwrap();
}

async fn get(
    bucket: &str,
    key: &str,
) -> Option<(
    Vec<u8>,
    aws_sdk_s3::operation::head_object::HeadObjectOutput,
)> {
    let s3 = moto::s3().await;
    let head = s3.head_object().bucket(bucket).key(key).send().await.ok()?;
    let body = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some((body.body.collect().await.ok()?.into_bytes().to_vec(), head))
}

async fn repair_scenario(raw: bool) {
    let s = stack(if raw { "rep-raw" } else { "rep-env" }, raw).await;
    let svc = start(config(&s), false).await;
    let source = "albums/été 2026/cat + dog 100%.jpg";
    moto::s3()
        .await
        .put_object()
        .bucket(&s.bucket)
        .key(source)
        .body(ByteStream::from(corpus_file("orientation/Portrait_6.jpg")))
        .send()
        .await
        .unwrap();
    // First made inside a multi-transform job...
    moto::sqs()
        .await
        .send_message()
        .queue_url(&s.jobs_url)
        .message_body(
            serde_json::json!({"source": source, "transforms": ["thumb-128", "web-1024", "preview-512"]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let key = format!("derived/{source}/web-1024.jpg");
    let (orig_bytes, orig_head) =
        eventually(WAIT, "first write", || async { get(&s.bucket, &key).await }).await;

    // ...then lost, reported by S3 through SNS, and regenerated alone.
    moto::s3()
        .await
        .delete_object()
        .bucket(&s.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    publish(
        &s.loss.topic_arn,
        &s3_event("ReducedRedundancyLostObject", &s.bucket, &key),
    )
    .await;
    let (bytes, head) =
        eventually(WAIT, "object back", || async { get(&s.bucket, &key).await }).await;
    assert_eq!(head.storage_class(), orig_head.storage_class());
    assert_eq!(
        head.storage_class().map(|c| c.as_str()),
        Some("REDUCED_REDUNDANCY")
    );
    assert_eq!(head.content_type(), orig_head.content_type());
    assert_eq!(head.cache_control(), orig_head.cache_control());
    assert_eq!(head.metadata(), orig_head.metadata());
    let (a, b) = (decode(&orig_bytes), decode(&bytes));
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let score = ssim(&a, &b);
    assert!(score >= 0.99, "SSIM {score}");

    // Test event and duplicates are harmless.
    publish(&s.loss.topic_arn, r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-27T09:00:00.000Z","Bucket":"b","RequestId":"r","HostId":"h"}"#).await;
    publish(
        &s.loss.topic_arn,
        &s3_event("ReducedRedundancyLostObject", &s.bucket, &key),
    )
    .await;
    eventually(WAIT, "test event and duplicate", || async {
        let test = metric(
            &svc.app,
            "derivd_messages_ignored_total",
            &["s3_test_event"],
        );
        let dup = metric(&svc.app, "derivd_repairs_total", &["already_present"]);
        (test == 1.0 && dup == 1.0).then_some(())
    })
    .await;

    // Orphan: the source is gone.
    moto::s3()
        .await
        .delete_object()
        .bucket(&s.bucket)
        .key(source)
        .send()
        .await
        .unwrap();
    let thumb = format!("derived/{source}/thumb-128.jpg");
    publish(
        &s.loss.topic_arn,
        &s3_event("ReducedRedundancyLostObject", &s.bucket, &thumb),
    )
    .await;
    eventually(WAIT, "orphan", || async {
        (metric(&svc.app, "derivd_repairs_total", &["orphan"]) == 1.0).then_some(())
    })
    .await;
    assert_eq!(
        metric(&svc.app, "derivd_repairs_total", &["\"repaired\""]),
        1.0
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_object_comes_back_via_sns_envelope() {
    repair_scenario(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_object_comes_back_via_raw_delivery() {
    repair_scenario(true).await;
}
