//! The `derivd` binary as a user runs it: transform, catalogue, and serve's SIGTERM drain.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::images::corpus;

fn derivd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_derivd"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DERIVD_") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn transform_writes_the_key_layout_and_prints_a_table() {
    let out_dir = tempfile::tempdir().unwrap();
    let photos = corpus().join("photos");
    let out = derivd()
        .arg("transform")
        .arg(photos.join("es_jolla_3264x2448.jpg"))
        .arg(photos.join("wm_Carrie_3000x4000.jpg"))
        .args(["--transform", "thumb-256,web-1024", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("wm_Carrie_3000x4000.jpg") && table.contains("768x1024"),
        "{table}"
    );
    assert!(table.contains("256x192"), "{table}");
    for f in [
        "es_jolla_3264x2448.jpg/thumb-256.jpg",
        "wm_Carrie_3000x4000.jpg/web-1024.jpg",
    ] {
        let p = out_dir.path().join("derived").join(f);
        assert!(image::open(&p).is_ok(), "{}", p.display());
    }
}

#[test]
fn transform_reports_bad_files_and_still_processes_the_rest() {
    let out_dir = tempfile::tempdir().unwrap();
    // BMP: recognised, and a format derivd does not decode.
    let bmp = out_dir.path().join("unsupported.bmp");
    std::fs::write(&bmp, b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0").unwrap();
    let out = derivd()
        .arg("transform")
        .arg(corpus().join("malformed/sharp_truncated.png"))
        .arg(&bmp)
        .arg(corpus().join("formats/sharp_palette.png"))
        .args(["-t", "thumb-128", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sharp_truncated.png:"), "{err}");
    assert!(err.contains("unsupported.bmp: unsupported format"), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.contains(".png:") || l.contains(".bmp:"))
            .count(),
        2
    );
    assert!(out_dir
        .path()
        .join("derived/sharp_palette.png/thumb-128.jpg")
        .is_file());
    // Same base name twice is refused up front.
    let a = corpus().join("photos/es_jolla_3264x2448.jpg");
    let out = derivd()
        .arg("transform")
        .args([&a, &a])
        .args(["-t", "thumb-128", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn catalogue_json_matches_the_transforms_folder() {
    let out = derivd().args(["catalogue", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = v["transforms"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        names,
        [
            "icon-64-png",
            "page-preview-1024",
            "page-thumb-256",
            "poster-640",
            "poster-best-320",
            "preview-512",
            "preview-512-avif",
            "thumb-128",
            "thumb-256",
            "web-1024",
            "web-2048"
        ]
    );
    // A bad config key is named.
    let out = derivd()
        .args(["catalogue"])
        .env("DERIVD_LIMITS__MAX_OUTPUT_SIDEZ", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_output_sidez"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    Some(buf)
}

#[test]
fn sigterm_lets_the_running_job_finish_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = |c: &mut Command| {
        c.env("DERIVD_STORAGE__DATA_DIR", dir.path())
            .env("DERIVD_HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("DERIVD_QUEUE__WAIT_SECS", "1")
            .env("DERIVD_WORKER__CONCURRENCY", "1");
    };
    let mut serve = derivd();
    serve
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    env(&mut serve);
    let mut child = serve.spawn().unwrap();
    let start = Instant::now();
    while get(port, "/healthz").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut submit = derivd();
    submit
        .args(["submit", "big.jpg", "--upload"])
        .arg(corpus().join("photos/es_olympus_ep3_4032x3024.jpg"));
    env(&mut submit);
    assert!(submit.output().unwrap().status.success());
    // Wait until the job is running, then ask the server to stop.
    let start = Instant::now();
    loop {
        let m = get(port, "/metrics").unwrap_or_default();
        if m.contains("derivd_jobs_in_flight 1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "job never started: {m}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "did not exit within the grace period"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let notices = std::fs::read_to_string(dir.path().join("notices.jsonl")).unwrap();
    assert!(
        notices.contains("\"status\":\"ok\""),
        "in-flight job did not finish: {notices}"
    );
    assert!(dir.path().join("buckets").is_dir());
}
