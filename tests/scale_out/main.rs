//! Scale-out proof: several real `derivd serve` processes share one queue and one bucket,
//! one of them is `kill -9`ed midway and restarted, and afterwards the queue and its
//! dead-letter queue are empty and every source's derived objects match its manifest
//! (`common::outputs::check`). Once on moto (three processes, one SQS queue, one S3
//! bucket) and once on the embedded backend (two processes, one data dir: SQLite queue and
//! local bucket). A third test measures jobs/s with one and with two single-slot workers on
//! moto, against the raw engine (`derivd transform`) on the same photos.
//!
//! Sizes come from the environment so `scripts/scale-out.sh` can run larger ones:
//! `DERIVD_SCALE_OUT_SOURCES` (default 300; every fourth source gets a second job, so 375
//! jobs), `DERIVD_SCALE_OUT_TRANSFORMS` (default `thumb-128,thumb-256`: small, so CI's 375
//! jobs fit in about a minute per backend), `DERIVD_SCALE_OUT_BENCH_JOBS` (default 48 per
//! phase), `DERIVD_SCALE_OUT_BENCH_TRANSFORMS` (the measurement's; default the same),
//! `DERIVD_SCALE_OUT_REPORT` (a file the measurements are appended to as JSON lines). The tests take turns (each wants both
//! cores). Run: `MOTO_PORT=5002 scripts/test.sh --test scale_out`.
//!
//! `kill.rs` holds the two kill tests, `rate.rs` the measurement; this file the shared plan
//! of sources and jobs, the configs, and the steps both use.

#[path = "../common/mod.rs"]
mod common;
mod kill;
mod rate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cluster::{sum_running, wait_for, Memory, Proc, ProcSpec};
use common::moto_plain;

/// A second job on every fourth source asks for this transform, so two jobs for one source
/// often run at once on different processes and merge into one manifest.
const EXTRA: &str = "icon-64-png";
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Settings {
    pub sources: usize,
    pub transforms: Vec<String>,
    pub bench_jobs: usize,
    pub bench_transforms: Vec<String>,
}

pub fn settings() -> Settings {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let num =
        |k: &str, d: usize| var(k).map_or(d, |v| v.parse().unwrap_or_else(|_| panic!("{k}={v}")));
    let list = |v: String| v.split(',').map(str::to_owned).collect::<Vec<_>>();
    let transforms = var("DERIVD_SCALE_OUT_TRANSFORMS").unwrap_or("thumb-128,thumb-256".into());
    Settings {
        sources: num("DERIVD_SCALE_OUT_SOURCES", 300),
        bench_jobs: num("DERIVD_SCALE_OUT_BENCH_JOBS", 48),
        bench_transforms: list(
            var("DERIVD_SCALE_OUT_BENCH_TRANSFORMS").unwrap_or(transforms.clone()),
        ),
        transforms: list(transforms),
    }
}

pub fn photos() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::images::corpus().join("photos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no corpus photos");
    v
}

/// One job: source key, the photo it is a copy of, transforms.
pub struct Job {
    pub source: String,
    pub photo: PathBuf,
    pub transforms: Vec<String>,
}

impl Job {
    pub fn message(&self) -> String {
        serde_json::json!({"source": self.source, "transforms": self.transforms}).to_string()
    }
}

/// `n` sources cycling over the corpus photos, keys with a space and non-ASCII (metadata
/// must percent-encode them), one job each plus the [`EXTRA`] job on every fourth.
pub fn plan(run: &str, n: usize, transforms: &[String], extras: bool) -> Vec<Job> {
    let photos = photos();
    let mut jobs = Vec::new();
    for i in 0..n {
        let photo = photos[i % photos.len()].clone();
        let name = photo.file_name().unwrap().to_string_lossy().into_owned();
        let source = format!("scale out/{run}/{i:04} café/{name}");
        if extras && i % 4 == 0 {
            jobs.push(Job {
                source: source.clone(),
                photo: photo.clone(),
                transforms: vec![EXTRA.into()],
            });
        }
        jobs.push(Job {
            source,
            photo,
            transforms: transforms.to_vec(),
        });
    }
    jobs
}

/// Source → every transform its jobs asked for.
pub fn expected(jobs: &[Job]) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for j in jobs {
        m.entry(j.source.clone())
            .or_default()
            .extend(j.transforms.iter().cloned());
    }
    m
}

/// The worker config shared by both backends: short polls and leases so a killed worker's
/// messages come back within seconds. `queue` adds lines to `[queue]`.
pub fn worker_toml(concurrency: usize, queue: &str) -> String {
    format!(
        "[queue]\n{queue}visibility_timeout_secs = 15\nwait_secs = 1\n\
         [worker]\nconcurrency = {concurrency}\njob_timeout_secs = 12\nretry_backoff_secs = 1\n\
         shutdown_grace_secs = 10\n"
    )
}

pub fn aws_toml(bucket: &str, jobs_url: &str, concurrency: usize) -> String {
    let endpoint = moto_plain::endpoint();
    format!(
        "backend = \"aws\"\n[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\n\
         [storage]\ndefault_bucket = \"{bucket}\"\n[[storage.buckets]]\nsource = \"{bucket}\"\n{}",
        worker_toml(concurrency, &format!("jobs = \"{jobs_url}\"\n"))
    )
}

pub async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, jobs: &[Job]) {
    use futures_util::StreamExt;
    let firsts: BTreeMap<&str, &Path> = jobs
        .iter()
        .map(|j| (j.source.as_str(), j.photo.as_path()))
        .collect();
    futures_util::stream::iter(firsts)
        .map(|(key, photo)| async move {
            let body = aws_sdk_s3::primitives::ByteStream::from(std::fs::read(photo).unwrap());
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .content_type("image/jpeg")
                .body(body)
                .send()
                .await
        })
        .buffer_unordered(8)
        .for_each(|r| async move {
            r.expect("upload source");
        })
        .await;
}

/// Waits until `depth` says nothing is left, for at most `secs`.
pub async fn drained<F, Fut>(what: &str, secs: u64, mut depth: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    wait_for(what, secs, || {
        let d = depth();
        async move { (d.await == 0).then_some(()) }
    })
    .await;
}

/// Waits until the running processes together finished `n` jobs and `victim` has a job in
/// flight, kills `victim` with SIGKILL, and starts it again. Returns how many jobs it had in
/// flight when it died (as it last reported them).
pub async fn kill_midway(procs: &mut [Proc], victim: usize, n: f64) -> f64 {
    let mut done = 0.0;
    let mut in_flight = 0.0;
    while done < n || in_flight < 1.0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        done = sum_running(procs, "derivd_jobs_total", &[("outcome", "ok")]).await;
        in_flight = procs[victim]
            .metrics()
            .await
            .sum("derivd_jobs_in_flight", &[]);
    }
    let status = procs[victim].kill9();
    eprintln!(
        "killed {} with {in_flight} jobs in flight after {done} jobs ({status})",
        procs[victim].name()
    );
    procs[victim].restart().await;
    in_flight
}

/// The 1-minute load average (the machine is shared: numbers measured under load say so).
pub fn load_average() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").expect("/proc/loadavg");
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// Checks that no process counted a failed job, stops each with SIGTERM (it must exit 0),
/// and returns each one's memory just before.
pub async fn stop_all(procs: &mut [Proc]) -> Vec<Memory> {
    let mut memory = Vec::new();
    for p in procs.iter_mut() {
        let failures = p.metrics().await.sum("derivd_job_failures_total", &[]);
        assert_eq!(
            failures,
            0.0,
            "{} counted job failures:\n{}",
            p.name(),
            p.log()
        );
        memory.push(p.memory());
        let status = p.sigterm(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "{} exited with {status} on SIGTERM:\n{}",
            p.name(),
            p.log()
        );
    }
    memory
}

/// `n` processes named `{prefix}-{i}` with one config, logs and config files under `dir`.
pub fn processes(dir: &Path, prefix: &str, n: usize, config_toml: &str) -> Vec<Proc> {
    (0..n)
        .map(|i| Proc::new(dir, ProcSpec::new(&format!("{prefix}-{i}"), config_toml)))
        .collect()
}

/// Appends one JSON line to `$DERIVD_SCALE_OUT_REPORT`, if set, and prints it.
pub fn report(line: serde_json::Value) {
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("DERIVD_SCALE_OUT_REPORT") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open report");
        writeln!(f, "{line}").expect("write report");
    }
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn embedded_toml(data_dir: &Path, concurrency: usize) -> String {
    format!(
        "backend = \"embedded\"\n[storage]\ndata_dir = \"{}\"\n{}",
        data_dir.display(),
        worker_toml(concurrency, "max_receives = 5\n")
    )
}

/// `derivd submit` for every job, four at a time (the embedded bucket and queue are written
/// only through derivd).
pub fn submit_all(proc: &Proc, jobs: &[Job]) {
    let mut uploaded = BTreeSet::new();
    let mut commands = Vec::new();
    for j in jobs {
        let t = j.transforms.join(",");
        let mut args = vec!["submit".to_string(), j.source.clone(), "-t".into(), t];
        if uploaded.insert(j.source.clone()) {
            args.extend(["--upload".into(), j.photo.display().to_string()]);
        }
        commands.push(args);
    }
    // Uploads first: a job's second submission must find the source there.
    commands.sort_by_key(|a| !a.iter().any(|x| x == "--upload"));
    for chunk in commands.chunks(4) {
        let children: Vec<_> = chunk
            .iter()
            .map(|a| {
                let args: Vec<&str> = a.iter().map(String::as_str).collect();
                proc.command(&args)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("spawn submit")
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "derivd submit failed");
        }
    }
}

#[test]
fn the_harness_reads_derivds_listening_line_and_metrics() {
    use common::cluster::{listening_addr, Metrics};
    let plain = "2026-11-27T09:00:00Z  INFO derivd::app: HTTP listening addr=127.0.0.1:41234";
    assert_eq!(
        listening_addr(plain),
        Some("127.0.0.1:41234".parse().unwrap())
    );
    let coloured = "\u{1b}[32m INFO\u{1b}[0m derivd::app: HTTP listening \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:5";
    assert_eq!(
        listening_addr(coloured),
        Some("127.0.0.1:5".parse().unwrap())
    );
    assert_eq!(listening_addr("INFO starting"), None);
    let m = Metrics::parse(
        "# HELP x y\nderivd_jobs_total{outcome=\"ok\"} 3\nderivd_jobs_total{outcome=\"failed\"} 1\nup 1\n",
    );
    assert_eq!(m.sum("derivd_jobs_total", &[("outcome", "ok")]), 3.0);
    assert_eq!(m.sum("derivd_jobs_total", &[]), 4.0);
    assert_eq!(m.sum("up", &[]), 1.0);
}
