//! Every Prometheus metric derivd exports, defined here and nowhere else, grouped by the
//! component that updates it.
//!
//! Names follow `derivd_<noun>_<unit>[_total]`. Labels are low-cardinality by construction:
//! outcomes and reasons are constant strings, transforms come from the catalogue. Object
//! keys, bucket names and job ids are never labels.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric family's name, for tests and dashboards to check against.
pub const FAMILIES: &[&str] = &[
    "derivd_jobs_total",
    "derivd_job_failures_total",
    "derivd_messages_ignored_total",
    "derivd_leases_lost_total",
    "derivd_notice_failures_total",
    "derivd_derived_objects_total",
    "derivd_derived_bytes_total",
    "derivd_source_changed_total",
    "derivd_job_duration_seconds",
    "derivd_stage_duration_seconds",
    "derivd_jobs_in_flight",
    "derivd_memory_reserved_bytes",
    "derivd_repairs_total",
    "derivd_ensure_total",
    "derivd_sns_rejected_total",
    "derivd_sns_accepted_total",
];

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    // -- consumers (consume/)
    /// Finished jobs by outcome: ok, up_to_date, dropped (client fault), dead_letter (bug),
    /// retry (transient).
    pub jobs: IntCounterVec,
    /// Failed jobs by constant reason (`source_missing`, `corrupt`, `store`, …).
    pub job_failures: IntCounterVec,
    /// Queue messages that needed no work, by reason (test event, derived-prefix key, …).
    pub messages_ignored: IntCounterVec,
    /// Batches abandoned because their lease was lost (another worker holds them now).
    pub leases_lost: IntCounter,
    /// Completion and failure notices that could not be published (jobs and repairs).
    pub notice_failures: IntCounter,
    pub job_duration: HistogramVec,
    pub jobs_in_flight: IntGauge,
    // -- the deriver (derive/)
    /// Derived objects written, by transform.
    pub derived_objects: IntCounterVec,
    pub derived_bytes: IntCounter,
    /// Derives that found their source replaced after writing and started over from the
    /// new version (so an older job's output never wins).
    pub source_changed: IntCounter,
    /// Time per stage: fetch, judge, render, store, recheck, manifest, repair.
    pub stage_duration: HistogramVec,
    /// Bytes of the memory budget currently reserved by running renders.
    pub memory_reserved: IntGauge,
    // -- self-repair (repair/)
    /// Lost-object handling by result: repaired, already_present, orphan, retry,
    /// not_derived.
    pub repairs: IntCounterVec,
    // -- ensure-on-read (ensure/)
    /// By result: cache_hit, present, regenerating, regenerated, source_missing, failed.
    pub ensure: IntCounterVec,
    // -- POST /v1/sns (sns/)
    /// Refused or failed requests, by reason (`sns::reason::ALL`).
    pub sns_rejected: IntCounterVec,
    /// Verified messages acted on, by type.
    pub sns_accepted: IntCounterVec,
}

const SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

struct Builder(Registry);

impl Builder {
    fn register<M: prometheus::core::Collector + Clone + 'static>(&self, m: M) -> M {
        self.0.register(Box::new(m.clone())).expect("unique metric");
        m
    }
    fn counters(&self, name: &str, help: &str, label: &str) -> IntCounterVec {
        self.register(IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid"))
    }
    fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.register(IntCounter::new(name, help).expect("valid"))
    }
    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.register(IntGauge::new(name, help).expect("valid"))
    }
    fn seconds(&self, name: &str, help: &str, label: &str) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(SECONDS.to_vec());
        self.register(HistogramVec::new(opts, &[label]).expect("valid"))
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let b = Builder(Registry::new());
        Metrics {
            jobs: b.counters("derivd_jobs_total", "Jobs finished, by outcome.", "outcome"),
            job_failures: b.counters(
                "derivd_job_failures_total",
                "Failed jobs, by reason.",
                "reason",
            ),
            messages_ignored: b.counters(
                "derivd_messages_ignored_total",
                "Queue messages that asked for no work, by reason.",
                "reason",
            ),
            leases_lost: b.counter(
                "derivd_leases_lost_total",
                "Message batches abandoned because another worker received them.",
            ),
            notice_failures: b.counter(
                "derivd_notice_failures_total",
                "Notices that could not be published.",
            ),
            job_duration: b.seconds(
                "derivd_job_duration_seconds",
                "Wall time per job, by outcome.",
                "outcome",
            ),
            jobs_in_flight: b.gauge("derivd_jobs_in_flight", "Jobs being processed now."),
            derived_objects: b.counters(
                "derivd_derived_objects_total",
                "Derived objects written, by transform.",
                "transform",
            ),
            derived_bytes: b.counter(
                "derivd_derived_bytes_total",
                "Bytes of derived objects written.",
            ),
            source_changed: b.counter(
                "derivd_source_changed_total",
                "Derives that found their source replaced while they ran and started over.",
            ),
            stage_duration: b.seconds(
                "derivd_stage_duration_seconds",
                "Wall time per stage.",
                "stage",
            ),
            memory_reserved: b.gauge(
                "derivd_memory_reserved_bytes",
                "Decode memory reserved by running renders.",
            ),
            repairs: b.counters(
                "derivd_repairs_total",
                "Lost derived objects handled, by result.",
                "result",
            ),
            ensure: b.counters(
                "derivd_ensure_total",
                "Ensure-on-read requests, by result (cache_hit, present, regenerated, …).",
                "result",
            ),
            sns_rejected: b.counters(
                "derivd_sns_rejected_total",
                "Requests to POST /v1/sns refused or failed, by reason.",
                "reason",
            ),
            sns_accepted: b.counters(
                "derivd_sns_accepted_total",
                "SNS messages verified and acted on, by type.",
                "type",
            ),
            registry: b.0,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_lists_every_registered_metric() {
        let m = Metrics::new();
        let mut names: Vec<String> = m
            .registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        // Families without any series are not gathered; touch one series of each.
        m.jobs.with_label_values(&["ok"]);
        m.job_failures.with_label_values(&["x"]);
        m.messages_ignored.with_label_values(&["x"]);
        m.job_duration.with_label_values(&["ok"]);
        m.derived_objects.with_label_values(&["t"]);
        m.stage_duration.with_label_values(&["fetch"]);
        m.repairs.with_label_values(&["x"]);
        m.ensure.with_label_values(&["x"]);
        m.sns_rejected.with_label_values(&["x"]);
        m.sns_accepted.with_label_values(&["x"]);
        names = m
            .registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .chain(names)
            .collect();
        names.sort();
        names.dedup();
        let mut want: Vec<String> = FAMILIES.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(names, want);
    }
}
