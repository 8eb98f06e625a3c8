//! The two kill tests: three processes on one moto queue, two on one embedded data dir.

use std::time::Instant;

use super::common::outputs::{check, LocalBucket, S3Bucket};
use super::common::{embedded_queue, moto_plain};
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_on_one_moto_queue_survive_a_kill_9() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = settings();
    let (s3, sqs) = (moto_plain::s3().await, moto_plain::sqs().await);
    let bucket = moto_plain::new_bucket(&s3, "scale-out").await;
    let queue = moto_plain::new_queue_with_dlq(&sqs, "scale-out", 5).await;
    let jobs = plan("moto", s.sources, &s.transforms, true);
    upload(&s3, &bucket, &jobs).await;
    moto_plain::send_all(
        &sqs,
        &queue.url,
        &jobs.iter().map(Job::message).collect::<Vec<_>>(),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let mut procs = processes(dir.path(), "moto", 3, &aws_toml(&bucket, &queue.url, 2));
    let started = Instant::now();
    for p in procs.iter_mut() {
        p.start().await;
    }
    let in_flight = kill_midway(&mut procs, 1, jobs.len() as f64 / 3.0).await;
    drained("the job queue to drain", 300, || {
        moto_plain::depth(&sqs, &queue.url)
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        moto_plain::depth(&sqs, &queue.dlq_url).await,
        0,
        "dead letters"
    );
    let memory = stop_all(&mut procs).await;

    let checked = check(
        &S3Bucket { client: s3, bucket },
        "derived/",
        &expected(&jobs),
    )
    .await;
    report(serde_json::json!({
        "test": "kill-moto", "processes": 3, "slots": 2, "jobs": jobs.len(), "secs": secs,
        "killed_in_flight": in_flight, "sources": checked.sources,
        "derived_objects": checked.derived_objects,
        "peak_rss_mib": memory.iter().map(|m| mib(m.peak)).collect::<Vec<_>>(),
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_embedded_data_dir_survive_a_kill_9() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = settings();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let jobs = plan("embedded", s.sources, &s.transforms, true);
    let mut procs = processes(dir.path(), "embedded", 2, &embedded_toml(&data, 2));
    let submitted = Instant::now();
    submit_all(&procs[0], &jobs);
    eprintln!(
        "submitted {} jobs in {:.1} s",
        jobs.len(),
        submitted.elapsed().as_secs_f64()
    );
    assert_eq!(
        embedded_queue::depth(&data, "derivd-jobs"),
        jobs.len() as u64
    );

    let started = Instant::now();
    for p in procs.iter_mut() {
        p.start().await;
    }
    let in_flight = kill_midway(&mut procs, 0, jobs.len() as f64 / 3.0).await;
    drained("the embedded job queue to drain", 300, || {
        let d = embedded_queue::depth(&data, "derivd-jobs");
        async move { d }
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        embedded_queue::depth(&data, "derivd-jobs-dlq"),
        0,
        "dead letters"
    );
    let memory = stop_all(&mut procs).await;

    let checked = check(
        &LocalBucket::new(&data, "derivd"),
        "derived/",
        &expected(&jobs),
    )
    .await;
    report(serde_json::json!({
        "test": "kill-embedded", "processes": 2, "slots": 2, "jobs": jobs.len(), "secs": secs,
        "killed_in_flight": in_flight, "sources": checked.sources,
        "derived_objects": checked.derived_objects,
        "peak_rss_mib": memory.iter().map(|m| mib(m.peak)).collect::<Vec<_>>(),
    }));
}
