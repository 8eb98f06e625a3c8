//! The loss chain (derived bucket → notification → topic → subscription → repair queue,
//! with the policies each hop needs) and the optional upload → job queue wiring.

use std::collections::HashMap;

use super::SETUP;
use crate::provision::aws_calls::{self as calls, QueueState};
use crate::provision::plan::{Arn, Place, Plan};
use crate::provision::policy::{self, S3_PRINCIPAL, SNS_PRINCIPAL};
use crate::provision::wiring::{Destination, Notifications, LOST_OBJECT_EVENT};
use crate::provision::{Clients, ProvisionError, Report, Status};
use crate::storage::StorageClass;

pub(super) type Fetched = HashMap<String, Result<Notifications, ProvisionError>>;

/// Losses: derived bucket → notification → topic (policy) → subscription → repair queue
/// (policy).
pub(super) async fn loss_chain(
    r: &mut Report,
    c: &Clients,
    plan: &Plan,
    n: &Fetched,
    repair: Option<&QueueState>,
) {
    let rrs = plan.storage_class == StorageClass::ReducedRedundancy;
    let Some(repair) = repair else {
        if plan.repair.is_none() && rrs {
            let message = "queue.repair is unset: lost objects are regenerated only by \
                           `derivd audit --repair` or on read";
            r.push_fix(
                Status::Warn,
                "loss chain",
                message,
                "set queue.repair and run derivd setup",
            );
        } else if plan.repair.is_none() {
            r.push(
                Status::Skipped,
                "loss chain",
                "queue.repair is unset: no repair listener",
            );
        }
        return;
    };
    // Each topic once, with the buckets whose notifications name it.
    let mut topics: Vec<(String, Vec<String>)> = Vec::new();
    for place in &plan.derived {
        let found = match n.get(&place.bucket) {
            Some(Ok(found)) => found,
            Some(Err(e)) => {
                r.push_check_error(loss_subject(place), e);
                continue;
            }
            None => continue, // the bucket is not reachable: its ✗ is reported
        };
        for topic in loss_notification(r, place, found, repair) {
            match topics.iter_mut().find(|(t, _)| *t == topic) {
                Some((_, buckets)) if buckets.contains(&place.bucket) => {}
                Some((_, buckets)) => buckets.push(place.bucket.clone()),
                None => topics.push((topic, vec![place.bucket.clone()])),
            }
        }
    }
    for (topic, buckets) in &topics {
        loss_topic(r, c, plan, topic, buckets, repair).await;
    }
}

fn loss_subject(p: &Place) -> String {
    match p.prefix.as_str() {
        "" => format!("loss notification on bucket {}", p.bucket),
        prefix => format!("loss notification on bucket {} ({prefix})", p.bucket),
    }
}

/// The entries reporting losses under the derived prefix; the topics they name.
fn loss_notification(
    r: &mut Report,
    place: &Place,
    n: &Notifications,
    repair: &QueueState,
) -> Vec<String> {
    let subject = loss_subject(place);
    let entries: Vec<_> = n
        .entries
        .iter()
        .filter(|e| e.delivers(LOST_OBJECT_EVENT, &place.prefix))
        .collect();
    if entries.is_empty() {
        let message = format!(
            "no {LOST_OBJECT_EVENT} notification covers it: lost objects are never reported"
        );
        r.push_fix(Status::Failed, subject, message, SETUP);
        return Vec::new();
    }
    let mut topics = Vec::new();
    for e in entries {
        let what = format!("{} ({})", e.id_or_none(), e.describe());
        match &e.destination {
            Destination::Topic(arn) => {
                r.push(Status::Ok, &subject, what);
                topics.push(arn.clone());
            }
            Destination::Queue(arn) if *arn == repair.arn => r.push(
                Status::Ok,
                &subject,
                format!("{what}: straight to the repair queue"),
            ),
            _ => r.push_fix(
                Status::Failed,
                &subject,
                format!("{what}: does not lead to the repair queue"),
                SETUP,
            ),
        }
    }
    topics
}

async fn loss_topic(
    r: &mut Report,
    c: &Clients,
    plan: &Plan,
    arn: &str,
    buckets: &[String],
    repair: &QueueState,
) {
    let subject = format!("loss topic {arn}");
    match calls::topic_attributes(c, arn).await {
        Ok(Some(attrs)) => {
            let policy = attrs.get("Policy").map(String::as_str);
            let denied: Vec<&str> = buckets
                .iter()
                .map(String::as_str)
                .filter(|b| !publish_allowed(policy, arn, b))
                .collect();
            if denied.is_empty() {
                let message = format!(
                    "exists; its policy lets S3 publish for bucket {}",
                    buckets.join(", ")
                );
                r.push(Status::Ok, &subject, message);
            } else {
                let message = format!(
                    "its policy does not let S3 publish for bucket {}: AWS drops the reports",
                    denied.join(", ")
                );
                r.push_fix(Status::Failed, &subject, message, SETUP);
            }
        }
        Ok(None) => {
            let message = "does not exist, yet a bucket notification names it";
            return r.push_fix(Status::Failed, subject, message, SETUP);
        }
        Err(e) => r.push_check_error(&subject, &e),
    }
    subscription(r, c, arn, repair).await;
    let subject = format!(
        "queue {}",
        plan.repair.as_ref().map_or("", |q| q.name.as_str())
    );
    if policy::allows(
        repair.policy.as_deref(),
        SNS_PRINCIPAL,
        "sqs:SendMessage",
        &repair.arn,
        arn,
    ) {
        r.push(Status::Ok, subject, format!("policy lets {arn} send"));
    } else {
        let message = format!("policy does not let {arn} send: AWS drops the reports");
        r.push_fix(Status::Failed, subject, message, SETUP);
    }
}

fn publish_allowed(policy: Option<&str>, topic: &str, bucket: &str) -> bool {
    let partition = Arn::parse(topic).map_or("aws".to_owned(), |a| a.partition);
    let source = format!("arn:{partition}:s3:::{bucket}");
    policy::allows(policy, S3_PRINCIPAL, "sns:Publish", topic, &source)
}

async fn subscription(r: &mut Report, c: &Clients, topic: &str, repair: &QueueState) {
    let subject = format!("subscription {topic} → repair queue");
    let subs = match calls::subscriptions(c, topic).await {
        Ok(s) => s,
        Err(e) => return r.push_check_error(subject, &e),
    };
    let Some(sub) = subs
        .iter()
        .find(|s| s.protocol == "sqs" && s.endpoint == repair.arn)
    else {
        let message = "none: losses reach the topic but not the repair queue";
        return r.push_fix(Status::Failed, subject, message, SETUP);
    };
    match calls::raw_delivery(c, &sub.arn).await {
        Ok(raw) => {
            let delivery = if raw {
                "raw delivery"
            } else {
                "SNS envelope; derivd reads both"
            };
            r.push(Status::Ok, subject, format!("{} ({delivery})", sub.arn));
        }
        Err(e) => r.push_check_error(subject, &e),
    }
}

/// Uploads → job queue, if wired (optional: jobs can be sent to the queue directly).
pub(super) fn job_events(r: &mut Report, plan: &Plan, n: &Fetched, jobs: &QueueState) {
    let mut seen = std::collections::HashSet::new();
    for place in &plan.uploads {
        if !seen.insert(place.bucket.as_str()) {
            continue;
        }
        let subject = format!("job events on bucket {}", place.bucket);
        let Some(Ok(found)) = n.get(&place.bucket) else {
            continue;
        };
        let to_jobs: Vec<_> = found
            .entries
            .iter()
            .filter(|e| e.destination == Destination::Queue(jobs.arn.clone()))
            .filter(|e| {
                e.events
                    .iter()
                    .any(|ev| ev.trim_start_matches("s3:").starts_with("ObjectCreated"))
            })
            .collect();
        if to_jobs.is_empty() {
            let message = "none: uploads start jobs only when a job is sent \
                           (derivd setup --job-events adds them)";
            r.push(Status::Skipped, subject, message);
            continue;
        }
        let partition = Arn::parse(&jobs.arn).map_or("aws".to_owned(), |a| a.partition);
        let source = format!("arn:{partition}:s3:::{}", place.bucket);
        let allowed = policy::allows(
            jobs.policy.as_deref(),
            S3_PRINCIPAL,
            "sqs:SendMessage",
            &jobs.arn,
            &source,
        );
        for e in to_jobs {
            let what = format!("{} ({})", e.id_or_none(), e.describe());
            if allowed {
                r.push(Status::Ok, &subject, what);
            } else {
                let message = format!(
                    "{what}, but the job queue's policy does not let S3 send for this bucket"
                );
                r.push_fix(
                    Status::Failed,
                    &subject,
                    message,
                    "run derivd setup --job-events",
                );
            }
        }
    }
}
