//! The AVIF output through the whole service, on both backends (embedded: local folder +
//! SQLite; aws: moto's S3/SQS/SNS): a job asking for `preview-512-avif` on a JPEG photo and
//! on a PNG with alpha writes `image/avif` objects that decode (through libheif) at the
//! fitted size, with alpha where the source had it; the catalogue lists the transform.
//! Run: `MOTO_PORT=5204 scripts/test.sh --test avif_service` (the aws test needs moto).

mod common;

use std::time::Duration;

use common::images::corpus_file;
use common::service::{aws_stack, catalogue_json, embedded_config, eventually, start, Running};
use derivd::engine::stages::decode_avif;
use derivd::storage::Object;

const WAIT: Duration = Duration::from_secs(120);
const PHOTO: &str = "uploads/jolla phot ü.jpg";
const ICON: &str = "uploads/alpha.png";

fn alpha_png() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(640, 320, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, 40, (x * 255 / 639) as u8])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

async fn derived(svc: &Running, bucket: &str, source: &str) -> Object {
    let key = format!("derived/{source}/preview-512-avif.avif");
    eventually(WAIT, &key, || async {
        svc.app.store.get(bucket, &key).await.unwrap()
    })
    .await
}

async fn scenario(svc: &Running, bucket: &str) {
    let photo = corpus_file("photos/es_jolla_3264x2448.jpg");
    for (key, bytes) in [(PHOTO, photo), (ICON, alpha_png())] {
        let req = common::source_put(key, bytes);
        svc.app.store.put(bucket, req).await.unwrap();
    }
    for source in [PHOTO, ICON] {
        let job = serde_json::json!({"source": source, "transforms": ["preview-512-avif"]});
        svc.app.jobs.send(&job.to_string()).await.unwrap();
    }
    for (source, size, channels) in [(PHOTO, (512, 384), 3), (ICON, (512, 256), 4)] {
        let obj = derived(svc, bucket, source).await;
        assert_eq!(
            obj.meta.content_type.as_deref(),
            Some("image/avif"),
            "{source}"
        );
        assert_eq!(&obj.bytes[4..12], b"ftypavif", "{source}");
        let d = decode_avif(&obj.bytes).unwrap();
        assert_eq!((d.width, d.height), size, "{source}");
        assert_eq!(
            d.channels, channels,
            "{source}: alpha kept exactly when there was alpha"
        );
    }
    let cat = catalogue_json(svc).await;
    let t = &cat["transforms"]["preview-512-avif"];
    assert_eq!(t["output_media_type"], "image/avif", "{t}");
    assert_eq!(t["extension"], "avif", "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avif_outputs_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), true).await;
    scenario(&svc, "derivd").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avif_outputs_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("avif").await;
    let bucket = stack.bucket;
    let svc = start(cfg, true).await;
    scenario(&svc, &bucket).await;
    svc.stop().await;
}
