//! JPEG XL, SVG and camera RAW sources through the whole service, on both backends
//! (embedded: local folder + SQLite; aws: moto's S3/SQS/SNS): a job per format with two
//! shipped transforms, ensure-on-read of an SVG, a RAW file without a preview refused with
//! a failure notice, and the catalogue listing the new types with their notes.
//! Run: `MOTO_PORT=5202 scripts/test.sh --test modern_service` (the aws test needs moto).

mod common;

use std::time::Duration;

use common::images::decode;
use common::service::{
    aws_stack, catalogue_json, embedded_config, eventually, notices_until, object_eventually,
    start, Running,
};

const WAIT: Duration = Duration::from_secs(90);

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/modern/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Source key, fixture, thumb-256 size, preview-512 size.
type Case = (&'static str, &'static str, (u32, u32), (u32, u32));
const SOURCES: [Case; 4] = [
    (
        "m/bike.jxl",
        "jxl_bike_lossy_vardct.jxl",
        (205, 256),
        (410, 512),
    ),
    (
        "m/bench é.jxl",
        "jxl_recompressed_jpeg_oriented.jxl",
        (256, 211),
        (512, 422),
    ),
    (
        "m/diagram.svg",
        "wm_IPv6_header_text.svg",
        (256, 118),
        (506, 233),
    ),
    (
        "m/otters.cr3",
        "exiv2_canon_r6_pruned_previews.cr3",
        (256, 171),
        (512, 341),
    ),
];
const NO_PREVIEW: &str = "m/pruned.dng";

async fn upload(svc: &Running, bucket: &str, key: &str, bytes: Vec<u8>) {
    let req = common::source_put(key, bytes);
    svc.app.store.put(bucket, req).await.unwrap();
}

/// The scenario both backends run (the notices are checked by each backend's test).
async fn scenario(svc: &Running, bucket: &str) {
    for (key, file, _, _) in SOURCES {
        upload(svc, bucket, key, fixture(file)).await;
        let job = serde_json::json!({"source": key, "transforms": ["thumb-256", "preview-512"], "id": key});
        svc.app.jobs.send(&job.to_string()).await.unwrap();
    }
    let dng = fixture("exiv2_iphone12pro_proraw_pruned.dng");
    upload(svc, bucket, NO_PREVIEW, dng).await;
    let job =
        serde_json::json!({"source": NO_PREVIEW, "transforms": ["thumb-256"], "id": NO_PREVIEW});
    svc.app.jobs.send(&job.to_string()).await.unwrap();

    for (key, _, thumb, preview) in SOURCES {
        let t =
            decode(&object_eventually(svc, bucket, &format!("derived/{key}/thumb-256.jpg")).await);
        assert_eq!((t.width(), t.height()), thumb, "{key}");
        let p = decode(
            &object_eventually(svc, bucket, &format!("derived/{key}/preview-512.webp")).await,
        );
        assert_eq!((p.width(), p.height()), preview, "{key}");
    }

    // Ensure-on-read of an SVG rendition nobody asked a job for.
    let r = reqwest::get(svc.url("/v1/derived/web-1024/m/diagram.svg"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let img = decode(&r.bytes().await.unwrap());
    assert_eq!((img.width(), img.height()), (506, 233));
    check_catalogue(svc).await;
}

async fn check_catalogue(svc: &Running) {
    let cat = catalogue_json(svc).await;
    for mime in [
        "image/jxl",
        "image/svg+xml",
        "image/x-canon-cr3",
        "image/x-adobe-dng",
    ] {
        let e = &cat["media_types"][mime];
        let t = e["transforms"].as_array().expect(mime);
        assert!(t.iter().any(|n| n == "thumb-256"), "{mime}: {e}");
    }
    assert!(cat["media_types"]["image/jxl"]["animation"].is_string());
    let svg_note = cat["media_types"]["image/svg+xml"]["still"]
        .as_str()
        .unwrap();
    assert!(svg_note.contains("no file or URL"), "{svg_note}");
    let raw_note = cat["media_types"]["image/x-nikon-nef"]["still"]
        .as_str()
        .unwrap();
    assert!(raw_note.contains("preview"), "{raw_note}");
}

fn check_notices(notices: &[serde_json::Value]) {
    for (key, ..) in SOURCES {
        let n = notices.iter().find(|n| n["id"] == key).expect(key);
        assert_eq!(n["status"], "ok", "{key}: {n}");
    }
    let n = notices
        .iter()
        .find(|n| n["id"] == NO_PREVIEW)
        .expect("dng notice");
    assert_eq!(n["status"], "failed", "{n}");
    let error = n["error"].as_str().unwrap();
    assert!(error.starts_with("unsupported_format:"), "{error}");
    assert!(error.contains("preview"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_formats_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), true).await;
    scenario(&svc, "derivd").await;
    let all = eventually(WAIT, "a notice per job", || async {
        let text = std::fs::read_to_string(dir.path().join("notices.jsonl")).unwrap_or_default();
        let n: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (n.len() > SOURCES.len()).then_some(n)
    })
    .await;
    check_notices(&all);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_formats_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("modern").await;
    let (bucket, notices) = (stack.bucket, stack.notices);
    let svc = start(cfg, true).await;
    scenario(&svc, &bucket).await;
    let all = notices_until(&notices.queue_url, |n| n.len() > SOURCES.len()).await;
    check_notices(&all);
    svc.stop().await;
}
