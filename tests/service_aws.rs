//! The whole service against moto (real S3, SQS and SNS APIs on loopback), driven the way
//! a client would: aws-sdk-s3 uploads the source, aws-sdk-sqs sends the job.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use common::fault_proxy::{FaultProxy, Match};
use common::images::corpus_file;
use common::moto;
use common::service::{aws_config, eventually, metric, start, Running};
use derivd::config::Config;

const WAIT: Duration = Duration::from_secs(90);

struct Stack {
    bucket: String,
    jobs_url: String,
    dlq_url: String,
    rejects_url: String,
    notices: moto::TopicWithQueue,
}

async fn stack(name: &str) -> Stack {
    let bucket = moto::new_bucket(name).await;
    let (dlq_url, dlq_arn) = moto::new_queue(&format!("{name}-dlq"), None).await;
    let (jobs_url, _) = moto::new_queue(name, Some((&dlq_arn, 3))).await;
    let (rejects_url, _) = moto::new_queue(&format!("{name}-rejects"), None).await;
    let notices = moto::new_topic_with_queue_subscription(&format!("{name}-n"), true).await;
    Stack {
        bucket,
        jobs_url,
        dlq_url,
        rejects_url,
        notices,
    }
}

fn config(s: &Stack, endpoint: Option<String>) -> Config {
    let endpoint = endpoint.unwrap_or_else(moto::endpoint);
    let mut cfg = aws_config(endpoint, &s.bucket, &s.jobs_url, &s.notices.topic_arn);
    cfg.queue.rejects = Some(s.rejects_url.clone());
    cfg
}

async fn upload(bucket: &str, key: &str, bytes: Vec<u8>) {
    moto::s3()
        .await
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes))
        .content_type("image/jpeg")
        .send()
        .await
        .unwrap();
}

async fn send(url: &str, body: &str) {
    moto::sqs()
        .await
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

async fn queue_depth(url: &str) -> u64 {
    let out = moto::sqs()
        .await
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| attrs.get(a).map_or(0, |v| v.parse::<u64>().unwrap()))
    .sum()
}

/// Receives notices (raw SNS delivery) until `pred` matches one.
async fn notice_where(url: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let sqs = moto::sqs().await;
    eventually(WAIT, "notice", || async {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .filter_map(|m| serde_json::from_str::<serde_json::Value>(m.body()?).ok())
            .find(|v| pred(v))
    })
    .await
}

async fn stop(svc: Running) {
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_from_sqs_writes_rrs_objects_manifest_notice_and_deletes_the_message() {
    let s = stack("svc-job").await;
    let svc = start(config(&s, None), false).await;
    let source = "uploads/cat photo+ü.jpg";
    upload(
        &s.bucket,
        source,
        corpus_file("photos/es_jolla_3264x2448.jpg"),
    )
    .await;
    send(
        &s.jobs_url,
        &serde_json::json!({"source": source, "transforms": ["thumb-256", "web-1024", "preview-512"], "id": "req-7"}).to_string(),
    )
    .await;

    let n = notice_where(&s.notices.queue_url, |v| v["id"] == "req-7").await;
    assert_eq!(n["status"], "ok", "{n}");
    assert_eq!(n["derived"].as_array().unwrap().len(), 3);

    let s3 = moto::s3().await;
    for (t, ext, mime) in [
        ("thumb-256", "jpg", "image/jpeg"),
        ("web-1024", "jpg", "image/jpeg"),
        ("preview-512", "webp", "image/webp"),
    ] {
        let key = format!("derived/{source}/{t}.{ext}");
        let head = s3
            .head_object()
            .bucket(&s.bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.storage_class().map(|c| c.as_str()),
            Some("REDUCED_REDUNDANCY"),
            "{key}"
        );
        assert_eq!(head.content_type(), Some(mime));
        assert_eq!(
            head.cache_control(),
            Some("public, max-age=31536000, immutable")
        );
        let meta = head.metadata().unwrap();
        assert_eq!(meta["derivd-transform"], t);
        assert_eq!(
            meta["derivd-digest"],
            svc.app.catalogue.get(t).unwrap().digest
        );
        assert!(!meta["derivd-source-etag"].is_empty());
    }
    let manifest = s3
        .get_object()
        .bucket(&s.bucket)
        .key(format!("derived/{source}/_manifest.json"))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        manifest.storage_class().map(|c| c.as_str()),
        None | Some("STANDARD")
    ));
    let body = manifest.body.collect().await.unwrap().into_bytes();
    let m: derivd::manifest::Manifest = serde_json::from_slice(&body).unwrap();
    assert_eq!(m.derived.len(), 3);
    eventually(WAIT, "job message deleted", || async {
        (queue_depth(&s.jobs_url).await == 0).then_some(())
    })
    .await;
    assert_eq!(queue_depth(&s.dlq_url).await, 0);
    stop(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_notifications_make_jobs_and_clean_up_on_removal() {
    let s = stack("svc-events").await;
    let (_, jobs_arn) = (s.jobs_url.clone(), moto::queue_arn(&s.jobs_url).await);
    let s3 = moto::s3().await;
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    };
    // The documented filter: only keys under the uploads prefix, never derived/.
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value("uploads/")
                        .build(),
                )
                .build(),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(&s.bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(jobs_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .events(Event::from("s3:ObjectRemoved:*"))
                        .filter(filter)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let svc = start(config(&s, None), false).await;
    let source = "uploads/event photo.png";
    upload(
        &s.bucket,
        source,
        corpus_file("formats/wm_rgba_dice_800x600.png"),
    )
    .await;
    // Every transform that takes the image (the video and PDF ones do not).
    let all = svc
        .app
        .catalogue
        .applicable(derivd::media::MediaType::Png)
        .len();
    let folder = format!("derived/{source}/");
    eventually(WAIT, "every transform from the event", || async {
        let out = s3
            .list_objects_v2()
            .bucket(&s.bucket)
            .prefix(&folder)
            .send()
            .await
            .unwrap();
        (out.contents().len() == all + 1).then_some(())
    })
    .await;
    // moto sends an s3:TestEvent when the notification is configured: skipped, counted.
    assert_eq!(
        metric(
            &svc.app,
            "derivd_messages_ignored_total",
            &["s3_test_event"]
        ),
        1.0
    );

    s3.delete_object()
        .bucket(&s.bucket)
        .key(source)
        .send()
        .await
        .unwrap();
    eventually(WAIT, "derived objects removed", || async {
        let out = s3
            .list_objects_v2()
            .bucket(&s.bucket)
            .prefix(&folder)
            .send()
            .await
            .unwrap();
        out.contents().is_empty().then_some(())
    })
    .await;
    stop(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_transform_messages_are_removed_not_dead_lettered() {
    let s = stack("svc-bad").await;
    let svc = start(config(&s, None), false).await;
    upload(
        &s.bucket,
        "x.jpg",
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    send(&s.jobs_url, "{not json").await;
    send(&s.jobs_url, r#"{"source": 5}"#).await;
    send(
        &s.jobs_url,
        r#"{"source": "x.jpg", "transforms": ["no-such"]}"#,
    )
    .await;
    eventually(WAIT, "all failed", || async {
        (metric(&svc.app, "derivd_jobs_total", &["dropped"]) == 3.0).then_some(())
    })
    .await;
    eventually(WAIT, "queue empty", || async {
        (queue_depth(&s.jobs_url).await == 0).then_some(())
    })
    .await;
    assert_eq!(queue_depth(&s.dlq_url).await, 0);
    // Every notice: one receive hides what it does not keep, so collect them all.
    let mut notices: Vec<serde_json::Value> = Vec::new();
    let sqs = moto::sqs().await;
    let started = std::time::Instant::now();
    while notices.len() < 3 {
        assert!(started.elapsed() < WAIT, "notices so far: {notices:?}");
        let out = sqs
            .receive_message()
            .queue_url(&s.notices.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let bodies = out.messages().iter().filter_map(|m| m.body());
        notices.extend(bodies.map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()));
    }
    let error = |v: &serde_json::Value| v["error"].as_str().unwrap_or("").to_string();
    assert!(
        notices.iter().any(|v| error(v).contains("no-such")),
        "{notices:?}"
    );
    let n = notices.iter().find(|v| v["body"] == r#"{"source": 5}"#);
    let n = n.expect("a notice for the unparseable message");
    assert_eq!(n["status"], "failed");
    assert!(
        n["message_id"].is_string() && n.get("source").is_none(),
        "{n}"
    );
    // The unparseable ones: kept with their reason in the rejects queue, and a notice each.
    let kept = moto::sqs()
        .await
        .receive_message()
        .queue_url(&s.rejects_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let kept: Vec<serde_json::Value> = kept
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let reason_of = |body: &str| {
        kept.iter()
            .find(|v| v["body"] == body)
            .map(|v| v["reason"].clone())
    };
    assert_eq!(
        reason_of(r#"{"source": 5}"#).unwrap(),
        "invalid",
        "{kept:?}"
    );
    assert_eq!(reason_of("{not json").unwrap(), "not_json", "{kept:?}");
    stop(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_put_leaves_the_message_for_retry() {
    let s = stack("svc-retry").await;
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    upload(
        &s.bucket,
        "r.jpg",
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    // Every PUT of a derived object fails until the rule is spent: more failures than the
    // SDK's three attempts, so the first job attempt fails as a whole.
    let rule = proxy.fail_next(Match::method("PUT").path("/derived/r.jpg/"), 3, 503);
    let svc = start(config(&s, Some(proxy.url())), false).await;
    send(
        &s.jobs_url,
        r#"{"source": "r.jpg", "transforms": ["thumb-256"]}"#,
    )
    .await;
    eventually(WAIT, "a retry", || async {
        (metric(&svc.app, "derivd_jobs_total", &["retry"]) >= 1.0).then_some(())
    })
    .await;
    assert_eq!(proxy.remaining(rule), 0);
    eventually(WAIT, "success on a later receive", || async {
        (metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]) == 1.0).then_some(())
    })
    .await;
    let head = moto::s3()
        .await
        .head_object()
        .bucket(&s.bucket)
        .key("derived/r.jpg/thumb-256.jpg")
        .send()
        .await;
    assert!(head.is_ok());
    eventually(WAIT, "message deleted", || async {
        (queue_depth(&s.jobs_url).await == 0).then_some(())
    })
    .await;
    stop(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_on_read_redirects_to_a_presigned_url() {
    let s = stack("svc-read").await;
    let svc = start(config(&s, None), true).await;
    upload(
        &s.bucket,
        "p.jpg",
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .get(svc.url("/v1/derived/web-1024/p.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("X-Amz-Signature"), "{location}");
    let bytes = reqwest::get(&location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let img = common::images::decode(&bytes);
    assert_eq!((img.width(), img.height()), (650, 470));
    stop(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_keeps_a_slow_job_from_running_twice() {
    let s = stack("svc-heartbeat").await;
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    upload(
        &s.bucket,
        "slow.jpg",
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    // The derived PUT stalls for 6 s, three times the visibility timeout.
    proxy.delay(
        Match::method("PUT").path("/derived/slow.jpg/"),
        1,
        Duration::from_secs(6),
    );
    let mut cfg = config(&s, Some(proxy.url()));
    cfg.queue.visibility_timeout_secs = 2;
    let svc = start(cfg, false).await;
    send(
        &s.jobs_url,
        r#"{"source": "slow.jpg", "transforms": ["thumb-256"]}"#,
    )
    .await;
    eventually(WAIT, "job done", || async {
        (metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]) == 1.0).then_some(())
    })
    .await;
    eventually(WAIT, "message deleted", || async {
        (queue_depth(&s.jobs_url).await == 0).then_some(())
    })
    .await;
    // Without the heartbeat the message would have reappeared after 2 s and a second
    // worker slot would have run the job again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = metric(
        &svc.app,
        "derivd_stage_duration_seconds_count",
        &["stage=\"fetch\""],
    );
    assert_eq!(started, 1.0, "{}", svc.app.metrics.render());
    assert_eq!(metric(&svc.app, "derivd_jobs_total", &[]), 1.0);
    stop(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_manifest_merges_on_s3_lose_nothing() {
    let s = stack("svc-manifest").await;
    let store = derivd::storage::s3::S3Store::new(moto::s3().await);
    common::service::concurrent_manifest_merges_lose_nothing(store, &s.bucket, 8).await;
}
