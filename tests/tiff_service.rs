//! TIFF sources through the whole service, on both backends (embedded: local folder +
//! SQLite; aws: moto's S3/SQS): TIFFs the old decoder refused or panicked on — a CCITT Fax4
//! scan, a tiled planar LZW file and a BigTIFF — get their job's thumbnails, and one its
//! ensure-on-read preview, all through libtiff.
//! Run: `MOTO_PORT=5203 scripts/test.sh --test tiff_service` (the aws test needs moto).

mod common;

use common::images::{corpus_file, decode};
use common::service::{aws_stack, embedded_config, object_eventually, start, Running};

/// (source key, corpus file, its size)
const SOURCES: [(&str, &str, (u32, u32)); 3] = [
    ("scans/fax.tif", "formats/sharp_ccitt_fax.tif", (2464, 3248)),
    (
        "tiles/planar lzw.tiff",
        "suites/pillow/Tests/images/tiff_tiled_planar_lzw.tiff",
        (278, 374),
    ),
    (
        "big/hopper.tif",
        "suites/pillow/Tests/images/hopper_bigtiff.tif",
        (128, 128),
    ),
];

async fn scenario(svc: &Running, bucket: &str) {
    for (key, file, _) in SOURCES {
        let put = common::source_put(key, corpus_file(file));
        svc.app.store.put(bucket, put).await.unwrap();
        let job = serde_json::json!({"source": key, "transforms": ["thumb-128", "preview-512"]});
        svc.app.jobs.send(&job.to_string()).await.unwrap();
    }
    for (key, _, (w, h)) in SOURCES {
        let img =
            decode(&object_eventually(svc, bucket, &format!("derived/{key}/thumb-128.jpg")).await);
        assert_eq!((img.width(), img.height()), (128, 128), "{key}");
        // Not a blank: a scan, a photo and a test card all have dark and light parts.
        let grey = img.to_luma8();
        let (lo, hi) = grey
            .pixels()
            .fold((255, 0), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
        assert!(hi - lo > 100, "{key}: {lo}..{hi}");
        let p = decode(
            &object_eventually(svc, bucket, &format!("derived/{key}/preview-512.webp")).await,
        );
        let longest = 512.min(w.max(h));
        assert_eq!(p.width().max(p.height()), longest, "{key}");
    }
    // Ensure-on-read of a size no job asked for.
    let r = reqwest::get(svc.url("/v1/derived/thumb-256/scans/fax.tif"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let img = decode(&r.bytes().await.unwrap());
    assert_eq!(
        (img.width(), img.height()),
        (194, 256),
        "2464×3248 fitted in 256"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiffs_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), true).await;
    scenario(&svc, "derivd").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiffs_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("tiff").await;
    let bucket = stack.bucket;
    let svc = start(cfg, true).await;
    scenario(&svc, &bucket).await;
    svc.stop().await;
}
