//! Video and PDF sources through the whole service, on both backends (embedded: local
//! folder + SQLite; aws: moto's S3/SQS/SNS): a job on a generated clip (facts in the
//! manifest and notice, `best` recorded), a repair of the lost `best` poster (the same
//! frame comes back), and ensure-on-read of a page preview.
//! Run: `MOTO_PORT=5103 scripts/test.sh --test media_service` (the aws test needs moto).

mod common;

use std::time::Duration;

use common::clips::{self, read_fixture};
use common::images::decode;
use common::service::{
    aws_stack, catalogue_json, embedded_config, eventually, notice_with_id, object_eventually,
    start, Running,
};
use derivd::keys::KeyLayout;
use derivd::storage::PutRequest;

const WAIT: Duration = Duration::from_secs(90);
const CLIP: &str = "clips/black then bars.mp4";
const DOC: &str = "docs/paper ü.pdf";

async fn upload(svc: &Running, bucket: &str, key: &str, bytes: Vec<u8>, mime: &str) {
    let req = PutRequest {
        content_type: mime.into(),
        ..common::source_put(key, bytes)
    };
    svc.app.store.put(bucket, req).await.unwrap();
}

/// The scenario both backends run; returns the job's correlation id for the notice check.
async fn scenario(svc: &Running, bucket: &str) -> &'static str {
    let dir = tempfile::tempdir().unwrap();
    upload(
        svc,
        bucket,
        CLIP,
        clips::black_then_bars(dir.path()),
        "video/mp4",
    )
    .await;
    let pdf = read_fixture("pysf_libreoffice_1page_text.pdf");
    upload(svc, bucket, DOC, pdf, "application/pdf").await;
    let job = serde_json::json!({"source": CLIP, "transforms": ["poster-640", "poster-best-320"], "id": "v-1"});
    svc.app.jobs.send(&job.to_string()).await.unwrap();

    let best_key = format!("derived/{CLIP}/poster-best-320.jpg");
    let poster =
        decode(&object_eventually(svc, bucket, &format!("derived/{CLIP}/poster-640.jpg")).await);
    assert_eq!((poster.width(), poster.height()), (320, 240));
    let original = object_eventually(svc, bucket, &best_key).await;
    let (m, _) = eventually(WAIT, "manifest", || async {
        let store = svc.app.store.as_ref();
        let m = derivd::manifest::read(store, bucket, &KeyLayout::default(), CLIP).await;
        m.unwrap().filter(|(m, _)| m.derived.len() == 2)
    })
    .await;
    let facts = m.facts.as_ref().expect("the source's facts");
    assert_eq!((facts.media_type.as_str(), facts.width), ("video/mp4", 320));
    let facts = serde_json::to_value(&facts.media_facts).unwrap();
    assert_eq!(facts["kind"], "video", "{facts}");
    assert_eq!(facts["codec"], "h264");
    assert_eq!(
        (facts["display_width"].as_u64(), facts["rotation"].as_u64()),
        (Some(320), Some(0))
    );
    assert!(
        (facts["duration_seconds"].as_f64().unwrap() - 4.0).abs() < 0.1,
        "{facts}"
    );
    let still = &m.derived["poster-best-320"].extra["still"];
    assert_eq!(still["rule"], "at=best");
    let at = still["at_seconds"].as_f64().unwrap();
    assert!(at >= 2.0, "best chose {at} s: a black frame");
    assert_eq!(m.derived["poster-640"].extra["still"]["at_seconds"], 1.0);

    // Lose the `best` poster: the repair makes the very same frame again.
    svc.app.store.delete(bucket, &best_key).await.unwrap();
    let repair = svc.app.repair.clone().expect("repair queue configured");
    repair
        .send(&derivd::repair::lost_object_event(bucket, &best_key))
        .await
        .unwrap();
    let back = object_eventually(svc, bucket, &best_key).await;
    assert_eq!(back, original, "the repaired poster is another frame");

    // Ensure-on-read of a page preview nobody asked a job for.
    let url = svc.url("/v1/derived/page-preview-1024/docs/paper%20%C3%BC.pdf");
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let page = decode(&r.bytes().await.unwrap());
    assert_eq!((page.width(), page.height()), (724, 1024));
    "v-1"
}

fn check_notice(n: &serde_json::Value) {
    assert_eq!(n["status"], "ok", "{n}");
    let facts = &n["facts"];
    assert_eq!(facts["media_facts"]["kind"], "video", "{n}");
    assert_eq!(facts["media_facts"]["width"], 320);
    assert_eq!(facts["media_facts"]["frames_per_second"], 25.0);
    // The poster frame's placeholders, as an image's would be.
    assert!(facts["placeholders"]["thumbhash"].is_string(), "{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_and_pdfs_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.queue.repair = Some("derivd-repair".into());
    let svc = start(cfg, true).await;
    let id = scenario(&svc, "derivd").await;
    let notices = std::fs::read_to_string(dir.path().join("notices.jsonl")).unwrap();
    let n: serde_json::Value = notices
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["id"] == id)
        .expect("notice");
    check_notice(&n);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_and_pdfs_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("media").await;
    let svc = start(cfg, true).await;
    let id = scenario(&svc, &stack.bucket).await;
    let n = notice_with_id(&stack.notices.queue_url, id).await;
    check_notice(&n);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_missing_tool_and_the_catalogue_lists_what_is_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.media.ffmpeg = "/nonexistent/ffmpeg".into();
    let catalogue = derivd::catalogue::Catalogue::built_in(8192).unwrap();
    match derivd::startup::Application::build(cfg.clone(), catalogue).await {
        Ok(_) => panic!("started without ffmpeg"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("ffmpeg") && msg.contains("media.video = false"),
                "{msg}"
            );
        }
    }
    // The catalogue lists every enabled type with its transforms and their rules.
    let svc = start(embedded_config(dir.path()), true).await;
    let cat = catalogue_json(&svc).await;
    for mime in [
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "video/x-matroska",
    ] {
        let t = &cat["media_types"][mime]["transforms"];
        assert_eq!(
            t,
            &serde_json::json!(["poster-640", "poster-best-320"]),
            "{mime}"
        );
    }
    let pdf = &cat["media_types"]["application/pdf"];
    assert_eq!(
        pdf["transforms"],
        serde_json::json!(["page-preview-1024", "page-thumb-256"])
    );
    assert!(pdf["still"].as_str().unwrap().contains("page"));
    assert_eq!(
        cat["transforms"]["poster-best-320"]["source_rules"]["video"],
        "at=best"
    );
    assert_eq!(
        cat["transforms"]["page-thumb-256"]["source_rules"]["pdf"],
        "page=1"
    );
    assert!(cat["media_types"]["image/jpeg"]["transforms"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| !t.as_str().unwrap().starts_with("poster")));
    svc.stop().await;
    // A type switched off is not listed, and serve starts without its tool.
    let mut off = embedded_config(dir.path());
    off.media.video = false;
    off.media.ffmpeg = "/nonexistent/ffmpeg".into();
    let svc = start(off, true).await;
    let cat = catalogue_json(&svc).await;
    assert!(cat["media_types"].get("video/mp4").is_none());
    assert!(cat["media_types"].get("application/pdf").is_some());
    svc.stop().await;
}
