//! Shutdown and restart of the real `derivd serve` binary on the embedded backend
//! (issue 15): SIGTERM during a busy run exits 0 within the grace period with nothing
//! unfinished deleted — every job is either complete (all its derived objects and a
//! complete manifest) or its message is back in the queue, never a partial manifest — and
//! a `kill -9` in the middle of a run, then a start again, loses no job.
//!
//! Run: `cargo test --test lifecycle` (no moto needed).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::cluster::{wait_for, Proc, ProcSpec};
use common::embedded_queue;
use common::images::corpus;
use common::outputs::{check, BucketReader, LocalBucket};
use derivd::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use derivd::queue::Queue;
use derivd::storage::local::LocalStore;
use derivd::storage::{ObjectStore, PutRequest, StorageClass};

const JOBS: usize = 12;
const TRANSFORMS: [&str; 2] = ["thumb-256", "web-1024"];
/// One test at a time: each measures a process's timing on a shared 2-core machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const BUCKET: &str = "derivd";

fn config(data: &Path, grace_secs: u64) -> String {
    format!(
        "[storage]\ndata_dir = {:?}\n[queue]\nwait_secs = 1\nvisibility_timeout_secs = 6\n\
         [worker]\nconcurrency = 2\nretry_backoff_secs = 1\nshutdown_grace_secs = {grace_secs}\n",
        data.display().to_string()
    )
}

fn photos() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus().join("photos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no corpus photos");
    v
}

/// Uploads `JOBS` sources and queues one job for each; source key → transforms.
async fn queue_jobs(data: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let store = LocalStore::new(data.join("buckets")).unwrap();
    let settings = EmbeddedQueueSettings::default();
    let queue = EmbeddedQueue::open(&data.join("queue.sqlite3"), "derivd-jobs", settings).unwrap();
    let photos = photos();
    let mut expected = BTreeMap::new();
    for i in 0..JOBS {
        let photo = &photos[i % photos.len()];
        let source = format!(
            "busy/{i:02} {}",
            photo.file_name().unwrap().to_string_lossy()
        );
        let req = PutRequest {
            key: source.clone(),
            bytes: std::fs::read(photo).unwrap().into(),
            content_type: "image/jpeg".into(),
            storage_class: StorageClass::Standard,
            cache_control: None,
            metadata: BTreeMap::new(),
            condition: Default::default(),
        };
        store.put(BUCKET, req).await.unwrap();
        let job = serde_json::json!({"source": source, "transforms": TRANSFORMS});
        queue.send(&job.to_string()).await.unwrap();
        let transforms = TRANSFORMS.iter().map(|t| t.to_string()).collect();
        expected.insert(source, transforms);
    }
    expected
}

fn ok_notices(data: &Path) -> usize {
    let text = std::fs::read_to_string(data.join("notices.jsonl")).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(r#""status":"ok""#))
        .count()
}

async fn started(dir: &Path, data: &Path, grace_secs: u64) -> Proc {
    let mut serve = Proc::new(dir, ProcSpec::new("serve", &config(data, grace_secs)));
    serve.start().await;
    serve
}

/// Sources whose manifest exists; panics on a manifest that is partial (lists other
/// transforms than its job asked for) or names an object that is not there.
async fn complete_sources(data: &Path, expected: &BTreeMap<String, BTreeSet<String>>) -> usize {
    let bucket = LocalBucket::new(data, BUCKET);
    let mut complete = 0;
    for (source, transforms) in expected {
        let key = format!("derived/{source}/_manifest.json");
        let Some(stored) = bucket.get(&key).await else {
            continue;
        };
        let m: serde_json::Value = serde_json::from_slice(&stored.bytes).unwrap();
        let entries = m["derived"].as_object().unwrap();
        let listed: BTreeSet<String> = entries.keys().cloned().collect();
        assert_eq!(&listed, transforms, "partial manifest for {source}");
        for e in entries.values() {
            let derived = e["key"].as_str().unwrap();
            assert!(bucket.get(derived).await.is_some(), "{derived} missing");
        }
        complete += 1;
    }
    complete
}

async fn wait_until_done(data: &Path, n: usize) {
    let what = format!("{n} jobs done");
    wait_for(&what, 300, || async {
        (ok_notices(data) >= n).then_some(())
    })
    .await;
}

/// After a restart, the rest of the run completes and every job's output is consistent.
async fn all_done_after_restart(
    serve: &mut Proc,
    data: &Path,
    expected: &BTreeMap<String, BTreeSet<String>>,
) {
    serve.start().await;
    wait_for("the job queue to drain", 300, || async {
        (embedded_queue::depth(data, "derivd-jobs") == 0).then_some(())
    })
    .await;
    assert_eq!(embedded_queue::depth(data, "derivd-jobs-dlq"), 0);
    let checked = check(&LocalBucket::new(data, BUCKET), "derived/", expected).await;
    assert_eq!(checked.sources, JOBS);
    assert_eq!(checked.derived_objects, JOBS * TRANSFORMS.len());
    let status = serve.sigterm(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");
}

/// The `in_flight` and `released` counts of the drain that SIGTERM started, from the log.
fn drain_counts(log: &str) -> (usize, usize) {
    let field = |line: &str, name: &str| -> usize {
        let plain: String = line.chars().filter(|c| !c.is_control()).collect();
        let after = plain.split(&format!("{name}=")).nth(1).unwrap_or("0");
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or(0)
    };
    let jobs_line = |needle: &str| {
        log.lines()
            .rfind(|l| l.contains(needle) && l.contains(r#"queue="jobs""#))
            .unwrap_or_default()
            .to_owned()
    };
    (
        field(&jobs_line("draining"), "in_flight"),
        field(&jobs_line("consumer stopped"), "released"),
    )
}

async fn sigterm_mid_run(grace_secs: u64) -> (usize, usize, Duration) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut serve = started(dir.path(), &data, grace_secs).await;
    let expected = queue_jobs(&data).await;
    wait_until_done(&data, 2).await;
    let sent = Instant::now();
    let status = serve.sigterm(Duration::from_secs(grace_secs + 20)).await;
    let took = sent.elapsed();
    let log = serve.log();
    assert!(status.success(), "exit {status}:\n{log}");
    // The grace, plus the time to hand unfinished messages back and close the queue.
    assert!(
        took < Duration::from_secs(grace_secs + 3),
        "SIGTERM took {took:?} with a {grace_secs} s grace:\n{log}"
    );
    let (in_flight, released) = drain_counts(&log);
    assert!(in_flight >= 1, "SIGTERM found the workers idle:\n{log}");

    // Nothing unfinished was deleted: each job is complete or its message is still queued
    // (at most `concurrency` more, finished but stopped before their delete).
    let complete = complete_sources(&data, &expected).await;
    let queued = embedded_queue::depth(&data, "derivd-jobs") as usize;
    assert!(
        queued >= JOBS - complete && queued <= JOBS - complete + 2,
        "{complete} complete, {queued} queued of {JOBS}"
    );
    assert!(complete < JOBS, "the run was over before SIGTERM");
    all_done_after_restart(&mut serve, &data, &expected).await;
    (in_flight, released, took)
}

/// A grace long enough for the jobs in flight: they finish, their messages are deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_busy_finishes_in_flight_jobs_and_exits_0() {
    let (in_flight, released, took) = sigterm_mid_run(30).await;
    eprintln!("in flight {in_flight}, released {released}, exit after {took:?}");
    assert_eq!(released, 0, "jobs within the grace finish");
}

/// A grace shorter than any job (none): the process still exits at once although its
/// decodes run on (libjpeg-turbo cannot be interrupted; before the fix, exit waited for
/// them: 12 s with a 1 s grace); the unfinished messages are handed back (visible at once),
/// and a restart completes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_short_grace_hands_unfinished_jobs_back() {
    let (in_flight, released, took) = sigterm_mid_run(0).await;
    eprintln!("in flight {in_flight}, released {released}, exit after {took:?}");
    assert!(released >= 1, "no job in flight was handed back");
}

/// `kill -9` mid-run, then a start again on the same data dir: every job is done, once
/// consistent, nothing dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_restart_loses_no_job() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut serve = started(dir.path(), &data, 10).await;
    let expected = queue_jobs(&data).await;
    wait_until_done(&data, 3).await;
    serve.kill9();
    let complete = complete_sources(&data, &expected).await;
    assert!(complete < JOBS, "the run was over before the kill");
    all_done_after_restart(&mut serve, &data, &expected).await;
}
