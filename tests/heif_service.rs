//! HEIC and AVIF sources through the whole service, on both backends (embedded: local
//! folder + SQLite; aws: moto's S3/SQS/SNS): a job per source makes its transforms, upright
//! (irot applied once), and the catalogue lists the new media types.
//! Run: `MOTO_PORT=5201 scripts/test.sh --test heif_service` (the aws test needs moto).

mod common;

use common::images::decode;
use common::service::{
    aws_stack, catalogue_json, embedded_config, object_eventually, start, Running,
};
use derivd::storage::PutRequest;

/// (source key, fixture, content type, thumb-256 size, preview-512 size).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    (u32, u32),
    (u32, u32),
);

const SOURCES: [Case; 2] = [
    (
        "phone/IMG_0001.HEIC",
        "ph_iphone8plus_arrow_grid_orient6.heic",
        "image/heic",
        (192, 256),
        (384, 512),
    ),
    (
        "art/kimono.avif",
        "lu_kimono_irot270.avif",
        "image/avif",
        (181, 256),
        (361, 512),
    ),
];

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heif");
    std::fs::read(p.join(name)).unwrap()
}

/// The scenario both backends run: upload, one job each, check every output's shape.
async fn scenario(svc: &Running, bucket: &str) {
    for (i, (key, file, mime, _, _)) in SOURCES.iter().enumerate() {
        let req = PutRequest {
            content_type: mime.to_string(),
            ..common::source_put(key, fixture(file))
        };
        svc.app.store.put(bucket, req).await.unwrap();
        let job = serde_json::json!({"source": key, "transforms": ["thumb-256", "preview-512"], "id": format!("h-{i}")});
        svc.app.jobs.send(&job.to_string()).await.unwrap();
    }
    for (key, _, _, thumb, preview) in SOURCES {
        let t =
            decode(&object_eventually(svc, bucket, &format!("derived/{key}/thumb-256.jpg")).await);
        assert_eq!((t.width(), t.height()), thumb, "{key}");
        let p = decode(
            &object_eventually(svc, bucket, &format!("derived/{key}/preview-512.webp")).await,
        );
        assert_eq!((p.width(), p.height()), preview, "{key}");
    }
    let cat = catalogue_json(svc).await;
    for mime in ["image/heic", "image/heif", "image/avif"] {
        let t = cat["media_types"][mime]["transforms"].as_array();
        assert!(t.is_some_and(|t| t.len() > 1), "{mime}: {cat}");
    }
    assert!(cat["media_types"]["image/avif"]["animation"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heic_and_avif_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), true).await;
    scenario(&svc, "derivd").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heic_and_avif_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("heif").await;
    let bucket = stack.bucket;
    let svc = start(cfg, true).await;
    scenario(&svc, &bucket).await;
    svc.stop().await;
}
