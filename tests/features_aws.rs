//! Issue 14's features against moto (real S3, SQS and SNS APIs on loopback): source facts
//! in the notice and on `GET /v1/sources/{key}`, and signed URLs on `GET /v1/derived/…`.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use common::images::corpus_file;
use common::moto;
use common::service::{aws_stack, notice_with_id, start, AwsStack};
use derivd::config::Config;

use common::signed::TOKEN;

/// The test's moto stack and its config, with the bearer token on.
async fn stack(name: &str) -> (AwsStack, Config) {
    let (stack, mut cfg) = aws_stack(name).await;
    cfg.http.auth_token = Some(TOKEN.into());
    (stack, cfg)
}

async fn upload(bucket: &str, key: &str, bytes: Vec<u8>) {
    let s3 = moto::s3().await;
    let put = s3.put_object().bucket(bucket).key(key);
    put.body(ByteStream::from(bytes))
        .content_type("image/jpeg")
        .send()
        .await
        .unwrap();
}

async fn send(url: &str, body: &str) {
    let sqs = moto::sqs().await;
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_and_the_sources_route_carry_the_facts() {
    let (s, cfg) = stack("feat-facts").await;
    let svc = start(cfg, true).await;
    let source = "uploads/a photo+ü.jpg";
    let photo = corpus_file("photos/es_jolla_3264x2448.jpg");
    upload(&s.bucket, source, photo).await;
    let job =
        serde_json::json!({"source": source, "transforms": ["thumb-256", "web-1024"], "id": "f-1"});
    send(&s.jobs_url, &job.to_string()).await;
    let n = notice_with_id(&s.notices.queue_url, "f-1").await;
    assert_eq!(n["status"], "ok", "{n}");
    let facts = (3264, 2448, "image/jpeg");
    let base = svc.url("");
    let transforms = ["thumb-256", "web-1024"];
    common::facts::check(&base, Some(TOKEN), source, &n, facts, &transforms).await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_urls_redirect_to_presigned_urls_cached_no_longer_than_either() {
    let (s, mut cfg) = stack("feat-signed").await;
    cfg.http.url_signing_key = common::signed::keys();
    let svc = start(cfg, true).await;
    let photo = corpus_file("photos/es_jolla_3264x2448.jpg");
    upload(&s.bucket, "uploads/a b.jpg", photo).await;
    let path = format!(
        "/v1/derived/thumb-256/uploads/a%20b.jpg?bucket={}",
        s.bucket
    );
    let good = common::signed::check_reads(&svc.url(""), &path, 302).await;
    // The presigned URL lives 300 s; the redirect may be cached for less.
    assert!(common::signed::max_age(&good) <= 240);
    let location = good.headers()["location"].to_str().unwrap().to_string();
    let object = reqwest::get(&location).await.unwrap();
    assert_eq!(object.status(), 200, "{location}");
    assert_eq!(object.headers()["content-type"], "image/jpeg");

    // A URL signed to expire in 100 s: its redirect is cacheable for at most that.
    let soon = common::signed::signer(&[common::signed::NEW_KEY])
        .sign(&path, derivd::http::signing::now() + 100);
    let r = common::signed::client()
        .get(svc.url(&soon))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(common::signed::max_age(&r) <= 100);
    svc.stop().await;
}

/// 600×300 grey with a busy coloured subject in its top-left corner (x, y in 10..70).
fn corner_subject_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(600, 300, |x, y| {
        if (10..70).contains(&x) && (10..70).contains(&y) && (x / 4 + y / 4) % 2 == 0 {
            image::Rgb([220, 30, 30])
        } else if (10..70).contains(&x) && (10..70).contains(&y) {
            image::Rgb([30, 40, 210])
        } else {
            image::Rgb([120, 120, 120])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

async fn get_bytes(bucket: &str, key: &str) -> Option<Vec<u8>> {
    let s3 = moto::s3().await;
    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(out.body.collect().await.unwrap().into_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_focus_is_what_a_lost_fill_object_is_remade_at() {
    let (s, cfg) = stack("feat-focus").await;
    let svc = start(cfg, false).await;
    let src = "uploads/corner.png";
    upload(&s.bucket, src, corner_subject_png()).await;
    let focus = serde_json::json!({"x": 0.0667, "y": 0.1333});
    let job =
        serde_json::json!({"source": src, "transforms": ["thumb-128"], "focus": focus, "id": "c1"});
    send(&s.jobs_url, &job.to_string()).await;
    assert_eq!(
        notice_with_id(&s.notices.queue_url, "c1").await["status"],
        "ok"
    );
    let key = format!("derived/{src}/thumb-128.jpg");
    let first = get_bytes(&s.bucket, &key).await.unwrap();
    // The subject is ~25 × 25 px of the 128 px square; the centre crop has none of it.
    let crop = image::load_from_memory(&first).unwrap().to_rgb8();
    let coloured = crop
        .pixels()
        .filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60)
        .count();
    assert!(
        coloured > 200,
        "the focus crop misses the subject ({coloured} px)"
    );
    let m = get_bytes(&s.bucket, &format!("derived/{src}/_manifest.json")).await;
    let m: serde_json::Value = serde_json::from_slice(&m.unwrap()).unwrap();
    assert_eq!(m["focus"], focus);

    // Lost, then remade by a job without a focus (as repairs are): the same crop.
    let s3 = moto::s3().await;
    s3.delete_object()
        .bucket(&s.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let again = serde_json::json!({"source": src, "transforms": ["thumb-128"], "id": "c2"});
    send(&s.jobs_url, &again.to_string()).await;
    let n = notice_with_id(&s.notices.queue_url, "c2").await;
    assert_eq!(n["derived"].as_array().unwrap().len(), 1, "{n}");
    assert_eq!(get_bytes(&s.bucket, &key).await.unwrap(), first);
    svc.stop().await;
}
