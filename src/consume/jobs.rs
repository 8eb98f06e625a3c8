//! Running one job request: admission, the deriver under the job time limit, the
//! completion notice, and the job's metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, info_span, warn, Instrument};

use super::fate::Fate;
use crate::derive::admit::Refusal;
use crate::derive::{Admission, DeriveError, DeriveRequest, Derived, Deriver};
use crate::engine::Fault;
use crate::job::JobRequest;
use crate::metrics::Metrics;
use crate::notice::{Notice, NoticeDerived, Notifier};

pub struct JobRunner {
    pub deriver: Arc<Deriver>,
    pub admission: Admission,
    pub notifier: Arc<Notifier>,
    pub metrics: Metrics,
    pub time_limit: Duration,
}

impl JobRunner {
    /// Runs `job` and publishes its notice; the message's fate as far as this job goes.
    pub async fn run(&self, job: &JobRequest) -> Fate {
        let span = info_span!("job", source = ?job.source, id = job.id.as_deref().unwrap_or(""));
        self.run_inner(job).instrument(span).await
    }

    async fn run_inner(&self, job: &JobRequest) -> Fate {
        match self.admission.admit(job) {
            Ok(_) => {}
            Err(Refusal::DerivedObject(_)) => {
                info!("not a source (under a derived prefix); ignored");
                self.metrics
                    .messages_ignored
                    .with_label_values(&["derived_prefix"])
                    .inc();
                return Fate::Done;
            }
            Err(Refusal::Invalid(e)) => return self.finish(job, Err(e), 0.0).await,
        }
        let started = Instant::now();
        let req = DeriveRequest {
            bucket: job.bucket.clone(),
            source: job.source.clone(),
            transforms: job.transforms.clone(),
            force: job.force,
            focus: job.focus,
            deadline: started + self.time_limit,
        };
        self.metrics.jobs_in_flight.inc();
        let result = self.deriver.derive(&req).await;
        self.metrics.jobs_in_flight.dec();
        self.finish(job, result, started.elapsed().as_secs_f64())
            .await
    }

    async fn finish(
        &self,
        job: &JobRequest,
        result: Result<Derived, DeriveError>,
        secs: f64,
    ) -> Fate {
        let bucket = job
            .bucket
            .clone()
            .unwrap_or_else(|| self.admission.buckets.default_bucket().to_string());
        let (outcome, notice, fate) = match result {
            Ok(done) => {
                info!(
                    written = done.written.len(),
                    up_to_date = done.up_to_date,
                    secs,
                    "job done"
                );
                let outcome = if done.written.is_empty() {
                    "up_to_date"
                } else {
                    "ok"
                };
                (outcome, Some(ok_notice(job, bucket, &done)), Fate::Done)
            }
            Err(e) => {
                warn!(reason = e.reason(), fault = ?e.fault(), error = %e.to_string().escape_debug(), "job failed");
                self.metrics
                    .job_failures
                    .with_label_values(&[e.reason()])
                    .inc();
                let (outcome, fate) = match e.fault() {
                    Fault::Client => ("dropped", Fate::Done),
                    Fault::Transient => ("retry", Fate::Retry(Fault::Transient)),
                    Fault::Bug => ("dead_letter", Fate::Retry(Fault::Bug)),
                };
                // Retried jobs get a notice only when they finally succeed or are dropped.
                let notice = (fate == Fate::Done).then(|| failed_notice(job, bucket, &e));
                (outcome, notice, fate)
            }
        };
        self.metrics.jobs.with_label_values(&[outcome]).inc();
        self.metrics
            .job_duration
            .with_label_values(&[outcome])
            .observe(secs);
        if let Some(n) = notice {
            self.notifier.publish_counted(&n, &self.metrics).await;
        }
        fate
    }
}

fn ok_notice(job: &JobRequest, bucket: String, done: &Derived) -> Notice {
    Notice {
        id: job.id.clone(),
        bucket: Some(bucket),
        source: Some(job.source.clone()),
        status: "ok".into(),
        derived: done
            .written
            .iter()
            .map(|w| NoticeDerived {
                transform: w.transform.clone(),
                key: w.entry.key.clone(),
                bytes: w.entry.bytes,
            })
            .collect(),
        error: None,
        message_id: None,
        body: None,
        facts: done.facts.clone(),
    }
}

fn failed_notice(job: &JobRequest, bucket: String, e: &DeriveError) -> Notice {
    Notice {
        id: job.id.clone(),
        bucket: Some(bucket),
        source: Some(job.source.clone()),
        status: "failed".into(),
        derived: Vec::new(),
        error: Some(format!("{}: {e}", e.reason())),
        message_id: None,
        body: None,
        facts: None,
    }
}
