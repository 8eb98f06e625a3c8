//! `derivd check`: verifies the live wiring, one line per link, each ✗ with a fix hint.
//!
//! It follows what AWS will really do rather than the names `setup` would use: the loss
//! chain starts at each derived bucket's notification configuration and goes to whatever
//! topic that names, so a CloudFormation stack's generated names check as well as
//! `setup`'s. Only reads; a read that is denied gives "? cannot verify (AccessDenied)"
//! instead of a guess.

mod loss;

use std::collections::HashMap;

use super::aws_calls::{self as calls, QueueState};
use super::plan::{Arn, Plan, QueuePlan, MIN_RECEIVES};
use super::{Clients, Report, Status};
use crate::config::Config;
use crate::storage::StorageClass;

pub(super) const SETUP: &str = "run derivd setup";

pub async fn check(cfg: &Config, c: &Clients) -> Report {
    let plan = Plan::new(cfg);
    let mut r = Report::default();
    let mut notifications = HashMap::new();
    for bucket in &plan.buckets {
        if reachable(&mut r, c, bucket).await {
            notifications.insert(bucket.clone(), calls::notifications(c, bucket).await);
        }
    }
    storage_class(&mut r, &plan);
    let jobs = queue(&mut r, c, &plan, &plan.jobs).await;
    let repair = match &plan.repair {
        Some(q) => queue(&mut r, c, &plan, q).await,
        None => None,
    };
    match &plan.rejects {
        Some(q) => rejects(&mut r, c, q).await,
        None => super::setup::no_rejects_queue(&mut r),
    }
    loss::loss_chain(&mut r, c, &plan, &notifications, repair.as_ref()).await;
    if let Some(jobs) = &jobs {
        loss::job_events(&mut r, &plan, &notifications, jobs);
    }
    notice_topic(&mut r, c, &plan).await;
    r
}

async fn reachable(r: &mut Report, c: &Clients, bucket: &str) -> bool {
    let subject = format!("bucket {bucket}");
    match calls::bucket_exists(c, bucket).await {
        Ok(true) => r.push(Status::Ok, subject, "reachable"),
        Ok(false) => {
            let fix = "create it, or correct storage.buckets / storage.default_bucket";
            r.push_fix(Status::Failed, subject, "does not exist", fix);
            return false;
        }
        Err(e) => r.push_check_error(subject, &e),
    }
    true
}

fn storage_class(r: &mut Report, plan: &Plan) {
    let class = plan.storage_class.as_str();
    let subject = format!("storage class {class}");
    // Directory buckets (S3 Express One Zone) store only EXPRESS_ONEZONE.
    if let Some(b) = plan.derived.iter().find(|p| p.bucket.ends_with("--x-s3")) {
        let message = format!(
            "bucket {} is a directory bucket, which stores only EXPRESS_ONEZONE",
            b.bucket
        );
        return r.push_fix(
            Status::Failed,
            subject,
            message,
            "use a general purpose bucket for derived objects",
        );
    }
    let message = if plan.storage_class == StorageClass::ReducedRedundancy {
        "valid; S3 reports lost objects of this class, so the loss chain must hold"
    } else {
        "valid; S3 sends no loss reports for this class (a repair queue stays idle)"
    };
    r.push(Status::Ok, subject, message);
}

/// A work queue: exists, redrive present and ≥ 5 (to an existing DLQ), visibility above
/// the job time limit.
async fn queue(r: &mut Report, c: &Clients, plan: &Plan, q: &QueuePlan) -> Option<QueueState> {
    let subject = format!("queue {}", q.name);
    let state = match calls::find_queue(c, q).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let message = format!("does not exist ({} {})", q.key, q.role);
            r.push_fix(Status::Failed, subject, message, SETUP);
            return None;
        }
        Err(e) => {
            r.push_check_error(subject, &e);
            return None;
        }
    };
    r.push(Status::Ok, &subject, format!("exists ({})", q.role));
    redrive(r, c, &subject, &state).await;
    match state.visibility_secs {
        Some(v) if v > plan.job_timeout_secs => r.push(
            Status::Ok,
            &subject,
            format!(
                "visibility {v} s > job time limit {} s",
                plan.job_timeout_secs
            ),
        ),
        v => r.push_fix(
            Status::Failed,
            &subject,
            format!(
                "visibility {} s is not above the job time limit worker.job_timeout_secs = {} s: \
                 another worker may take a message whose job still runs",
                v.map_or("?".into(), |v| v.to_string()),
                plan.job_timeout_secs
            ),
            format!(
                "{SETUP} (sets queue.visibility_timeout_secs = {} s)",
                plan.visibility_secs
            ),
        ),
    }
    Some(state)
}

/// The rejects queue exists (it has no consumer, so no redrive or visibility to check).
async fn rejects(r: &mut Report, c: &Clients, q: &QueuePlan) {
    let subject = format!("queue {}", q.name);
    match calls::find_queue(c, q).await {
        Ok(Some(_)) => r.push(Status::Ok, subject, "exists (rejects queue)"),
        Ok(None) => {
            let message = format!(
                "does not exist ({} rejects queue): malformed job messages cannot be kept, \
                 so they are retried and dead-lettered instead",
                q.key
            );
            r.push_fix(Status::Failed, subject, message, SETUP);
        }
        Err(e) => r.push_check_error(subject, &e),
    }
}

async fn redrive(r: &mut Report, c: &Clients, subject: &str, state: &QueueState) {
    let rd = match &state.redrive {
        None => {
            let message = "no redrive policy: a message that keeps failing is received forever";
            return r.push_fix(
                Status::Failed,
                subject,
                message,
                format!("{SETUP} (adds a dead-letter queue)"),
            );
        }
        Some(Err(text)) => {
            let message = format!("unreadable redrive policy {text:?}");
            return r.push_fix(Status::Failed, subject, message, SETUP);
        }
        Some(Ok(rd)) => rd,
    };
    let dlq = Arn::parse(&rd.dlq_arn);
    let name = dlq
        .as_ref()
        .map_or(rd.dlq_arn.clone(), |a| a.resource.clone());
    if rd.max_receives < MIN_RECEIVES {
        let message = format!(
            "redrive → {name} after {} receives, below {MIN_RECEIVES}: a job whose worker \
             was merely restarted is dead-lettered",
            rd.max_receives
        );
        return r.push_fix(
            Status::Failed,
            subject,
            message,
            format!("{SETUP} (sets queue.max_receives)"),
        );
    }
    let Some(dlq) = dlq else {
        let message = format!("redrive target {:?} is not a queue ARN", rd.dlq_arn);
        return r.push_fix(Status::Failed, subject, message, SETUP);
    };
    match calls::queue_url(c, &dlq.resource, Some(&dlq.account)).await {
        Ok(Some(_)) => r.push(
            Status::Ok,
            subject,
            format!("redrive → {name} after {} receives", rd.max_receives),
        ),
        Ok(None) => r.push_fix(
            Status::Failed,
            subject,
            format!("redrive → {name}, which does not exist: failing messages are lost"),
            SETUP,
        ),
        Err(e) => r.push_check_error(format!("{subject} (dead-letter queue {name})"), &e),
    }
}

async fn notice_topic(r: &mut Report, c: &Clients, plan: &Plan) {
    let topic = match &plan.notice_topic {
        None => {
            return r.push(
                Status::Skipped,
                "notice topic",
                "notices.sns_topic_arn is unset: no notices",
            )
        }
        Some(Err(e)) => {
            return r.push_fix(
                Status::Failed,
                "notices.sns_topic_arn",
                e.clone(),
                "give the topic's ARN",
            )
        }
        Some(Ok(t)) => t,
    };
    let subject = format!("notice topic {}", topic.name);
    match calls::topic_attributes(c, &topic.arn).await {
        Ok(Some(_)) => r.push(Status::Ok, subject, format!("exists ({})", topic.arn)),
        Ok(None) => {
            let message = format!("{} does not exist: every notice publish fails", topic.arn);
            r.push_fix(
                Status::Failed,
                subject,
                message,
                "run derivd setup, or correct notices.sns_topic_arn",
            )
        }
        Err(e) => r.push_check_error(subject, &e),
    }
}
