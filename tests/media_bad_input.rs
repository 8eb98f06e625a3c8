//! Bad video and PDF sources through the service (embedded backend): each gets a typed
//! error (the reason in its failure notice) and a defined fate — dropped with a failure
//! notice (client faults), retried then dead-lettered (a hanging tool, transient) — or, for
//! sources that are odd but readable, a correct output. The process lives on throughout.
//! Run: `cargo test --test media_bad_input` (needs ffmpeg and poppler-utils).

mod common;

use std::time::Duration;

use common::clips::{self, read_fixture};
use common::embedded::{notices, queue_len};
use common::service::{embedded_config, eventually, metric, start, Running};

const BUCKET: &str = "derivd";
const WAIT: Duration = Duration::from_secs(120);

async fn upload(svc: &Running, key: &str, bytes: Vec<u8>) {
    common::embedded::upload(svc.app.store.as_ref(), BUCKET, key, bytes).await
}

type Case = (
    &'static str,
    Vec<u8>,
    &'static str,
    Result<(u32, u32), &'static str>,
);

fn cases(dir: &std::path::Path) -> Vec<Case> {
    let clip = clips::black_then_bars(dir);
    // The muxer writes moov last: half the file has no moov at all.
    let truncated = clip[..clip.len() / 2].to_vec();
    vec![
        ("truncated.mp4", truncated, "poster-640", Err("corrupt")),
        (
            "empty.mp4",
            Vec::new(),
            "poster-640",
            Err("unsupported_format"),
        ),
        (
            "audio.m4a",
            read_fixture("ax_audio_only_aac.m4a"),
            "poster-640",
            Err("unsupported_format"),
        ),
        (
            "audio.mp4",
            clips::audio_only_mp4(dir),
            "poster-640",
            Err("no_video"),
        ),
        (
            "huge.mkv",
            clips::claimed_size_mkv(dir, 60000),
            "poster-640",
            Err("limit_exceeded"),
        ),
        (
            "big.mkv",
            clips::claimed_size_mkv(dir, 12000),
            "poster-640",
            Err("limit_exceeded"),
        ),
        (
            "locked.pdf",
            read_fixture("pysf_user_password_required.pdf"),
            "page-thumb-256",
            Err("encrypted"),
        ),
        (
            "cut.pdf",
            read_fixture("pypdf_word2010_19pages_truncated.pdf"),
            "page-thumb-256",
            Err("corrupt"),
        ),
        (
            "pages.pdf",
            clips::pdf(6000, 200.0, 200.0),
            "page-thumb-256",
            Err("limit_exceeded"),
        ),
        // Odd but readable: these must work.
        (
            "acres.pdf",
            clips::pdf(1, 14400.0, 14400.0),
            "page-thumb-256",
            Ok((256, 256)),
        ),
        (
            "garbage-tail.pdf",
            read_fixture("pdfjs_scan_trailing_garbage.pdf"),
            "page-thumb-256",
            Ok((198, 256)),
        ),
        (
            "owner-only.pdf",
            read_fixture("pdfjs_owner_password_only_printable.pdf"),
            "page-thumb-256",
            Ok((181, 256)),
        ),
        (
            "cut-mdat.mp4",
            read_fixture("mp_phone_rot180_truncated.mp4"),
            "poster-640",
            Ok((640, 360)),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_source_gets_its_reason_and_is_dropped_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), false).await;
    let cases = cases(dir.path());
    for (key, bytes, transform, _) in &cases {
        upload(&svc, key, bytes.clone()).await;
        let job = serde_json::json!({"source": key, "transforms": [transform], "id": key});
        svc.app.jobs.send(&job.to_string()).await.unwrap();
    }
    let all = eventually(WAIT, "a notice per job", || async {
        let n = notices(dir.path());
        (n.len() >= cases.len()).then_some(n)
    })
    .await;
    for (key, _, transform, want) in &cases {
        let n = all.iter().find(|n| n["id"] == *key).expect(key);
        match want {
            Err(reason) => {
                assert_eq!(n["status"], "failed", "{key}: {n}");
                let error = n["error"].as_str().unwrap();
                assert!(error.starts_with(&format!("{reason}:")), "{key}: {error}");
            }
            Ok((w, h)) => {
                assert_eq!(n["status"], "ok", "{key}: {n}");
                let ext = "jpg";
                let k = format!("derived/{key}/{transform}.{ext}");
                let obj = svc.app.store.get(BUCKET, &k).await.unwrap().expect(&k);
                let img = image::load_from_memory(&obj.bytes).unwrap();
                assert_eq!((img.width(), img.height()), (*w, *h), "{key}");
            }
        }
    }
    // Client faults are dropped, not retried or dead-lettered.
    eventually(WAIT, "queue drained", || async {
        (queue_len(dir.path(), "derivd-jobs").await == (0, 0)).then_some(())
    })
    .await;
    assert_eq!(queue_len(dir.path(), "derivd-jobs-dlq").await.0, 0);
    let failed = cases.iter().filter(|c| c.3.is_err()).count() as f64;
    let dropped = metric(&svc.app, "derivd_jobs_total", &["outcome=\"dropped\""]);
    assert_eq!(dropped, failed, "{}", svc.app.metrics.render());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_decoder_is_killed_at_the_deadline_retried_then_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    // A "decoder" that never finishes, in ffprobe's place.
    let hang = dir.path().join("hanging-ffprobe");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 600\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.media.ffprobe = hang;
    cfg.worker.job_timeout_secs = 1;
    cfg.queue.max_receives = 2;
    let svc = start(cfg, false).await;
    upload(&svc, "clip.webm", read_fixture("ax_bear_vp9_320x240.webm")).await;
    let job = r#"{"source": "clip.webm", "transforms": ["poster-640"]}"#;
    svc.app.jobs.send(job).await.unwrap();
    eventually(WAIT, "dead-lettered", || async {
        (queue_len(dir.path(), "derivd-jobs-dlq").await.0 == 1).then_some(())
    })
    .await;
    let timeouts = metric(
        &svc.app,
        "derivd_job_failures_total",
        &["reason=\"timeout\""],
    );
    assert!(timeouts >= 2.0, "{}", svc.app.metrics.render());
    assert_eq!(
        metric(&svc.app, "derivd_jobs_total", &["outcome=\"retry\""]),
        2.0
    );
    // Every killed tool is gone: no `sleep 600` left behind.
    let ps = std::process::Command::new("pgrep")
        .args(["-f", "sleep 600"])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "tool still running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
    svc.stop().await;
}
