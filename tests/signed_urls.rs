//! Signed URLs for public reads (issue 14) on the embedded backend, and `derivd sign-url`.
//! The same checks against moto are in `tests/features_aws.rs`.

mod common;

use common::images::corpus_file;
use common::service::{embedded_config, start};
use common::signed::{self, NEW_KEY, OLD_KEY, TOKEN};
use derivd::storage::{PutRequest, StorageClass};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_urls_replace_the_token_for_reads_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.http.auth_token = Some(TOKEN.into());
    cfg.http.url_signing_key = signed::keys();
    let svc = start(cfg, true).await;
    let put = PutRequest {
        key: "uploads/a b.jpg".into(),
        bytes: corpus_file("photos/es_jolla_3264x2448.jpg").into(),
        content_type: "image/jpeg".into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: Default::default(),
        condition: Default::default(),
    };
    svc.app.store.put("derivd", put).await.unwrap();
    let path = "/v1/derived/thumb-256/uploads/a%20b.jpg?bucket=derivd";
    let good = signed::check_reads(&svc.url(""), path, 200).await;
    assert_eq!(good.headers()["content-type"], "image/jpeg");
    assert!(!good.bytes().await.unwrap().is_empty());
    svc.stop().await;
}

#[test]
fn sign_url_prints_a_url_the_service_accepts() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_derivd"))
        .args(["sign-url", "/v1/derived/thumb-256/a%20b.jpg?bucket=x"])
        .args(["--expires-in", "600", "--base", "https://img.example.com/"])
        .env(
            "DERIVD_HTTP__URL_SIGNING_KEY",
            format!(r#"["{NEW_KEY}", "{OLD_KEY}"]"#),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap();
    let rest = url.trim().strip_prefix("https://img.example.com").unwrap();
    let (path, query) = rest.split_once('?').unwrap();
    assert_eq!(path, "/v1/derived/thumb-256/a%20b.jpg");
    let expires = signed::signer(&[NEW_KEY])
        .verify("GET", path, Some(query), derivd::http::signing::now())
        .unwrap();
    let left = expires - derivd::http::signing::now();
    assert!((590..=600).contains(&left), "{left}");
    // Signed with the newest key: a server that dropped the old one accepts it too.
    assert!(signed::signer(&[OLD_KEY])
        .verify("GET", path, Some(query), 0)
        .is_err());

    let none = std::process::Command::new(env!("CARGO_BIN_EXE_derivd"))
        .args(["sign-url", "/v1/derived/thumb-256/a.jpg"])
        .output()
        .unwrap();
    assert!(!none.status.success(), "signed without a key");
}
