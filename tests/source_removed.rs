//! `ObjectRemoved` events delete a source's derived objects only on *proof* that the source
//! is gone (issue 15 item 8): a 404 that a misrouted request gets — a proxy or wrong
//! endpoint answering HEAD and GET with 404 but without S3's `NoSuchKey`, or (embedded) a
//! bucket folder that is not there — must never delete anything. The message is retried
//! instead, and once the source answers again it is seen to exist and nothing was lost.
//! Both tests fail on the code before `ObjectStore::confirm_absent`, which trusted HEAD.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::fault_proxy::{FaultProxy, Match};
use common::images::corpus_file;
use common::service::{aws_config, embedded_config, eventually, metric, s3_event, start};
use common::{embedded_queue, moto};
use derivd::config::BucketMapping;
use derivd::storage::{PutRequest, StorageClass};

const WAIT: Duration = Duration::from_secs(60);
const SOURCE: &str = "uploads/kept.jpg";

fn put(key: &str, bytes: Vec<u8>) -> PutRequest {
    PutRequest {
        key: key.into(),
        bytes: bytes.into(),
        content_type: "image/jpeg".into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: BTreeMap::new(),
        condition: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_missing_source_bucket_folder_never_deletes_derived_objects() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.storage.default_bucket = "src".into();
    cfg.storage.buckets = vec![BucketMapping {
        source: "src".into(),
        derived_bucket: Some("der".into()),
        prefix: "derived/".into(),
    }];
    let queue = cfg.queue.jobs.clone();
    let svc = start(cfg, false).await;
    let jpeg = corpus_file("formats/ir_progressive_650x470.jpg");
    svc.app.store.put("src", put(SOURCE, jpeg)).await.unwrap();
    let job = serde_json::json!({"source": SOURCE, "transforms": ["thumb-256"]});
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    let derived = format!("derived/{SOURCE}/thumb-256.jpg");
    eventually(WAIT, "derived object", || async {
        svc.app.store.head("der", &derived).await.unwrap()
    })
    .await;

    // The source bucket's folder vanishes (an unmounted volume, a wrong data dir): a HEAD
    // of the source says "absent", but that is no proof it was deleted.
    let buckets = dir.path().join("buckets");
    std::fs::rename(buckets.join("src"), buckets.join("src.away")).unwrap();
    svc.app
        .jobs
        .send(&s3_event("ObjectRemoved:Delete", "src", SOURCE))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await; // several attempts (1 s backoff)
    assert!(
        svc.app.store.head("der", &derived).await.unwrap().is_some(),
        "an unconfirmed absence deleted the derived object"
    );
    assert_eq!(
        embedded_queue::depth(dir.path(), &queue),
        1,
        "kept for a retry"
    );

    std::fs::rename(buckets.join("src.away"), buckets.join("src")).unwrap();
    eventually(WAIT, "source seen again", || async {
        let n = metric(
            &svc.app,
            "derivd_messages_ignored_total",
            &["source_exists_again"],
        );
        (n == 1.0).then_some(())
    })
    .await;
    assert!(svc.app.store.head("der", &derived).await.unwrap().is_some());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_misrouted_404_never_deletes_derived_objects() {
    let bucket = moto::new_bucket("removed-404").await;
    let (dlq, dlq_arn) = moto::new_queue("removed-404-dlq", None).await;
    let (jobs, _) = moto::new_queue("removed-404", Some((&dlq_arn, 50))).await;
    let notices = moto::new_topic_with_queue_subscription("removed-404-n", true).await;
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let cfg = aws_config(proxy.url(), &bucket, &jobs, &notices.topic_arn);
    let svc = start(cfg, false).await;
    let s3 = moto::s3().await;
    let body = ByteStream::from(corpus_file("formats/ir_progressive_650x470.jpg"));
    let put = s3.put_object().bucket(&bucket).key(SOURCE).body(body);
    put.send().await.unwrap();
    let job = serde_json::json!({"source": SOURCE, "transforms": ["thumb-256"]});
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    let derived = format!("derived/{SOURCE}/thumb-256.jpg");
    eventually(WAIT, "derived object", || async {
        svc.app.store.head(&bucket, &derived).await.unwrap()
    })
    .await;

    // Something between derivd and S3 answers the source's HEAD and GET with 404s that are
    // not S3's NoSuchKey (a proxy's own 404, a wrong endpoint).
    let source_path = format!("/{bucket}/{SOURCE}");
    let head = Match::method("HEAD").path(&source_path);
    let get = Match::method("GET").path(&source_path);
    let rules = [
        proxy.fail_next_with_code(head.clone(), usize::MAX, 404, "NotFound"),
        proxy.fail_next_with_code(get.clone(), usize::MAX, 404, "NotFound"),
    ];
    svc.app
        .jobs
        .send(&s3_event("ObjectRemoved:Delete", &bucket, SOURCE))
        .await
        .unwrap();
    eventually(WAIT, "the removal tried twice", || async {
        let tried = proxy.seen_matching(&head) + proxy.seen_matching(&get);
        (tried >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kept = s3.head_object().bucket(&bucket).key(&derived).send().await;
    assert!(kept.is_ok(), "a misrouted 404 deleted the derived object");

    for r in rules {
        proxy.remove(r);
    }
    eventually(WAIT, "source seen again", || async {
        let n = metric(
            &svc.app,
            "derivd_messages_ignored_total",
            &["source_exists_again"],
        );
        (n == 1.0).then_some(())
    })
    .await;
    let kept = s3.head_object().bucket(&bucket).key(&derived).send().await;
    assert!(kept.is_ok());
    let _ = dlq;
    svc.stop().await;
}
