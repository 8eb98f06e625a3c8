//! Every Prometheus metric derivd exports, defined in one place.
//!
//! Names follow `derivd_<noun>_<unit>[_total]`. Labels are low-cardinality by construction:
//! outcomes and reasons are constant strings, transforms come from the catalogue. Object
//! keys, bucket names and job ids are never labels.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Finished jobs by outcome: ok, up_to_date, dropped (client fault), dead_letter (bug),
    /// retry (transient).
    pub jobs: IntCounterVec,
    /// Failed jobs by constant reason (engine error kind, `source_missing`, `store`, …).
    pub job_failures: IntCounterVec,
    /// Queue messages that needed no work, by reason (test event, derived-prefix key, …).
    pub messages_ignored: IntCounterVec,
    /// Derived objects written, by transform.
    pub derived_objects: IntCounterVec,
    pub derived_bytes: IntCounter,
    pub job_duration: HistogramVec,
    /// Time per job stage: fetch, render, store, manifest.
    pub stage_duration: HistogramVec,
    pub jobs_in_flight: IntGauge,
    /// Bytes of the memory budget currently reserved by running jobs.
    pub memory_reserved: IntGauge,
    /// Lost-object handling by result: repaired, already_present, orphan, retry,
    /// not_derived.
    pub repairs: IntCounterVec,
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

const SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

impl Metrics {
    pub fn new() -> Metrics {
        let r = Registry::new();
        let jobs = counter_vec(
            &r,
            "derivd_jobs_total",
            "Jobs finished, by outcome.",
            &["outcome"],
        );
        let job_failures = counter_vec(
            &r,
            "derivd_job_failures_total",
            "Failed jobs, by reason.",
            &["reason"],
        );
        let messages_ignored = counter_vec(
            &r,
            "derivd_messages_ignored_total",
            "Queue messages that asked for no work, by reason.",
            &["reason"],
        );
        let derived_objects = counter_vec(
            &r,
            "derivd_derived_objects_total",
            "Derived objects written, by transform.",
            &["transform"],
        );
        let derived_bytes = IntCounter::new(
            "derivd_derived_bytes_total",
            "Bytes of derived objects written.",
        )
        .expect("valid metric");
        r.register(Box::new(derived_bytes.clone())).expect("unique");
        let job_duration = HistogramVec::new(
            HistogramOpts::new(
                "derivd_job_duration_seconds",
                "Wall time per job, by outcome.",
            )
            .buckets(SECONDS.to_vec()),
            &["outcome"],
        )
        .expect("valid metric");
        r.register(Box::new(job_duration.clone())).expect("unique");
        let stage_duration = HistogramVec::new(
            HistogramOpts::new("derivd_stage_duration_seconds", "Wall time per job stage.")
                .buckets(SECONDS.to_vec()),
            &["stage"],
        )
        .expect("valid metric");
        r.register(Box::new(stage_duration.clone()))
            .expect("unique");
        let jobs_in_flight =
            IntGauge::new("derivd_jobs_in_flight", "Jobs being processed now.").expect("valid");
        r.register(Box::new(jobs_in_flight.clone()))
            .expect("unique");
        let memory_reserved = IntGauge::new(
            "derivd_memory_reserved_bytes",
            "Decode memory reserved by running jobs.",
        )
        .expect("valid");
        r.register(Box::new(memory_reserved.clone()))
            .expect("unique");
        let repairs = counter_vec(
            &r,
            "derivd_repairs_total",
            "Lost derived objects handled, by result.",
            &["result"],
        );
        Metrics {
            repairs,
            registry: r,
            jobs,
            job_failures,
            messages_ignored,
            derived_objects,
            derived_bytes,
            job_duration,
            stage_duration,
            jobs_in_flight,
            memory_reserved,
        }
    }

    /// Registers another metric family (used by the repair and HTTP modules).
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        counter_vec(&self.registry, name, help, labels)
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
