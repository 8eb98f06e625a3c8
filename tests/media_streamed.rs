//! A video larger than `limits.max_input_bytes` is never held in memory: the deriver streams
//! it into a temp file for ffmpeg (`ObjectStore::get_to_file`), up to
//! `limits.max_video_bytes`; an image that large is still refused. On both backends.
//! Run: `MOTO_PORT=5107 scripts/test.sh --test media_streamed` (the aws test needs moto).

mod common;

use std::time::Duration;

use common::clips;
use common::images::decode;
use common::service::{aws_stack, embedded_config, eventually, metric, start, Running};
use common::source_put;
use derivd::config::Config;

const WAIT: Duration = Duration::from_secs(90);
const LIMIT: u64 = 64 << 10;

/// Sources over 64 KiB are not read into memory.
fn small_inputs(mut cfg: Config) -> Config {
    cfg.limits.max_input_bytes = LIMIT;
    cfg.limits.max_metadata_bytes = LIMIT;
    cfg
}

/// A noisy 640×360 clip, well over [`LIMIT`].
fn big_clip() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.mp4");
    let args = ["-f", "lavfi", "-i", "testsrc2=s=640x360:d=3:r=25"];
    let enc = [
        "-vf",
        "noise=alls=40:allf=t,format=yuv420p",
        "-c:v",
        "libx264",
    ];
    let args: Vec<&str> = args.iter().chain(&enc).copied().collect();
    clips::ffmpeg(&[&args[..], &["-preset", "ultrafast"]].concat(), &out);
    std::fs::read(out).unwrap()
}

async fn scenario(svc: &Running, bucket: &str) {
    let clip = big_clip();
    assert!(
        clip.len() as u64 > 4 * LIMIT,
        "the clip is {} bytes",
        clip.len()
    );
    let store = &svc.app.store;
    store
        .put(bucket, source_put("big/clip.mp4", clip))
        .await
        .unwrap();
    let job = serde_json::json!({"source": "big/clip.mp4", "transforms": ["poster-640"]});
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    let key = "derived/big/clip.mp4/poster-640.jpg";
    let poster = eventually(WAIT, "poster", || async {
        store.get(bucket, key).await.unwrap().map(|o| o.bytes)
    })
    .await;
    assert_eq!(decode(&poster).width(), 640);

    // An image as large is refused (a client error, dropped with a failure notice).
    let photo = common::images::corpus_file("photos/es_jolla_3264x2448.jpg");
    assert!(photo.len() as u64 > LIMIT);
    store
        .put(bucket, source_put("big/photo.jpg", photo))
        .await
        .unwrap();
    let job = serde_json::json!({"source": "big/photo.jpg", "transforms": ["thumb-256"]});
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    eventually(WAIT, "refusal", || async {
        let n = metric(&svc.app, "derivd_job_failures_total", &["limit_exceeded"]);
        (n >= 1.0).then_some(())
    })
    .await;
    let thumb = store
        .head(bucket, "derived/big/photo.jpg/thumb-256.jpg")
        .await;
    assert!(thumb.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_videos_are_streamed_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(small_inputs(embedded_config(dir.path())), false).await;
    scenario(&svc, "derivd").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_videos_are_streamed_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("streamed").await;
    let svc = start(small_inputs(cfg), false).await;
    scenario(&svc, &stack.bucket).await;
    svc.stop().await;
}
