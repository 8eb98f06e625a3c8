//! The whole service on the embedded backend (local directory + SQLite queue): jobs,
//! fates of bad messages, idempotence, clean-up on removal, the HTTP API. Repair and
//! recovery: `service_embedded_recovery.rs`.

mod common;

use std::time::Duration;

use common::embedded::{notices, queue_len};
use common::images::{corpus_file, decode};
use common::service::{embedded_config, eventually, metric, s3_event, start};
use derivd::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use derivd::queue::Queue;
use derivd::storage::ObjectStore;

const BUCKET: &str = "derivd";
const WAIT: Duration = Duration::from_secs(60);

async fn upload(store: &dyn ObjectStore, key: &str, bytes: Vec<u8>) {
    common::embedded::upload(store, BUCKET, key, bytes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_writes_every_object_manifest_and_notice_then_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), false).await;
    let source = "uploads/cat photo+ü %.jpg";
    upload(
        svc.app.store.as_ref(),
        source,
        corpus_file("photos/es_jolla_3264x2448.jpg"),
    )
    .await;
    let job = serde_json::json!({"source": source, "transforms": ["thumb-256", "preview-512"], "id": "c-1"});
    svc.app.jobs.send(&job.to_string()).await.unwrap();

    let n = eventually(WAIT, "notice", || async { notices(dir.path()).pop() }).await;
    assert_eq!(n["status"], "ok", "{n}");
    assert_eq!(n["id"], "c-1");
    assert_eq!(n["derived"].as_array().unwrap().len(), 2);

    for (t, ext, mime) in [
        ("thumb-256", "jpg", "image/jpeg"),
        ("preview-512", "webp", "image/webp"),
    ] {
        let key = format!("derived/{source}/{t}.{ext}");
        let obj = svc.app.store.get(BUCKET, &key).await.unwrap().expect(&key);
        assert_eq!(obj.meta.content_type.as_deref(), Some(mime));
        assert_eq!(
            obj.meta.storage_class.as_deref(),
            Some("REDUCED_REDUNDANCY")
        );
        assert_eq!(obj.meta.metadata["derivd-transform"], t);
        assert_eq!(
            obj.meta.metadata["derivd-digest"],
            svc.app.catalogue.get(t).unwrap().digest
        );
        decode(&obj.bytes);
    }
    let manifest = svc
        .app
        .store
        .get(BUCKET, &format!("derived/{source}/_manifest.json"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.meta.storage_class.as_deref(), Some("STANDARD"));
    let m: derivd::manifest::Manifest = serde_json::from_slice(&manifest.bytes).unwrap();
    assert_eq!(m.derived.len(), 2);
    assert_eq!(m.source_key, source);

    eventually(WAIT, "message deleted", || async {
        (queue_len(dir.path(), "derivd-jobs").await == (0, 0)).then_some(())
    })
    .await;
    assert_eq!(
        metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]),
        1.0
    );

    // The same job again is up to date; a later job with other transforms merges the manifest.
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    eventually(WAIT, "up-to-date job", || async {
        (metric(&svc.app, "derivd_jobs_total", &["up_to_date"]) == 1.0).then_some(())
    })
    .await;
    let more = serde_json::json!({"source": source, "transforms": ["thumb-128"]});
    svc.app.jobs.send(&more.to_string()).await.unwrap();
    eventually(WAIT, "manifest merged", || async {
        let (m, _) = derivd::manifest::read(
            svc.app.store.as_ref(),
            BUCKET,
            &derivd::keys::KeyLayout::default(),
            source,
        )
        .await
        .unwrap()?;
        (m.derived.len() == 3).then_some(())
    })
    .await;
    // The catalogue is published at start-up.
    let cat = svc
        .app
        .store
        .get(BUCKET, "derived/_catalogue.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cat.meta.storage_class.as_deref(), Some("STANDARD"));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_dropped_with_a_reason_not_retried_forever() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.limits.max_input_bytes = 200_000; // ok.jpg is 91 kB, big.jpg 812 kB
    let svc = start(cfg, false).await;
    upload(
        svc.app.store.as_ref(),
        "big.jpg",
        corpus_file("photos/es_jolla_3264x2448.jpg"),
    )
    .await;
    upload(
        svc.app.store.as_ref(),
        "ok.jpg",
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    upload(
        svc.app.store.as_ref(),
        "broken.jpg",
        corpus_file("malformed/sharp_truncated.png"),
    )
    .await;
    for body in [
        "this is not json".to_string(),
        r#"{"source": "ok.jpg", "transfroms": ["thumb-256"]}"#.to_string(),
        r#"{"source": "ok.jpg", "transforms": ["no-such-transform"]}"#.to_string(),
        r#"{"source": "missing.jpg"}"#.to_string(),
        r#"{"source": "broken.jpg"}"#.to_string(),
        r#"{"source": "ok.jpg", "bucket": "not-allowed"}"#.to_string(),
        r#"{"source": "big.jpg"}"#.to_string(),
        r#"{"source": 5}"#.to_string(),
    ] {
        svc.app.jobs.send(&body).await.unwrap();
    }
    eventually(WAIT, "all messages removed", || async {
        (queue_len(dir.path(), "derivd-jobs").await == (0, 0)).then_some(())
    })
    .await;
    assert_eq!(queue_len(dir.path(), "derivd-jobs-dlq").await, (0, 0));
    assert_eq!(metric(&svc.app, "derivd_jobs_total", &["dropped"]), 8.0);
    for reason in [
        "not_json",
        "unknown_transform",
        "source_missing",
        "bucket_not_allowed",
        "limit_exceeded",
    ] {
        assert!(
            metric(&svc.app, "derivd_job_failures_total", &[reason]) >= 1.0,
            "{reason}: {}",
            svc.app.metrics.render()
        );
    }
    let failed: Vec<_> = notices(dir.path())
        .into_iter()
        .filter(|n| n["status"] == "failed")
        .collect();
    assert_eq!(
        failed.len(),
        8,
        "one failure notice per bad message: {failed:?}"
    );
    // The three that do not parse: a notice quoting the body, and a copy with the reason
    // in the rejects queue (not the DLQ, which keeps only exhausted retries).
    let unparsed: Vec<_> = failed
        .iter()
        .filter(|n| n["message_id"].is_string())
        .collect();
    assert_eq!(unparsed.len(), 3, "{unparsed:?}");
    assert!(unparsed.iter().any(|n| n["body"] == r#"{"source": 5}"#));
    assert!(unparsed.iter().all(|n| n.get("source").is_none()));
    let rejects = EmbeddedQueue::open(
        &dir.path().join("queue.sqlite3"),
        "derivd-jobs-rejects",
        EmbeddedQueueSettings::default(),
    )
    .unwrap();
    let kept = rejects
        .receive(10, Duration::from_millis(10), Duration::from_secs(30))
        .await
        .unwrap();
    let kept: Vec<serde_json::Value> = kept
        .iter()
        .map(|m| serde_json::from_str(&m.body).unwrap())
        .collect();
    let mut reasons: Vec<_> = kept.iter().map(|v| v["reason"].as_str().unwrap()).collect();
    reasons.sort();
    assert_eq!(reasons, ["invalid", "invalid", "not_json"], "{kept:?}");
    let five = kept
        .iter()
        .find(|v| v["body"] == r#"{"source": 5}"#)
        .unwrap();
    assert!(five["error"].as_str().is_some_and(|e| e.contains("source")));
    assert!(five["message_id"].is_string());
    assert!(failed
        .iter()
        .all(|n| n["error"].as_str().is_some_and(|e| !e.is_empty())));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_events_create_and_clean_up_and_never_loop() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), false).await;
    let src = "in/a b+c.png";
    upload(
        svc.app.store.as_ref(),
        src,
        corpus_file("formats/wm_rgba_dice_800x600.png"),
    )
    .await;
    svc.app
        .jobs
        .send(&s3_event("ObjectCreated:Put", BUCKET, src))
        .await
        .unwrap();
    // An event for one of our own outputs must not become a job.
    svc.app
        .jobs
        .send(&s3_event(
            "ObjectCreated:Put",
            BUCKET,
            &format!("derived/{src}/thumb-256.jpg"),
        ))
        .await
        .unwrap();
    // Every transform that takes a PNG (the video and PDF ones do not).
    let all = svc
        .app
        .catalogue
        .applicable(derivd::media::MediaType::Png)
        .len();
    let folder = format!("derived/{src}/");
    eventually(WAIT, "every transform", || async {
        let page = svc.app.store.list(BUCKET, &folder, None).await.unwrap();
        (page.objects.len() == all + 1).then_some(())
    })
    .await;
    eventually(WAIT, "derived-prefix event ignored", || async {
        (metric(
            &svc.app,
            "derivd_messages_ignored_total",
            &["derived_prefix"],
        ) == 1.0)
            .then_some(())
    })
    .await;
    // Removal while the source still exists changes nothing; after deletion it cleans up.
    svc.app
        .jobs
        .send(&s3_event("ObjectRemoved:Delete", BUCKET, src))
        .await
        .unwrap();
    eventually(WAIT, "source-exists check", || async {
        (metric(
            &svc.app,
            "derivd_messages_ignored_total",
            &["source_exists_again"],
        ) == 1.0)
            .then_some(())
    })
    .await;
    svc.app.store.delete(BUCKET, src).await.unwrap();
    svc.app
        .jobs
        .send(&s3_event("ObjectRemoved:Delete", BUCKET, src))
        .await
        .unwrap();
    eventually(WAIT, "derived objects deleted", || async {
        let page = svc.app.store.list(BUCKET, &folder, None).await.unwrap();
        page.objects.is_empty().then_some(())
    })
    .await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_validates_enqueues_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.http.auth_token = Some("s3cret-token-0123456789".into());
    cfg.http.max_body_bytes = 1024;
    let svc = start(cfg, true).await;
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(svc.url("/healthz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        c.get(svc.url("/readyz")).send().await.unwrap().status(),
        200
    );
    let cat: serde_json::Value = c
        .get(svc.url("/v1/catalogue"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(cat["transforms"]["thumb-256"]["key_template"].is_string());
    let gif = c
        .get(svc.url("/v1/catalogue/image/gif"))
        .send()
        .await
        .unwrap();
    assert_eq!(gif.status(), 200);
    let bmp = c
        .get(svc.url("/v1/catalogue/image/bmp"))
        .send()
        .await
        .unwrap();
    assert_eq!(bmp.status(), 404);

    let post = |body: &str, token: Option<&str>| {
        let mut r = c
            .post(svc.url("/v1/jobs"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let ok = r#"{"source": "a.jpg", "transforms": ["thumb-256"]}"#;
    assert_eq!(post(ok, None).await.unwrap().status(), 401);
    assert_eq!(
        post(ok, Some("wrong-token-0123456789x"))
            .await
            .unwrap()
            .status(),
        401
    );
    let t = Some("s3cret-token-0123456789");
    let r = post(r#"{"source": "a.jpg", "transforms": ["nope"]}"#, t)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("nope"));
    assert_eq!(post("{", t).await.unwrap().status(), 400);
    assert_eq!(
        post(r#"{"source": "derived/x.jpg/thumb-256.jpg"}"#, t)
            .await
            .unwrap()
            .status(),
        400
    );
    let big = format!(r#"{{"source": "{}"}}"#, "a".repeat(2000));
    assert_eq!(post(&big, t).await.unwrap().status(), 413);
    let r = post(ok, t).await.unwrap();
    assert_eq!(r.status(), 202);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["message_id"].is_string());
    // The accepted job runs (and is dropped: a.jpg does not exist).
    eventually(WAIT, "accepted job processed", || async {
        (metric(&svc.app, "derivd_job_failures_total", &["source_missing"]) == 1.0).then_some(())
    })
    .await;
    let text = c
        .get(svc.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("derivd_jobs_total{outcome=\"dropped\"} 1"),
        "{text}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_manifest_merges_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = derivd::storage::local::LocalStore::new(dir.path()).unwrap();
    common::service::concurrent_manifest_merges_lose_nothing(store, BUCKET, 12).await;
}

/// A job worker (`serve.roles = ["jobs"]`) still answers probes and scrapes on
/// `http.listen`, but serves no API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_only_process_serves_probes_and_metrics_but_no_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.serve.roles = Some(vec![derivd::config::Role::Jobs]);
    let svc = start(cfg, true).await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = reqwest::get(svc.url(path)).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    for path in ["/v1/catalogue", "/v1/derived/thumb-256/a.jpg"] {
        let r = reqwest::get(svc.url(path)).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    svc.stop().await;
}
