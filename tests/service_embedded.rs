//! The whole service on the embedded backend (local directory + SQLite queue): jobs,
//! fates of bad messages, idempotence, clean-up on removal, self-repair, HTTP API.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::images::{corpus_file, decode, ssim};
use common::service::{embedded_config, eventually, metric, s3_event, start};
use derivd::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use derivd::queue::Queue;
use derivd::storage::{ObjectStore, PutRequest, StorageClass};

const BUCKET: &str = "derivd";
const WAIT: Duration = Duration::from_secs(60);

async fn upload(store: &dyn ObjectStore, key: &str, bytes: Vec<u8>) {
    store
        .put(
            BUCKET,
            PutRequest {
                key: key.into(),
                bytes: bytes.into(),
                content_type: "image/jpeg".into(),
                storage_class: StorageClass::Standard,
                cache_control: None,
                metadata: BTreeMap::new(),
                condition: Default::default(),
            },
        )
        .await
        .unwrap();
}

async fn queue_len(dir: &std::path::Path, name: &str) -> (usize, usize) {
    EmbeddedQueue::open(
        &dir.join("queue.sqlite3"),
        name,
        EmbeddedQueueSettings::default(),
    )
    .unwrap()
    .len()
    .await
    .unwrap()
}

fn notices(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("notices.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
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
async fn lost_objects_come_back_identical_from_a_single_transform_regeneration() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.queue.repair = Some("derivd-repair".into());
    let svc = start(cfg, false).await;
    let src = "photos/ünï code+plus %20.jpg";
    upload(
        svc.app.store.as_ref(),
        src,
        corpus_file("orientation/es_canon_orient6_2048x1536.jpg"),
    )
    .await;
    let job =
        serde_json::json!({"source": src, "transforms": ["thumb-128", "web-1024", "preview-512"]});
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    let key = format!("derived/{src}/web-1024.jpg");
    let original = eventually(WAIT, "first write", || async {
        svc.app.store.get(BUCKET, &key).await.unwrap()
    })
    .await;

    // Lose it, as S3 would report.
    svc.app.store.delete(BUCKET, &key).await.unwrap();
    let repair = svc.app.repair.clone().unwrap();
    repair
        .send(&derivd::repair::lost_object_event(BUCKET, &key))
        .await
        .unwrap();
    let back = eventually(WAIT, "object back", || async {
        svc.app.store.get(BUCKET, &key).await.unwrap()
    })
    .await;
    assert_eq!(back.meta.content_type, original.meta.content_type);
    assert_eq!(back.meta.storage_class, original.meta.storage_class);
    assert_eq!(back.meta.cache_control, original.meta.cache_control);
    assert_eq!(back.meta.metadata, original.meta.metadata);
    let (a, b) = (decode(&original.bytes), decode(&back.bytes));
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let s = ssim(&a, &b);
    assert!(s >= 0.99, "SSIM {s}");

    // A duplicate event is harmless; a loss whose source is gone is an orphan.
    repair
        .send(&derivd::repair::lost_object_event(BUCKET, &key))
        .await
        .unwrap();
    eventually(WAIT, "duplicate skipped", || async {
        (metric(&svc.app, "derivd_repairs_total", &["already_present"]) >= 1.0).then_some(())
    })
    .await;
    svc.app.store.delete(BUCKET, src).await.unwrap();
    let thumb = format!("derived/{src}/thumb-128.jpg");
    repair
        .send(&derivd::repair::lost_object_event(BUCKET, &thumb))
        .await
        .unwrap();
    eventually(WAIT, "orphan", || async {
        (metric(&svc.app, "derivd_repairs_total", &["orphan"]) == 1.0).then_some(())
    })
    .await;
    eventually(WAIT, "repair queue empty", || async {
        (queue_len(dir.path(), "derivd-repair").await == (0, 0)).then_some(())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_on_read_regenerates_once_and_serves_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), true).await;
    let src = "read/cat photo.jpg";
    upload(
        svc.app.store.as_ref(),
        src,
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    let url = svc.url("/v1/derived/thumb-256/read/cat%20photo.jpg");
    let c = reqwest::Client::new();
    // Eight concurrent readers of a missing object share one regeneration.
    let reqs = (0..8).map(|_| {
        let (c, url) = (c.clone(), url.clone());
        tokio::spawn(async move { c.get(url).send().await.unwrap() })
    });
    for r in reqs {
        let r = r.await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        let img = decode(&r.bytes().await.unwrap());
        assert_eq!((img.width(), img.height()), (256, 185));
    }
    assert_eq!(
        metric(&svc.app, "derivd_ensure_total", &["\"regenerating\""]),
        1.0
    );
    // What single flight guarantees: every reader either waited for that one flight or
    // found the object already there (confirmed, or present on its own HEAD).
    let served: f64 = ["\"regenerated\"", "\"present\"", "cache_hit"]
        .iter()
        .map(|r| metric(&svc.app, "derivd_ensure_total", &[r]))
        .sum();
    assert_eq!(served, 8.0, "{}", svc.app.metrics.render());
    let again = c.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(metric(&svc.app, "derivd_ensure_total", &["cache_hit"]) >= 1.0);
    let missing = c
        .get(svc.url("/v1/derived/thumb-256/nope.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let unknown = c
        .get(svc.url("/v1/derived/no-such/read/cat%20photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // A source the transform cannot take (not an image at all) is the client's error.
    upload(svc.app.store.as_ref(), "notes.txt", b"just text".to_vec()).await;
    let bad = c
        .get(svc.url("/v1/derived/thumb-256/notes.txt"))
        .send()
        .await
        .unwrap();
    // Not an image format derivd reads: 415, with the engine's typed reason.
    assert_eq!(bad.status(), 415);
    let body = bad.text().await.unwrap();
    assert!(body.contains("unsupported format"), "{body}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losses_of_one_source_in_separate_messages_share_one_decode() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.queue.repair = Some("derivd-repair".into());
    // First run: jobs only, so the loss events below wait in the repair queue together.
    let mut jobs_only = cfg.clone();
    jobs_only.serve.roles = Some(vec![derivd::config::Role::Jobs]);
    let svc = start(jobs_only, false).await;
    let src = "batch/photo.jpg";
    let photo = corpus_file("formats/ir_progressive_650x470.jpg");
    upload(svc.app.store.as_ref(), src, photo).await;
    svc.app
        .jobs
        .send(&format!(r#"{{"source": "{src}"}}"#))
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "the job", || async {
        (metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]) == 1.0).then_some(())
    })
    .await;
    let store = svc.app.store.clone();
    svc.stop().await;
    let repair = derivd::backends::Backends::new(&cfg).await.unwrap();
    let repair = repair.repair_queue().await.unwrap().unwrap();
    let keys: Vec<String> = ["thumb-128.jpg", "web-1024.jpg", "preview-512.webp"]
        .iter()
        .map(|f| format!("derived/{src}/{f}"))
        .collect();
    for k in &keys {
        store.delete(BUCKET, k).await.unwrap();
        // S3 sends one event per lost object.
        let event = derivd::repair::lost_object_event(BUCKET, k);
        repair.send(&event).await.unwrap();
    }
    let svc = start(cfg, false).await;
    eventually(Duration::from_secs(60), "the repairs", || async {
        (metric(&svc.app, "derivd_repairs_total", &["\"repaired\""]) == 3.0).then_some(())
    })
    .await;
    for k in &keys {
        assert!(
            store.head(BUCKET, k).await.unwrap().is_some(),
            "{k} not back"
        );
    }
    // One source, one decode: a single repair group ran.
    let groups = metric(
        &svc.app,
        "derivd_stage_duration_seconds_count",
        &["stage=\"repair\""],
    );
    assert_eq!(groups, 1.0);
    assert_eq!(queue_len(dir.path(), "derivd-repair").await, (0, 0));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_its_time_limit_is_retried_then_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.worker.job_timeout_secs = 1;
    cfg.queue.max_receives = 2;
    let svc = start(cfg, false).await;
    // A 99.6 MP source: decoding it at full size takes well over a second.
    upload(
        svc.app.store.as_ref(),
        "huge.jpg",
        corpus_file("malformed/th_huge_9643x10328.jpg"),
    )
    .await;
    let all = r#"{"source": "huge.jpg", "transforms": ["*"]}"#;
    svc.app.jobs.send(all).await.unwrap();
    eventually(Duration::from_secs(120), "dead-lettered", || async {
        (queue_len(dir.path(), "derivd-jobs-dlq").await.0 == 1).then_some(())
    })
    .await;
    assert!(
        metric(
            &svc.app,
            "derivd_job_failures_total",
            &["reason=\"deadline\""]
        ) + metric(
            &svc.app,
            "derivd_job_failures_total",
            &["reason=\"timeout\""]
        ) >= 2.0
    );
    assert_eq!(
        metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]),
        0.0
    );
    assert_eq!(queue_len(dir.path(), "derivd-jobs").await, (0, 0));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_lost_manifest_write_rewrites_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), false).await;
    let src = "m/photo.jpg";
    let photo = corpus_file("formats/ir_progressive_650x470.jpg");
    upload(svc.app.store.as_ref(), src, photo).await;
    let job = format!(r#"{{"source": "{src}", "transforms": ["thumb-256"]}}"#);
    let outcomes = |outcome: &'static str, n: f64| {
        let app = &svc.app;
        let needle = format!("outcome=\"{outcome}\"");
        async move { (metric(app, "derivd_jobs_total", &[&needle]) == n).then_some(()) }
    };
    svc.app.jobs.send(&job).await.unwrap();
    eventually(Duration::from_secs(60), "first run", || outcomes("ok", 1.0)).await;
    // As if the first attempt died between the object PUT and the manifest write.
    let manifest_key = format!("derived/{src}/_manifest.json");
    svc.app.store.delete(BUCKET, &manifest_key).await.unwrap();
    svc.app.jobs.send(&job).await.unwrap();
    // An object without a manifest entry is not done: it is written again, not skipped.
    eventually(Duration::from_secs(60), "second run", || {
        outcomes("ok", 2.0)
    })
    .await;
    let manifest = svc.app.store.head(BUCKET, &manifest_key).await.unwrap();
    assert!(manifest.is_some());
    // And now it is up to date.
    svc.app.jobs.send(&job).await.unwrap();
    eventually(Duration::from_secs(60), "third run", || {
        outcomes("up_to_date", 1.0)
    })
    .await;
    assert_eq!(
        metric(&svc.app, "derivd_jobs_total", &["outcome=\"ok\""]),
        2.0
    );
    svc.stop().await;
}

/// A thumb-256 whose settings differ from the built-in one (and so does its digest).
fn narrower_thumb() -> derivd::catalogue::Transform {
    let text = "description = \"narrower\"\naccepts = [\"image/*\"]\n[output]\nformat = \"jpeg\"\nquality = 70\n\
                [resize]\nmode = \"fit\"\nwidth = 200\nheight = 200\n";
    derivd::catalogue::Transform::parse("thumb-256", text, 8192).unwrap()
}

async fn read_size(url: &str) -> (u32, u32) {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
    let img = decode(&r.bytes().await.unwrap());
    (img.width(), img.height())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_on_read_regenerates_after_a_transform_changes() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), true).await;
    let src = "read/photo.jpg";
    let photo = corpus_file("formats/ir_progressive_650x470.jpg");
    upload(svc.app.store.as_ref(), src, photo).await;
    let path = "/v1/derived/thumb-256/read/photo.jpg";
    assert_eq!(read_size(&svc.url(path)).await, (256, 185));
    svc.stop().await;
    // Restart with new settings for thumb-256: the stored object is stale now.
    let catalogue = derivd::catalogue::Catalogue::from_transforms(vec![narrower_thumb()]);
    let svc = common::service::start_with(embedded_config(dir.path()), catalogue, true).await;
    assert_eq!(read_size(&svc.url(path)).await, (200, 145));
    let regenerating = metric(&svc.app, "derivd_ensure_total", &["\"regenerating\""]);
    assert_eq!(regenerating, 1.0, "the stale object must not be served");
    let key = format!("derived/{src}/thumb-256.jpg");
    let meta = svc.app.store.head(BUCKET, &key).await.unwrap().unwrap();
    assert_eq!(meta.metadata["derivd-digest"], narrower_thumb().digest);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_on_read_regenerates_a_re_uploaded_source_after_the_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.http.ensure_ttl_secs = 1;
    let svc = start(cfg, true).await;
    let src = "read/swap.jpg";
    upload(
        svc.app.store.as_ref(),
        src,
        corpus_file("formats/ir_progressive_650x470.jpg"),
    )
    .await;
    let url = svc.url("/v1/derived/thumb-256/read/swap.jpg");
    assert_eq!(read_size(&url).await, (256, 185));
    // A new version of the source, portrait this time.
    let portrait = corpus_file("formats/wm_Cerkiew_progressive_1914x2565.jpg");
    upload(svc.app.store.as_ref(), src, portrait).await;
    // Within the TTL the confirmed object is served as is, without a request.
    assert_eq!(read_size(&url).await, (256, 185));
    assert_eq!(metric(&svc.app, "derivd_ensure_total", &["cache_hit"]), 1.0);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // After it, the source's new ETag makes the object stale: regenerated from the new one.
    assert_eq!(read_size(&url).await, (191, 256));
    assert_eq!(
        metric(&svc.app, "derivd_ensure_total", &["\"regenerating\""]),
        2.0
    );
    svc.stop().await;
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
