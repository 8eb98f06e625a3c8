//! `derivd setup`: creates, idempotently, what the config names on AWS — the work queues
//! with their dead-letter queues and redrive policies, the notice topic, the loss topic
//! with its policy and the repair queue's subscription, and the buckets' notifications
//! (merged into what is there, see [`super::wiring`]).
//!
//! Every step reads first and writes only what differs, so a second run changes nothing
//! (and S3 sends no second `s3:TestEvent`). A step that fails is a ✗ line; the steps that
//! depend on it are left out, the others still run.

mod buckets;
mod queues;
mod topics;

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName as Attr;

use super::aws_calls as calls;
use super::plan::{Arn, Place, Plan};
use super::policy::{self, Merged};
use super::{Clients, ProvisionError, Report, Status};
use crate::config::Config;
use crate::storage::StorageClass;

#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Also send the source buckets' uploads (`provision.upload_prefix`) to the job queue.
    pub job_events: bool,
}

pub async fn setup(cfg: &Config, c: &Clients, opts: &SetupOptions) -> Report {
    let plan = Plan::new(cfg);
    let mut r = Report::default();
    r.lines.extend(plan.preconditions());
    if r.count(Status::Failed) > 0 {
        return r;
    }
    let jobs = queues::work_queue(&mut r, c, &plan, &plan.jobs).await;
    let repair = match &plan.repair {
        Some(q) => queues::work_queue(&mut r, c, &plan, q).await,
        None => None,
    };
    match &plan.rejects {
        Some(q) => queues::rejects_queue(&mut r, c, q).await,
        None => no_rejects_queue(&mut r),
    }
    match &plan.notice_topic {
        Some(Ok(t)) => topics::notice_topic(&mut r, c, t).await,
        _ => r.push(
            Status::Skipped,
            "notice topic",
            "notices.sns_topic_arn is unset: no notices",
        ),
    }
    let loss_topic = match &repair {
        Some(q) => topics::loss_wiring(&mut r, c, &plan, q).await,
        None => {
            if plan.repair.is_none() {
                no_repair_queue(&mut r, &plan);
            }
            None
        }
    };
    let job_queue = match (&jobs, opts.job_events) {
        (Some(q), true) => topics::job_queue_policy(&mut r, c, &plan, q)
            .await
            .then_some(q),
        _ => None,
    };
    for bucket in &plan.buckets {
        let wanted = buckets::wanted_entries(&plan, bucket, loss_topic.as_deref(), job_queue);
        if !wanted.is_empty() {
            buckets::bucket_notifications(&mut r, c, bucket, &wanted).await;
        }
    }
    r
}

/// Without `queue.rejects` (the AWS default) malformed messages are not kept.
pub(super) fn no_rejects_queue(r: &mut Report) {
    r.push(
        Status::Skipped,
        "rejects queue",
        "queue.rejects is unset: a malformed job message gets its failure notice and is \
         dropped, not kept",
    );
}

/// Without `queue.repair` nothing is wired for losses; with RRS objects that is worth a "!".
fn no_repair_queue(r: &mut Report, plan: &Plan) {
    let message = "queue.repair is unset: no loss topic or repair wiring";
    if plan.storage_class == StorageClass::ReducedRedundancy {
        let fix = "set queue.repair (lost RRS objects are otherwise regenerated only by \
                   `derivd audit --repair` or on read) and run setup again";
        r.push_fix(Status::Warn, "loss topic", message, fix);
    } else {
        r.push(Status::Skipped, "loss topic", message);
    }
}

pub(super) enum PolicyTarget<'a> {
    Topic(&'a str),
    Queue(&'a str),
}

/// Merges derivd's statement into a topic's or queue's policy and writes it if it changed.
pub(super) async fn apply_policy(
    r: &mut Report,
    c: &Clients,
    subject: &str,
    target: PolicyTarget<'_>,
    current: Option<&str>,
    statement: serde_json::Value,
    what: &str,
) -> bool {
    let (doc, status) = match policy::merge_statement(current, statement) {
        Ok(Merged::Unchanged) => {
            r.push(Status::Ok, subject, format!("policy {what}"));
            return true;
        }
        Ok(Merged::Added(doc)) => (doc, Status::Created),
        Ok(Merged::Replaced(doc)) => (doc, Status::Updated),
        Err(e) => {
            let fix = "repair the policy by hand (derivd only adds its own statement)";
            r.push_fix(
                Status::Failed,
                subject,
                format!("policy is unreadable: {e}"),
                fix,
            );
            return false;
        }
    };
    let written = match target {
        PolicyTarget::Topic(arn) => calls::set_topic_policy(c, arn, &doc).await,
        PolicyTarget::Queue(url) => {
            calls::set_queue_attributes(c, url, HashMap::from([(Attr::Policy, doc)])).await
        }
    };
    match written {
        Ok(()) => {
            let verb = if status == Status::Created {
                "statement added"
            } else {
                "statement updated"
            };
            r.push(status, subject, format!("policy {verb}: {what}"));
            true
        }
        Err(e) => {
            r.push_setup_error(subject, &e);
            false
        }
    }
}

/// The places' bucket ARNs, sorted and each once (so the policy statement is stable).
pub(super) fn bucket_arns(partition_of: &Arn, places: &[Place]) -> Vec<String> {
    let mut arns: Vec<String> = places
        .iter()
        .map(|p| partition_of.bucket(&p.bucket))
        .collect();
    arns.sort();
    arns.dedup();
    arns
}

/// Reports a failed step; the steps depending on it are left out.
pub(super) fn failed<T>(
    r: &mut Report,
    subject: impl Into<String>,
    e: &ProvisionError,
) -> Option<T> {
    r.push_setup_error(subject, e);
    None
}
