//! 1,000 bad messages in a row leave the `derivd serve` process's resident memory flat.
//!
//! The real binary (tests/common/cluster.rs), so VmRSS is the process's own and nothing
//! of the test's. A warm-up of 500 bad messages first lets allocator arenas, caches and
//! thread stacks reach their working size; then 1,000 more (every kind the matrix has that
//! reaches a worker: unparseable, wrong types, unknown transform, missing, empty, truncated,
//! header bombs, the iCCP and scan bombs) must not grow VmRSS by more than
//! [`MAX_GROWTH`]. A leak of 16 KiB per message (a kept body, a never-released
//! reservation, an abandoned task) would show as ≥ 16 MiB.

use std::path::Path;
use std::time::Duration;

use derivd::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use derivd::queue::Queue;
use derivd::storage::local::LocalStore;
use derivd::storage::ObjectStore;

use crate::common::bombs;
use crate::common::cluster::{wait_for, Proc, ProcSpec};
use crate::common::embedded_queue;
use crate::common::images::corpus_file;

/// Allowed VmRSS growth over the 1,000 messages after the warm-up. Measured (debug build,
/// 2 cores): 2.3–3.5 MiB after a 500-message warm-up, and +0.7–1.7 MiB per further 1,000
/// (allocator arenas and SQLite's page cache settling, not growing with the count).
const MAX_GROWTH: u64 = 16 << 20;
/// Messages before the first measurement.
const WARM_UP: usize = 500;

fn config(data: &Path) -> String {
    format!(
        "[storage]\ndata_dir = {:?}\n[queue]\nwait_secs = 1\n[worker]\nconcurrency = 2\n\
         retry_backoff_secs = 1\n",
        data.display().to_string()
    )
}

async fn put_sources(data: &Path) {
    let store = LocalStore::new(data.join("buckets")).unwrap();
    let photo = corpus_file("photos/es_jolla_3264x2448.jpg");
    let sources = [
        ("empty.jpg", Vec::new()),
        ("cut.jpg", photo[..300].to_vec()),
        ("bomb.png", bombs::png_claiming(50_000, 50_000)),
        ("bomb.jpg", bombs::jpeg_claiming(50_000, 50_000)),
        ("icc.png", bombs::png_iccp_bomb(700 << 20)),
        (
            "scans.jpg",
            bombs::scan_bomb(&bombs::progressive_jpeg(8000, 8000), 3000),
        ),
    ];
    for (key, bytes) in sources {
        let req = crate::common::source_put(key, bytes);
        store.put("derivd", req).await.unwrap();
    }
}

fn bad_message(i: usize) -> String {
    let job = |s: &str| format!(r#"{{"source": "{s}", "id": "bad-{i}"}}"#);
    match i % 10 {
        0 => format!("not json {i}"),
        1 => format!(r#"{{"source": {i}}}"#),
        2 => format!(r#"{{"source": "a.jpg", "transforms": ["no-such-{i}"]}}"#),
        3 => job(&format!("missing/{i}.jpg")),
        4 => job("empty.jpg"),
        5 => job("cut.jpg"),
        6 => job("bomb.png"),
        7 => job("bomb.jpg"),
        8 => job("icc.png"),
        _ => job("scans.jpg"),
    }
}

/// Sends messages `from..to` and waits until the queue has drained them.
async fn play(queue: &EmbeddedQueue, data: &Path, from: usize, to: usize) {
    for i in from..to {
        queue.send(&bad_message(i)).await.unwrap();
    }
    wait_for("the bad messages to drain", 300, || async {
        (embedded_queue::depth(data, "derivd-jobs") == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_bad_messages_leave_resident_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut serve = Proc::new(dir.path(), ProcSpec::new("serve", &config(&data)));
    serve.start().await;
    put_sources(&data).await;
    let queue = EmbeddedQueue::open(
        &data.join("queue.sqlite3"),
        "derivd-jobs",
        EmbeddedQueueSettings::default(),
    )
    .unwrap();
    play(&queue, &data, 0, WARM_UP).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = serve.memory();
    let started = std::time::Instant::now();
    play(&queue, &data, WARM_UP, WARM_UP + 1000).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = serve.memory();
    let growth = after.rss.saturating_sub(before.rss);
    eprintln!(
        "VmRSS {} KiB -> {} KiB (growth {} KiB, bound {} KiB); peak {} KiB; 1,000 messages in {:?}",
        before.rss >> 10,
        after.rss >> 10,
        growth >> 10,
        MAX_GROWTH >> 10,
        after.peak >> 10,
        started.elapsed()
    );
    assert!(serve.is_running(), "serve died:\n{}", serve.log());
    let dropped = serve
        .metrics()
        .await
        .sum("derivd_jobs_total", &[("outcome", "dropped")]);
    assert_eq!(dropped, 1500.0, "every bad message dropped");
    assert_eq!(embedded_queue::depth(&data, "derivd-jobs-dlq"), 0);
    assert!(
        growth <= MAX_GROWTH,
        "resident memory grew {} KiB over 1,000 bad messages",
        growth >> 10
    );
    let status = serve.sigterm(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");
}
