//! `metadata = "copyright"` through the whole service, on both backends (embedded: local
//! folder + SQLite; aws: moto's S3/SQS/SNS): the derived object of a photo with GPS and
//! EXIF Orientation 6 carries the copyright and credit, no GPS, Orientation 1 (read back by
//! exiftool), and the catalogue shows the transform's metadata keys.
//! Run: `MOTO_PORT=5201 scripts/test.sh --test metadata_service` (the aws test needs moto).

mod common;

use common::exiftool::{keys_where, tags, text};
use common::service::{
    aws_stack, catalogue_json, embedded_config, object_eventually, start_with, Running,
};
use common::source_put;
use derivd::catalogue::{Catalogue, Transform};

const SOURCE: &str = "uploads/rome.jpg";

fn catalogue() -> Catalogue {
    let credit = r#"
description = "A 256 px JPEG that keeps the photographer's credit"
accepts = ["image/*"]
metadata = "copyright"
[output]
format = "jpeg"
[resize]
mode = "fit"
width = 256
height = 256
"#;
    Catalogue::from_transforms(vec![Transform::parse("credit-256", credit, 8192).unwrap()])
}

async fn scenario(svc: &Running, bucket: &str) {
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/metadata/camera.jpg"
    ))
    .unwrap();
    assert!(
        text(&tags(&photo), "GPS:GPSLatitude").is_some(),
        "the source has GPS"
    );
    svc.app
        .store
        .put(bucket, source_put(SOURCE, photo))
        .await
        .unwrap();
    let job = serde_json::json!({"source": SOURCE, "transforms": ["credit-256"]});
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    let key = format!("derived/{SOURCE}/credit-256.jpg");
    let out = object_eventually(svc, bucket, &key).await;
    let t = tags(&out);
    let copyright = "Myleen Hollero / Wikimedia Foundation / Cc-by-sa-3.0";
    assert_eq!(text(&t, "IFD0:Copyright").as_deref(), Some(copyright));
    assert_eq!(text(&t, "XMP-dc:Rights").as_deref(), Some(copyright));
    assert_eq!(text(&t, "IPTC:CopyrightNotice").as_deref(), Some(copyright));
    assert_eq!(text(&t, "IFD0:Orientation").as_deref(), Some("1"));
    assert_eq!(keys_where(&t, |k| k.contains("GPS")), Vec::<String>::new());
    let (w, h) = image::load_from_memory(&out)
        .unwrap()
        .into_rgb8()
        .dimensions();
    assert!(w < h, "upright: {w}×{h}");

    let cat = catalogue_json(svc).await;
    assert_eq!(cat["transforms"]["credit-256"]["metadata"], "copyright");
    assert_eq!(cat["transforms"]["credit-256"]["icc"], "convert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copyright_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start_with(embedded_config(dir.path()), catalogue(), true).await;
    scenario(&svc, "derivd").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copyright_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("metadata").await;
    let svc = start_with(cfg, catalogue(), true).await;
    scenario(&svc, &stack.bucket).await;
    svc.stop().await;
}
