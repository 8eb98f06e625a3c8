//! The HTTP front end against browsers and slow clients (issue 15 items 3 and 4), on the
//! real service bound to loopback: Host allow-list and JSON-only job submission without a
//! token; header and body read timeouts, the connection cap, and bounded shutdown.

mod common;

use std::time::{Duration, Instant};

use derivd::config::Config;

use common::service::{embedded_config, start, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const JOB: &str = r#"{"source": "a.jpg", "transforms": ["thumb-256"]}"#;

/// Sends `head` (and `body`) raw and returns the status code of the answer.
async fn raw(svc: &Running, request: String) -> u16 {
    let mut s = TcpStream::connect(svc.addr.unwrap()).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out));
    read.await.expect("an answer").unwrap();
    let text = String::from_utf8_lossy(&out);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn post_jobs(host: &str, content_type: &str) -> String {
    format!(
        "POST /v1/jobs HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{JOB}",
        JOB.len()
    )
}

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_only_allowed_hosts_and_json_jobs_get_in() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(embedded_config(dir.path()), true).await;
    let port = svc.addr.unwrap().port();
    // The red-team request: a text/plain POST (no CORS preflight) under a rebound name.
    let attack = post_jobs("attacker.example", "text/plain");
    assert_eq!(raw(&svc, attack).await, 421);
    let rebound = post_jobs(&format!("attacker.example:{port}"), "application/json");
    assert_eq!(raw(&svc, rebound).await, 421);
    for path in [
        "/healthz",
        "/metrics",
        "/v1/catalogue",
        "/v1/derived/thumb-256/a.jpg",
    ] {
        assert_eq!(
            raw(&svc, get(path, "attacker.example")).await,
            421,
            "{path}"
        );
    }
    let no_host = "GET /v1/catalogue HTTP/1.0\r\n\r\n".to_string();
    assert_eq!(raw(&svc, no_host).await, 421);
    // SNS is not Host-guarded: it posts with its public name; the signature decides (403).
    let sns = "POST /v1/sns HTTP/1.1\r\nHost: derivd.example.com\r\nContent-Type: text/plain\r\n\
               Content-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_ne!(raw(&svc, sns.to_string()).await, 421);
    // Allowed names, with and without the port; JSON only.
    let local = format!("127.0.0.1:{port}");
    assert_eq!(raw(&svc, post_jobs(&local, "text/plain")).await, 415);
    assert_eq!(
        raw(
            &svc,
            post_jobs("localhost", "application/x-www-form-urlencoded")
        )
        .await,
        415
    );
    assert_eq!(raw(&svc, post_jobs(&local, "application/json")).await, 202);
    let utf8 = "application/json; charset=utf-8";
    assert_eq!(
        raw(&svc, post_jobs(&format!("localhost:{port}"), utf8)).await,
        202
    );
    assert_eq!(raw(&svc, get("/healthz", "[::1]")).await, 200);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_any_host_but_still_json_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.http.auth_token = Some("s3cret-token-0123456789".into());
    let svc = start(cfg, true).await;
    let c = reqwest::Client::new();
    let post = |ct: &str| {
        c.post(svc.url("/v1/jobs"))
            .bearer_auth("s3cret-token-0123456789")
            .header("host", "derivd.internal.example")
            .header("content-type", ct)
            .body(JOB)
            .send()
    };
    assert_eq!(post("text/plain").await.unwrap().status(), 415);
    assert_eq!(post("application/json").await.unwrap().status(), 202);
    svc.stop().await;
}

/// A config with 1-second read timeouts and a 2-second shutdown grace.
fn slow_client_config(dir: &std::path::Path) -> Config {
    let mut cfg = embedded_config(dir);
    cfg.http.header_timeout_secs = 1;
    cfg.http.body_timeout_secs = 1;
    cfg.worker.shutdown_grace_secs = 2;
    cfg
}

/// `n` connections: even ones send half a request head, odd ones a head and half a body.
async fn slow_clients(svc: &Running, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut s = TcpStream::connect(svc.addr.unwrap()).await.unwrap();
        let part = match i % 2 {
            0 => "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".to_string(),
            _ => format!(
                "POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{{\"source\"",
                JOB.len()
            ),
        };
        s.write_all(part.as_bytes()).await.unwrap();
        out.push(s);
    }
    out
}

/// Reads until the server closes `s`; how long that took from `since`, or `None` if the
/// server kept it open for `limit`.
async fn closed_within(mut s: TcpStream, since: Instant, limit: Duration) -> Option<Duration> {
    let mut buf = [0u8; 1024];
    let read_all = async { while !matches!(s.read(&mut buf).await, Ok(0) | Err(_)) {} };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(since.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_disconnected_and_do_not_block_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = slow_client_config(dir.path());
    // Fewer connections than slow clients: the cap holds, and the timeouts free it.
    cfg.http.max_connections = 20;
    let svc = start(cfg, true).await;
    let started = Instant::now();
    let slow = slow_clients(&svc, 50).await;
    // A normal request gets through once the timeouts free a slot.
    let ok = tokio::time::timeout(
        Duration::from_secs(5),
        raw(&svc, get("/healthz", "localhost")),
    );
    assert_eq!(ok.await.expect("served despite 50 slow clients"), 200);
    let closes = slow
        .into_iter()
        .map(|s| closed_within(s, started, Duration::from_secs(10)));
    let closed = futures_util::future::join_all(closes).await;
    let open = closed.iter().filter(|c| c.is_none()).count();
    assert_eq!(open, 0, "slow connections the server kept open: {closed:?}");
    let slowest = closed.iter().flatten().max().unwrap();
    // 50 clients, 20 at a time, 1 s each: three rounds at most, plus slack.
    assert!(*slowest < Duration::from_secs(6), "{slowest:?}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_within_the_grace_with_slow_clients_connected() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = slow_client_config(dir.path());
    // Timeouts far beyond the grace: only the grace can end these connections.
    cfg.http.header_timeout_secs = 60;
    cfg.http.body_timeout_secs = 60;
    let svc = start(cfg, true).await;
    let slow = slow_clients(&svc, 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let Running { token, handle, .. } = svc;
    token.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(10), handle).await;
    stopped.expect("stopped").unwrap().unwrap();
    let took = started.elapsed();
    // grace 2 s (the job consumer's poll wait is 1 s), plus slack.
    assert!(took < Duration::from_secs(4), "shutdown took {took:?}");
    drop(slow);
}
