//! Jobs/s on moto with one and then two single-slot workers (`worker.concurrency = 1`), in
//! one run, and the raw engine (`derivd transform`, one thread) on the same photos, for the
//! per-job service overhead. Also each worker's resident memory, idle and at its peak, for
//! sizing pods (deploy/README.md).
//!
//! A phase starts with its workers idle and its sources uploaded; its clock runs from the
//! first job sent to the queue being empty (nothing visible, nothing in flight).

use std::time::Instant;

use super::common::cluster::{Memory, Proc};
use super::common::moto_plain;
use super::common::outputs::{check, S3Bucket};
use super::*;

/// Sends `jobs` and waits until the queue is empty; jobs/s.
async fn timed_phase(sqs: &aws_sdk_sqs::Client, url: &str, jobs: &[Job]) -> f64 {
    let bodies: Vec<String> = jobs.iter().map(Job::message).collect();
    let started = Instant::now();
    moto_plain::send_all(sqs, url, &bodies).await;
    drained("a timed phase to drain", 600, || {
        moto_plain::depth(sqs, url)
    })
    .await;
    jobs.len() as f64 / started.elapsed().as_secs_f64()
}

/// Mean engine time per job (ms): `derivd transform` with one rayon thread over the corpus
/// photos, best of three passes; each file's row times sum to its one-decode job.
fn engine_ms_per_job(proc: &Proc, transforms: &[String]) -> f64 {
    let out = tempfile::tempdir().unwrap();
    let photos: Vec<String> = photos().iter().map(|p| p.display().to_string()).collect();
    let t = transforms.join(",");
    let mut args = vec!["transform", "-t", &t, "--out", out.path().to_str().unwrap()];
    args.extend(photos.iter().map(String::as_str));
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let run = proc
            .command(&args)
            .env("RAYON_NUM_THREADS", "1")
            .output()
            .expect("run transform");
        assert!(
            run.status.success(),
            "derivd transform: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let table = String::from_utf8(run.stdout).unwrap();
        let total: f64 = table
            .lines()
            .skip(1)
            .map(|l| {
                l.split_whitespace()
                    .last()
                    .unwrap()
                    .parse::<f64>()
                    .expect("MS column")
            })
            .sum();
        best = best.min(total / photos.len() as f64);
    }
    best
}

/// Mean in-worker job time (ms) from a process's `derivd_job_duration_seconds` histogram.
async fn in_worker_ms(proc: &Proc) -> f64 {
    let m = proc.metrics().await;
    1000.0 * m.sum("derivd_job_duration_seconds_sum", &[("outcome", "ok")])
        / m.sum("derivd_job_duration_seconds_count", &[("outcome", "ok")])
}

/// What the two phases measured.
struct Phases {
    one_worker: f64,
    two_workers: f64,
    in_worker_ms: f64,
    idle: Memory,
    peak_one_slot: u64,
}

/// Phase 1: `procs[0]` alone works through `one`; phase 2: both work through `two`.
async fn run_phases(
    procs: &mut [Proc],
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    one: &[Job],
    two: &[Job],
) -> Phases {
    procs[0].start().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = procs[0].memory();
    let one_worker = timed_phase(sqs, url, one).await;
    let in_worker_ms = in_worker_ms(&procs[0]).await;
    let peak_one_slot = procs[0].memory().peak;
    procs[1].start().await;
    let two_workers = timed_phase(sqs, url, two).await;
    Phases {
        one_worker,
        two_workers,
        in_worker_ms,
        idle,
        peak_one_slot,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_per_second_with_one_and_two_single_slot_workers() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = settings();
    let (s3, sqs) = (moto_plain::s3().await, moto_plain::sqs().await);
    let bucket = moto_plain::new_bucket(&s3, "scale-rate").await;
    let queue = moto_plain::new_queue_with_dlq(&sqs, "scale-rate", 5).await;
    let one = plan("rate-1", s.bench_jobs, &s.bench_transforms, false);
    let two = plan("rate-2", s.bench_jobs, &s.bench_transforms, false);
    upload(&s3, &bucket, &one).await;
    upload(&s3, &bucket, &two).await;
    let dir = tempfile::tempdir().unwrap();
    let mut procs = processes(dir.path(), "rate", 2, &aws_toml(&bucket, &queue.url, 1));
    let load_before = load_average();
    let p = run_phases(&mut procs, &sqs, &queue.url, &one, &two).await;

    let ok = sum_running(&mut procs, "derivd_jobs_total", &[("outcome", "ok")]).await;
    assert_eq!(
        ok as usize,
        one.len() + two.len(),
        "every job ran once and succeeded"
    );
    assert_eq!(
        moto_plain::depth(&sqs, &queue.dlq_url).await,
        0,
        "dead letters"
    );
    let memory = stop_all(&mut procs).await;
    let all: Vec<Job> = one.into_iter().chain(two).collect();
    check(
        &S3Bucket { client: s3, bucket },
        "derived/",
        &expected(&all),
    )
    .await;

    let engine_ms = engine_ms_per_job(&procs[0], &s.bench_transforms);
    let service_ms = 1000.0 / p.one_worker;
    report(serde_json::json!({
        "test": "rate-moto", "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "transforms": s.bench_transforms, "jobs_per_phase": s.bench_jobs,
        "one_worker_jobs_per_s": p.one_worker, "two_workers_jobs_per_s": p.two_workers,
        "ratio": p.two_workers / p.one_worker,
        "engine_ms_per_job": engine_ms, "service_ms_per_job": service_ms,
        "in_worker_ms_per_job": p.in_worker_ms, "overhead_ms_per_job": service_ms - engine_ms,
        "idle_rss_mib": mib(p.idle.rss), "peak_rss_one_slot_mib": mib(p.peak_one_slot),
        "peak_rss_mib": memory.iter().map(|m| mib(m.peak)).collect::<Vec<_>>(),
        "load_average_before_after": [load_before, load_average()],
    }));
    assert!(p.one_worker > 0.0 && p.two_workers > 0.0 && engine_ms > 0.0);
}
