//! Soak: real `derivd serve` processes on one moto queue and bucket, every AWS call they
//! make going through the fault proxy at 10 % random faults (503 SlowDown, 500, resets
//! before and after moto acted, latency), three `kill -9`s at moments drawn from a seed, and
//! planted poison: malformed messages (must end in the rejects queue with their reason) and
//! jobs whose source GET always answers 500 (must end in the dead-letter queue after
//! maxReceiveCount receives).
//!
//! Afterwards: every expected derived object exists with the right metadata and storage
//! class, every manifest is consistent (`common::outputs::check`), the job queue is empty,
//! and the rejects and dead-letter queues hold exactly the planted poison (a message may be
//! kept twice: delivery is at least once, and a reset after moto acted repeats a send).
//! It prints jobs, faults injected by kind, kills, retries, the seed and the wall time.
//!
//! Size and replay: `DERIVD_SOAK_JOBS` (default 200, CI's size), `DERIVD_SOAK_SEED` (default
//! random; the printout names it), `DERIVD_SOAK_PROCESSES` (3), `DERIVD_SOAK_FAULT_RATE`
//! (0.10). A seed replays the same plan, kill moments and fault sequence; which calls the
//! faults land on depends on timing. Run: `MOTO_PORT=5101 scripts/test.sh --test soak`
//! (`-- --nocapture` for the printout).

#[path = "../common/mod.rs"]
mod common;
mod plan;
mod verify;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::cluster::{wait_for, Proc, ProcSpec};
use common::fault_proxy::{Chaos, FaultProxy, Match};
use common::moto_plain;
use futures_util::StreamExt;
use plan::{Kill, Plan, Settings};

/// maxReceiveCount of the job queue's redrive policy.
const MAX_RECEIVES: u32 = 5;

fn config(proxy: &FaultProxy, bucket: &str, jobs: &str, rejects: &str, topic: &str) -> String {
    format!(
        "backend = \"aws\"\n[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n\
         retry_initial_backoff_ms = 100\n\
         [storage]\ndefault_bucket = \"{bucket}\"\n[[storage.buckets]]\nsource = \"{bucket}\"\n\
         [queue]\njobs = \"{jobs}\"\nrejects = \"{rejects}\"\nmax_receives = {MAX_RECEIVES}\n\
         visibility_timeout_secs = 10\nwait_secs = 1\n\
         [worker]\nconcurrency = 2\njob_timeout_secs = 30\nretry_backoff_secs = 1\n\
         shutdown_grace_secs = 10\n[notices]\nsns_topic_arn = \"{topic}\"\n",
        proxy.url()
    )
}

async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, plan: &Plan) {
    futures_util::stream::iter(&plan.uploads)
        .map(|(key, photo)| async move {
            let body = aws_sdk_s3::primitives::ByteStream::from(std::fs::read(photo).unwrap());
            let op = s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type("image/jpeg");
            op.body(body).send().await
        })
        .buffer_unordered(8)
        .for_each(|r| async move {
            r.expect("upload source");
        })
        .await;
}

/// Kills each victim with SIGKILL once the queue is down to its moment, restarting it at
/// once; one line per kill.
async fn run_kills(
    procs: &mut [Proc],
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    plan: &Plan,
    kills: &[Kill],
) -> Vec<String> {
    let total = plan.messages.len() as f64;
    let mut done = Vec::new();
    let started = Instant::now();
    for k in kills {
        let left = (total * (1.0 - k.after_fraction)).ceil() as u64;
        let what = format!("queue depth {left} for kill {}", done.len() + 1);
        wait_for(&what, 900, || async {
            (moto_plain::depth(sqs, url).await <= left).then_some(())
        })
        .await;
        let victim = &mut procs[k.victim];
        let status = victim.kill9();
        let line = format!(
            "kill -9 {} at {:.0} % done ({:.1} s, depth <= {left}): {status}",
            victim.name(),
            k.after_fraction * 100.0,
            started.elapsed().as_secs_f64()
        );
        eprintln!("{line}");
        victim.restart().await;
        done.push(line);
    }
    done
}

/// "leaving message for retry" lines in every log of every start: job attempts that failed
/// transiently and went back to the queue (counters die with a killed process; logs stay).
fn queue_retries(dir: &Path) -> usize {
    let logs = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    logs.filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .map(|t| t.matches("leaving message for retry").count())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_survive_faults_kills_and_poison() {
    let s = Settings::from_env();
    eprintln!(
        "soak: {} jobs, {} processes, {:.0} % faults, seed {} (replay: DERIVD_SOAK_SEED={})",
        s.jobs,
        s.processes,
        s.fault_rate * 100.0,
        s.seed,
        s.seed
    );
    let started = Instant::now();
    let (s3, sqs, sns) = (
        moto_plain::s3().await,
        moto_plain::sqs().await,
        moto_plain::sns().await,
    );
    let bucket = moto_plain::new_bucket(&s3, "soak").await;
    let queue = moto_plain::new_queue_with_dlq(&sqs, "soak", MAX_RECEIVES).await;
    let rejects = moto_plain::new_queue(&sqs, "soak-rejects").await;
    let topic = moto_plain::new_topic(&sns, "soak-notices").await;
    let plan = plan::plan(&s, &format!("{}", s.seed));
    upload(&s3, &bucket, &plan).await;

    let proxy = FaultProxy::start(&moto_plain::endpoint()).await;
    let poison_get = Match::method("GET").path(plan::POISON_DIR);
    proxy.fail_next(poison_get.clone(), usize::MAX, 500);
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&proxy, &bucket, &queue.url, &rejects, &topic);
    let mut procs: Vec<Proc> = (0..s.processes)
        .map(|i| Proc::new(dir.path(), ProcSpec::new(&format!("soak-{i}"), &toml)))
        .collect();
    for p in procs.iter_mut() {
        p.start().await;
    }
    // Faults from the first job on (a first start whose catalogue write fails after its
    // retries exits, which would fail the harness, not derivd; restarts run under faults).
    proxy.set_chaos(Some(Chaos::new(s.seed, s.fault_rate)));
    moto_plain::send_all(&sqs, &queue.url, &plan.messages).await;
    let kills = run_kills(&mut procs, &sqs, &queue.url, &plan, &plan::kills(&s)).await;
    let budget = 120 + s.jobs as u64;
    wait_for("the job queue to drain", budget, || async {
        (moto_plain::depth(&sqs, &queue.url).await == 0).then_some(())
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    proxy.set_chaos(None);
    for p in procs.iter_mut() {
        let status = p.sigterm(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "{} exited {status} on SIGTERM:\n{}",
            p.name(),
            p.log()
        );
    }

    let checked = verify::all(&s3, &sqs, &bucket, &queue, &rejects, &plan).await;
    let tally = proxy.injected();
    let injected: BTreeMap<&str, usize> = common::fault_proxy::chaos::by_kind(&tally);
    let mut by_service: BTreeMap<String, usize> = BTreeMap::new();
    for ((service, _), n) in &tally {
        *by_service.entry(format!("{service:?}")).or_default() += n;
    }
    let summary = serde_json::json!({
        "test": "soak", "seed": s.seed, "jobs": plan.jobs, "messages": plan.messages.len(),
        "processes": s.processes, "fault_rate": s.fault_rate,
        "aws_requests": proxy.seen_total(), "faults_injected": injected,
        "faults_injected_total": injected.values().sum::<usize>(),
        "faults_injected_by_service": by_service,
        "failed_attempts_retried_or_surfaced": proxy.faulted(),
        "poison_get_500s": proxy.seen_matching(&poison_get),
        "kills": kills,
        "job_retries_from_queue_poison_included": queue_retries(dir.path()),
        "sources": checked.sources, "derived_objects": checked.derived_objects,
        "rejects": checked.rejects, "dead_letters": checked.dead_letters,
        "wall_secs": (secs * 10.0).round() / 10.0,
    });
    eprintln!("{}", serde_json::to_string_pretty(&summary).unwrap());
}
