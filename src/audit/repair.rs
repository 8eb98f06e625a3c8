//! `--repair`: turns an audit's missing and stale findings into job messages.
//!
//! Why jobs rather than regenerating here: the workers already own decoding, memory
//! budgets, retries and notices, and a long audit should not hold images in memory. One
//! forced job per source (all its owed transforms named) lets one decode serve them all;
//! `force` so the job remakes exactly what the audit judged owed, without the worker
//! second-guessing it with an up-to-date check of its own. Every job of one run carries
//! the same `id` (`audit-…`), echoed in the completion notices.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};

use super::Auditor;
use super::{AuditReport, Finding, RepairSummary};
use crate::job::{JobRequest, TransformSelection};

/// One forced job per source for its missing and stale objects, all with id `job_id`
/// (a variant's object by its entry name, `name.ext`, so only that variant is remade).
/// Returns each job with the number of objects it regenerates, in source order.
pub fn repair_jobs(findings: &[Finding], job_id: &str) -> Vec<(JobRequest, u64)> {
    let mut by_source: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.kind.is_repairable()) {
        by_source
            .entry((&f.source_bucket, &f.source_key))
            .or_default()
            .insert(&f.transform);
    }
    by_source
        .into_iter()
        .map(|((bucket, source), transforms)| {
            let n = transforms.len() as u64;
            let job = JobRequest {
                id: Some(job_id.to_string()),
                bucket: Some(bucket.to_string()),
                source: source.to_string(),
                transforms: TransformSelection::Named(
                    transforms.into_iter().map(str::to_string).collect(),
                ),
                force: true,
                focus: None,
            };
            (job, n)
        })
        .collect()
}

pub(super) async fn enqueue_repairs(app: &Auditor, report: &mut AuditReport, concurrency: usize) {
    let job_id = format!("audit-{}", uuid::Uuid::new_v4().simple());
    let jobs = repair_jobs(&report.findings, &job_id);
    let sent: Vec<_> = stream::iter(jobs)
        .map(|(job, n)| async move {
            let result = match (job.validate(), &app.jobs) {
                (Ok(()), Some(jobs)) => jobs
                    .send(&job.to_message_json())
                    .await
                    .map_err(|e| format!("queueing the repair job: {e}")),
                (Ok(()), None) => Err("no job queue to queue the repair job on".to_string()),
                (Err(e), _) => Err(format!("cannot queue a repair job: {e}")),
            };
            (job, n, result)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut summary = RepairSummary {
        job_id,
        ..Default::default()
    };
    for (job, n, result) in sent {
        match result {
            Ok(_) => {
                summary.jobs += 1;
                summary.objects += n;
            }
            Err(message) => {
                report.add_error(job.bucket.as_deref().unwrap_or(""), &job.source, message)
            }
        }
    }
    report.sort();
    report.repair = Some(summary);
}
