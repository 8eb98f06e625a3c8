//! Format negotiation through the whole service, on both backends (embedded: local folder +
//! SQLite; aws: moto's S3/SQS/SNS): a transform with variants makes every format from one
//! job under its own key, records each in a version-2 manifest, is listed with its
//! variants in the catalogue, answers `GET /v1/derived/…` with the variant `Accept`
//! prefers (`Vary: Accept`, 406 for none), and ensure-on-read and repair remake only the
//! variant that is missing.
//! Run: `MOTO_PORT=5105 scripts/test.sh --test variants` (the aws test needs moto).

mod common;

use std::time::Duration;

use common::images::corpus_file;
use common::service::{
    aws_stack, catalogue_json, embedded_config, eventually, metric, start_with, Running,
};
use common::source_put;
use derivd::catalogue::{Catalogue, Transform};
use derivd::config::Config;
use derivd::keys::KeyLayout;
use reqwest::StatusCode;

const WAIT: Duration = Duration::from_secs(90);
const SOURCE: &str = "uploads/a photo ü.jpg";
const SOURCE_URL: &str = "uploads/a%20photo%20%C3%BC.jpg";

fn catalogue() -> Catalogue {
    let card = r#"
description = "A card picture in the best format the reader takes"
accepts = ["image/*"]
variants = ["webp", {format = "png"}, "jpeg"]
[output]
format = "jpeg"
quality = 75
[resize]
mode = "fit"
width = 200
height = 200
"#;
    let mut all: Vec<Transform> = Catalogue::built_in(8192)
        .unwrap()
        .iter()
        .map(|t| (**t).clone())
        .collect();
    all.push(Transform::parse("card-200", card, 8192).unwrap());
    Catalogue::from_transforms(all)
}

async fn object(svc: &Running, bucket: &str, key: &str) -> Option<bytes::Bytes> {
    svc.app
        .store
        .get(bucket, key)
        .await
        .unwrap()
        .map(|o| o.bytes)
}

/// Objects this service wrote for a manifest entry (`card-200.webp`).
fn made(svc: &Running, entry: &str) -> f64 {
    let label = format!("transform=\"{entry}\"");
    metric(&svc.app, "derivd_derived_objects_total", &[&label])
}

/// GET of the transform with `accept`, redirects not followed.
async fn read(svc: &Running, bucket: &str, accept: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = svc.url(&format!(
        "/v1/derived/card-200/{SOURCE_URL}?bucket={bucket}"
    ));
    let mut req = client.get(url);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    req.send().await.unwrap()
}

/// The extension of what a read answered with: from its content type (embedded: the
/// bytes) or its presigned URL's key (aws: a 302). Every answer must say `Vary: Accept`.
fn answered(r: &reqwest::Response) -> String {
    let h = r.headers();
    assert_eq!(h.get("vary").map(|v| v.to_str().unwrap()), Some("accept"));
    match r.status() {
        StatusCode::OK => match h["content-type"].to_str().unwrap() {
            "image/webp" => "webp".into(),
            "image/png" => "png".into(),
            "image/jpeg" => "jpg".into(),
            other => panic!("content type {other}"),
        },
        StatusCode::FOUND => {
            let loc = h["location"].to_str().unwrap();
            let path = loc.split('?').next().unwrap();
            path.rsplit('.').next().unwrap().to_string()
        }
        s => panic!("status {s}"),
    }
}

async fn counted(svc: &Running, entry: &str, n: f64) {
    let what = format!("{entry} made {n} times");
    eventually(WAIT, &what, || async {
        (made(svc, entry) == n).then_some(())
    })
    .await;
}

/// One job makes every variant, each under its key, all recorded and listed.
async fn one_job_makes_every_variant(svc: &Running, bucket: &str) {
    let photo = corpus_file("photos/es_jolla_3264x2448.jpg");
    let put = source_put(SOURCE, photo);
    svc.app.store.put(bucket, put).await.unwrap();
    let job = serde_json::json!({"source": SOURCE, "transforms": ["card-200"], "id": "v-1"});
    svc.app.jobs.send(&job.to_string()).await.unwrap();
    let magic: [(&str, &[u8]); 3] = [("webp", b"RIFF"), ("png", b"\x89PNG"), ("jpg", b"\xff\xd8")];
    for (ext, magic) in magic {
        let k = key(ext);
        let bytes = eventually(WAIT, ext, || object(svc, bucket, &k)).await;
        assert!(bytes.starts_with(magic), "{ext}");
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (200, 150), "{ext}");
    }
    let layout = KeyLayout::default();
    let (m, _) = eventually(WAIT, "manifest", || async {
        let m = derivd::manifest::read(svc.app.store.as_ref(), bucket, &layout, SOURCE).await;
        m.unwrap().filter(|(m, _)| m.derived.len() == 3)
    })
    .await;
    assert_eq!(m.version, 2);
    assert_eq!(m.derived["card-200.webp"].content_type, "image/webp");
    assert_eq!(m.derived["card-200.jpg"].key, key("jpg"));

    let cat = catalogue_json(svc).await;
    let variants = cat["transforms"]["card-200"]["variants"]
        .as_array()
        .unwrap();
    let types: Vec<_> = variants.iter().map(|v| &v["output_media_type"]).collect();
    assert_eq!(types, ["image/webp", "image/png", "image/jpeg"]);
    let template = variants[0]["key_template"].as_str().unwrap();
    assert!(template.ends_with("card-200.webp"), "{template}");
}

fn key(ext: &str) -> String {
    format!("derived/{SOURCE}/card-200.{ext}")
}

async fn scenario(svc: &Running, bucket: &str) {
    one_job_makes_every_variant(svc, bucket).await;
    let chrome = "image/avif,image/webp,image/apng,*/*;q=0.8";
    assert_eq!(answered(&read(svc, bucket, Some(chrome)).await), "webp");
    assert_eq!(answered(&read(svc, bucket, Some("image/png")).await), "png");
    assert_eq!(answered(&read(svc, bucket, Some("*/*")).await), "jpg");
    assert_eq!(answered(&read(svc, bucket, None).await), "jpg");
    let refused = read(svc, bucket, Some("image/gif, image/webp;q=0")).await;
    assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(refused.headers()["vary"], "accept");

    // Lose the WebP: a read that wants WebP remakes it, and only it.
    assert_eq!(
        (made(svc, "card-200.webp"), made(svc, "card-200.jpg")),
        (1.0, 1.0)
    );
    svc.app.store.delete(bucket, &key("webp")).await.unwrap();
    assert_eq!(
        answered(&read(svc, bucket, Some("image/webp")).await),
        "webp"
    );
    assert!(object(svc, bucket, &key("webp")).await.is_some());
    assert_eq!(made(svc, "card-200.webp"), 2.0);
    assert_eq!(
        (made(svc, "card-200.png"), made(svc, "card-200.jpg")),
        (1.0, 1.0)
    );

    // Lose the JPEG: its repair remakes it, and only it.
    svc.app.store.delete(bucket, &key("jpg")).await.unwrap();
    let repair = svc.app.repair.clone().expect("repair queue configured");
    let event = derivd::repair::lost_object_event(bucket, &key("jpg"));
    repair.send(&event).await.unwrap();
    counted(svc, "card-200.jpg", 2.0).await;
    assert!(object(svc, bucket, &key("jpg")).await.is_some());
    assert_eq!(
        (made(svc, "card-200.webp"), made(svc, "card-200.png")),
        (2.0, 1.0)
    );

    // A job may name one variant.
    let one = serde_json::json!({"source": SOURCE, "transforms": ["card-200.png"], "force": true});
    svc.app.jobs.send(&one.to_string()).await.unwrap();
    counted(svc, "card-200.png", 2.0).await;
    assert_eq!(
        (made(svc, "card-200.webp"), made(svc, "card-200.jpg")),
        (2.0, 2.0)
    );
}

fn no_read_cache(mut cfg: Config) -> Config {
    // Every read checks the object: the test deletes objects behind derivd's back.
    cfg.http.ensure_ttl_secs = 0;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variants_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = no_read_cache(embedded_config(dir.path()));
    cfg.queue.repair = Some("derivd-repair".into());
    let svc = start_with(cfg, catalogue(), true).await;
    scenario(&svc, "derivd").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variants_on_the_aws_backend() {
    let (stack, cfg) = aws_stack("variants").await;
    let svc = start_with(no_read_cache(cfg), catalogue(), true).await;
    scenario(&svc, &stack.bucket).await;
    svc.stop().await;
}
