//! Animated sources through the whole service, on both backends (embedded: local folder +
//! SQLite; aws: moto's S3/SQS/SNS): a transform with `animation = "keep"` writes animated
//! WebP (read back by `webpmux`) and animated GIF (read back by Pillow) while a built-in transform of the same job takes the
//! first frame, the catalogue lists the key, and a 5,000-frame GIF is dropped with a
//! `limit_exceeded` failure notice.
//! Run: `MOTO_PORT=5202 scripts/test.sh --test animation_service` (the aws test needs moto).

mod common;

use std::time::Duration;

use common::anim::{gif_with_undecodable_frames, pillow_gif_info, webpmux_info};
use common::images::decode;
use common::service::{
    aws_stack, catalogue_json, embedded_config, eventually, notices_until, object_eventually,
    start_with, Running,
};
use derivd::catalogue::{Catalogue, Transform};

const GIF: &str = "anim/squares.gif";
const BOMB: &str = "anim/5000 frames.gif";

fn catalogue() -> Catalogue {
    let moving = "description = \"Animated thumbnail\"\naccepts = [\"image/*\"]\n\
                  animation = \"keep\"\n[output]\nformat = \"webp\"\n\
                  [resize]\nmode = \"fit\"\nwidth = 64\nheight = 64\n";
    let mut all: Vec<Transform> = Catalogue::built_in(8192)
        .unwrap()
        .iter()
        .map(|t| (**t).clone())
        .collect();
    all.push(Transform::parse("moving-64", moving, 8192).unwrap());
    let gif = moving.replace("\"webp\"", "\"gif\"");
    all.push(Transform::parse("moving-gif", &gif, 8192).unwrap());
    Catalogue::from_transforms(all)
}

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/animation");
    std::fs::read(p.join(name)).unwrap()
}

/// Uploads both sources and sends their jobs; checks the outputs and the catalogue.
async fn scenario(svc: &Running, bucket: &str) {
    let sources = [
        (GIF, fixture("sharp_animated_squares_30f.gif"), "a-1"),
        (BOMB, gif_with_undecodable_frames(5000), "a-2"),
    ];
    for (key, bytes, id) in sources {
        let put = derivd::storage::PutRequest {
            content_type: "image/gif".into(),
            ..common::source_put(key, bytes)
        };
        svc.app.store.put(bucket, put).await.unwrap();
        let job = serde_json::json!({"source": key, "transforms": ["moving-64", "moving-gif", "thumb-256"], "id": id});
        svc.app.jobs.send(&job.to_string()).await.unwrap();
    }
    let webp = object_eventually(svc, bucket, &format!("derived/{GIF}/moving-64.webp")).await;
    let info = webpmux_info(&webp);
    assert!(info.animated, "{info:?}");
    assert_eq!((info.canvas, info.loops), ((64, 64), 0));
    assert_eq!(info.durations.iter().sum::<u32>(), 30 * 30, "{info:?}");
    let gif = object_eventually(svc, bucket, &format!("derived/{GIF}/moving-gif.gif")).await;
    let info = pillow_gif_info(&gif);
    assert_eq!((info.size, info.loops), ((64, 64), Some(0)));
    assert_eq!(info.durations.iter().sum::<u32>(), 30 * 30, "{info:?}");
    let thumb = object_eventually(svc, bucket, &format!("derived/{GIF}/thumb-256.jpg")).await;
    assert_eq!((decode(&thumb).width(), decode(&thumb).height()), (80, 80));

    let cat = catalogue_json(svc).await;
    assert_eq!(cat["transforms"]["moving-64"]["animation"], "keep");
    assert!(cat["transforms"]["thumb-256"].get("animation").is_none());
    let note = cat["media_types"]["image/gif"]["animation"]
        .as_str()
        .unwrap();
    assert!(note.contains("keep"), "{note}");
}

/// The 5,000-frame GIF's job failed on the frame limit; the squares' job did not.
fn check_notices(notices: &[serde_json::Value]) {
    let find = |id: &str| notices.iter().find(|n| n["id"] == id).expect(id);
    assert_eq!(find("a-1")["status"], "ok", "{}", find("a-1"));
    let n = find("a-2");
    assert_eq!(n["status"], "failed", "{n}");
    let error = n["error"].as_str().unwrap();
    assert!(
        error.starts_with("limit_exceeded:") && error.contains("5000 frames"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn animated_webp_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_with(embedded_config(dir.path()), catalogue(), true).await;
    scenario(&svc, "derivd").await;
    let all = eventually(Duration::from_secs(90), "both notices", || async {
        let text = std::fs::read_to_string(dir.path().join("notices.jsonl")).unwrap_or_default();
        let n: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (n.len() >= 2).then_some(n)
    })
    .await;
    check_notices(&all);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn animated_webp_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("anim").await;
    let svc = start_with(cfg, catalogue(), true).await;
    scenario(&svc, &stack.bucket).await;
    let all = notices_until(&stack.notices.queue_url, |n| n.len() >= 2).await;
    check_notices(&all);
    svc.stop().await;
}
