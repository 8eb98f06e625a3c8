//! The embedded service coming back from what goes wrong: self-repair of lost objects
//! (one decode for many losses), ensure-on-read (after a loss, a transform change, a
//! re-upload), retries after a job's time limit and after a lost manifest write.

mod common;

use std::time::Duration;

use common::embedded::queue_len;
use common::images::{corpus_file, decode, ssim};
use common::service::{embedded_config, eventually, metric, start};
use derivd::storage::ObjectStore;

const BUCKET: &str = "derivd";
const WAIT: Duration = Duration::from_secs(60);

async fn upload(store: &dyn ObjectStore, key: &str, bytes: Vec<u8>) {
    common::embedded::upload(store, BUCKET, key, bytes).await
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
