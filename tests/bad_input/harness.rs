//! One running service per row, on either backend, and the checks of each fate.
//!
//! A row is "put these sources, send this body, expect this fate"; every row then proves
//! the process lives on by running a good job to its `ok` notice.

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use derivd::config::Config;
use derivd::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use derivd::queue::Queue;
use serde_json::Value;

use crate::common::images::corpus_file;
use crate::common::service::{aws_config, embedded_config, eventually, metric, start, Running};
use crate::common::{embedded_queue, moto};

pub const WAIT: Duration = Duration::from_secs(60);
const GOOD: &str = "alive/good.jpg";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Aws,
}

/// What must become of a bad message.
#[derive(Debug, Clone)]
pub enum Fate {
    /// Parsed, failed with a client fault: counted under `reason`, a failure notice naming
    /// the source, the message deleted; neither rejects queue nor DLQ.
    Dropped(&'static str),
    /// Did not parse: a copy with `reason` in the rejects queue, a failure notice with the
    /// message id and body, the message deleted; not in the DLQ.
    Rejected(&'static str),
    /// Not bad after all: the derived object `key` is made, an `ok` notice sent.
    Done { key: String },
    /// The queue refuses the send itself: nothing enters.
    RefusedAtSend,
    /// A fault that retrying might fix: retried, then dead-lettered with the body intact.
    DeadLettered,
}

/// One row of the matrix.
pub struct Row {
    pub sources: Vec<(String, Vec<u8>)>,
    pub body: String,
    pub fate: Fate,
}

impl Row {
    pub fn new(body: impl Into<String>, fate: Fate) -> Row {
        let sources = Vec::new();
        let body = body.into();
        Row {
            sources,
            body,
            fate,
        }
    }
    pub fn with_source(mut self, key: &str, bytes: Vec<u8>) -> Row {
        self.sources.push((key.to_owned(), bytes));
        self
    }
}

enum Side {
    Embedded(tempfile::TempDir),
    Aws(AwsQueues),
}

struct AwsQueues {
    jobs: String,
    dlq: String,
    rejects: String,
    notices: String,
    /// One receive hides what it does not keep, so every notice seen is kept here.
    seen: Mutex<Vec<Value>>,
}

pub struct Env {
    pub svc: Running,
    pub bucket: String,
    side: Side,
}

fn tuned(mut cfg: Config) -> Config {
    cfg.worker.job_timeout_secs = 30;
    cfg
}

impl Env {
    pub async fn start(backend: Backend, name: &str) -> Env {
        match backend {
            Backend::Embedded => Self::start_embedded(false, |_| ()).await,
            Backend::Aws => Self::start_aws(name, moto::endpoint(), 2).await,
        }
    }

    /// The embedded backend, HTTP on a free port if `http`, the config adjusted by `tweak`.
    pub async fn start_embedded(http: bool, tweak: impl FnOnce(&mut Config)) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = tuned(embedded_config(dir.path()));
        tweak(&mut cfg);
        let bucket = cfg.storage.default_bucket.clone();
        let svc = start(cfg, http).await;
        let side = Side::Embedded(dir);
        Env { svc, bucket, side }
    }

    /// The AWS backend against moto (the service reaches it through `endpoint`, moto or a
    /// fault proxy in front of it); the jobs queue dead-letters after `max_receives`.
    pub async fn start_aws(name: &str, endpoint: String, max_receives: u32) -> Env {
        let bucket = moto::new_bucket(name).await;
        let (dlq, dlq_arn) = moto::new_queue(&format!("{name}-dlq"), None).await;
        let (jobs, _) = moto::new_queue(name, Some((&dlq_arn, max_receives))).await;
        let (rejects, _) = moto::new_queue(&format!("{name}-rej"), None).await;
        let topic = moto::new_topic_with_queue_subscription(&format!("{name}-n"), true).await;
        let mut cfg = aws_config(endpoint, &bucket, &jobs, &topic.topic_arn);
        cfg.queue.rejects = Some(rejects.clone());
        let svc = start(tuned(cfg), false).await;
        let queues = AwsQueues {
            jobs,
            dlq,
            rejects,
            notices: topic.queue_url,
            seen: Mutex::new(Vec::new()),
        };
        let side = Side::Aws(queues);
        Env { svc, bucket, side }
    }

    /// AWS only: sets the job queue's `MaximumMessageSize` (new SQS queues allow 1 MiB
    /// since 2025; queues made earlier, or set so, 256 KiB).
    pub async fn set_max_message_size(&self, bytes: usize) {
        let Side::Aws(q) = &self.side else {
            panic!("the embedded queue's limit is fixed at 256 KiB")
        };
        let size = QueueAttributeName::MaximumMessageSize;
        let sqs = moto::sqs().await;
        let set = sqs.set_queue_attributes().queue_url(&q.jobs);
        set.attributes(size, bytes.to_string())
            .send()
            .await
            .unwrap();
    }

    pub async fn upload(&self, key: &str, bytes: Vec<u8>) {
        let req = crate::common::source_put(key, bytes);
        self.svc.app.store.put(&self.bucket, req).await.unwrap();
    }

    /// Messages in the job queue (visible or in flight) and in its DLQ.
    pub async fn depths(&self) -> (u64, u64) {
        match &self.side {
            Side::Embedded(dir) => (
                embedded_queue::depth(dir.path(), "derivd-jobs"),
                embedded_queue::depth(dir.path(), "derivd-jobs-dlq"),
            ),
            Side::Aws(q) => (sqs_depth(&q.jobs).await, sqs_depth(&q.dlq).await),
        }
    }

    /// Every notice sent so far.
    pub async fn notices(&self) -> Vec<Value> {
        match &self.side {
            Side::Embedded(dir) => {
                let text =
                    std::fs::read_to_string(dir.path().join("notices.jsonl")).unwrap_or_default();
                text.lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect()
            }
            Side::Aws(q) => {
                let more = sqs_drain(&q.notices).await;
                let mut seen = q.seen.lock().unwrap();
                seen.extend(more);
                seen.clone()
            }
        }
    }

    /// Every message in the rejects queue (read once per test: reading hides them).
    pub async fn rejects(&self) -> Vec<Value> {
        match &self.side {
            Side::Embedded(dir) => {
                let db = dir.path().join("queue.sqlite3");
                let settings = EmbeddedQueueSettings::default();
                let q = EmbeddedQueue::open(&db, "derivd-jobs-rejects", settings).unwrap();
                let got = q.receive(10, Duration::from_millis(10), Duration::from_secs(60));
                let got = got.await.unwrap();
                got.iter()
                    .map(|m| serde_json::from_str(&m.body).unwrap())
                    .collect()
            }
            Side::Aws(q) => sqs_drain(&q.rejects).await,
        }
    }

    pub fn failures(&self, reason: &str) -> f64 {
        let needle = format!("reason=\"{reason}\"");
        metric(&self.svc.app, "derivd_job_failures_total", &[&needle])
    }

    pub fn jobs_total(&self, outcome: &str) -> f64 {
        let needle = format!("outcome=\"{outcome}\"");
        metric(&self.svc.app, "derivd_jobs_total", &[&needle])
    }

    /// Waits until the job queue is empty and `n` messages got an outcome.
    pub async fn settled(&self, n: f64) {
        eventually(WAIT, "the queue settled", || async {
            let handled: f64 = ["ok", "up_to_date", "dropped", "retry", "dead_letter"]
                .iter()
                .map(|o| self.jobs_total(o))
                .sum();
            (handled >= n && self.depths().await.0 == 0).then_some(())
        })
        .await;
    }

    /// A good job after the bad one is done: the process and its workers live on.
    pub async fn lives_on(&self) {
        self.upload(GOOD, corpus_file("formats/ir_progressive_650x470.jpg"))
            .await;
        let job = serde_json::json!({"source": GOOD, "transforms": ["thumb-256"]});
        self.svc.app.jobs.send(&job.to_string()).await.unwrap();
        eventually(WAIT, "a good job after the bad one", || async {
            let notices = self.notices().await;
            notices
                .iter()
                .any(|n| n["source"] == GOOD && n["status"] == "ok")
                .then_some(())
        })
        .await;
        assert!(!self.svc.handle.is_finished(), "the service stopped");
    }

    pub async fn stop(self) {
        self.svc.stop().await;
    }
}

async fn sqs_depth(url: &str) -> u64 {
    let out = moto::sqs()
        .await
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().cloned().unwrap_or_default();
    let n = |a: QueueAttributeName| attrs.get(&a).and_then(|v| v.parse::<u64>().ok());
    n(QueueAttributeName::ApproximateNumberOfMessages).unwrap_or(0)
        + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible).unwrap_or(0)
        + n(QueueAttributeName::ApproximateNumberOfMessagesDelayed).unwrap_or(0)
}

/// Receives until the queue answers empty; JSON bodies.
async fn sqs_drain(url: &str) -> Vec<Value> {
    let sqs = moto::sqs().await;
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() {
            return all;
        }
        let bodies = out.messages().iter().filter_map(|m| m.body());
        all.extend(bodies.map(|b| serde_json::from_str::<Value>(b).unwrap()));
    }
}
