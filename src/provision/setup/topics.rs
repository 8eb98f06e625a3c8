//! Topics (notice, loss), their policies, the repair queue's policy and subscription, and
//! the job queue's policy for `--job-events`.

use std::collections::HashMap;

use super::{apply_policy, bucket_arns, failed, PolicyTarget};
use crate::provision::aws_calls::{self as calls, QueueState};
use crate::provision::plan::{NoticeTopic, Plan};
use crate::provision::policy;
use crate::provision::{Clients, Report, Status};

/// A topic by ARN, created (by its name) if missing: `(arn, attributes, created)`.
async fn topic(
    r: &mut Report,
    c: &Clients,
    subject: &str,
    arn: &str,
    name: &str,
) -> Option<(String, HashMap<String, String>, bool)> {
    let found = match calls::topic_attributes(c, arn).await {
        Ok(found) => found,
        Err(e) => return failed(r, subject, &e),
    };
    if let Some(attrs) = found {
        return Some((arn.to_owned(), attrs, false));
    }
    let created = match calls::create_topic(c, name).await {
        Ok(created) => created,
        Err(e) => return failed(r, subject, &e),
    };
    match calls::topic_attributes(c, &created).await {
        Ok(attrs) => Some((created, attrs.unwrap_or_default(), true)),
        Err(e) => failed(r, subject, &e),
    }
}

pub(super) async fn notice_topic(r: &mut Report, c: &Clients, t: &NoticeTopic) {
    let subject = format!("notice topic {}", t.name);
    let Some((arn, _, created)) = topic(r, c, &subject, &t.arn, &t.name).await else {
        return;
    };
    if arn != t.arn {
        let message = format!("created as {arn}, but notices.sns_topic_arn is {}", t.arn);
        let fix =
            "set notices.sns_topic_arn to the created ARN, or run setup in that account and region";
        r.push_fix(Status::Failed, subject, message, fix);
    } else if created {
        r.push(Status::Created, subject, format!("created ({arn})"));
    } else {
        r.push(Status::Ok, subject, format!("exists ({arn})"));
    }
}

/// The loss topic, its policy, the repair queue's policy and subscription; the topic ARN.
pub(super) async fn loss_wiring(
    r: &mut Report,
    c: &Clients,
    plan: &Plan,
    repair: &QueueState,
) -> Option<String> {
    let subject = format!("loss topic {}", plan.loss_topic);
    let qarn = match calls::queue_arn(repair) {
        Ok(a) => a,
        Err(e) => return failed(r, subject, &e),
    };
    let want = qarn.sibling("sns", &plan.loss_topic);
    let (arn, attrs, created) = topic(r, c, &subject, &want, &plan.loss_topic).await?;
    let (status, verb) = if created {
        (Status::Created, "created")
    } else {
        (Status::Ok, "exists")
    };
    r.push(status, &subject, format!("{verb} ({arn})"));
    let buckets = bucket_arns(&qarn, &plan.derived);
    let stmt = policy::s3_publish_statement(&arn, &buckets, &qarn.account);
    let what = "lets S3 publish losses of the derived buckets";
    let target = PolicyTarget::Topic(&arn);
    apply_policy(
        r,
        c,
        &subject,
        target,
        attrs.get("Policy").map(String::as_str),
        stmt,
        what,
    )
    .await;
    let queue_subject = format!("queue {}", repair_name(plan));
    let stmt = policy::sns_send_statement(&repair.arn, &arn);
    let target = PolicyTarget::Queue(&repair.url);
    let what = "lets the loss topic send";
    apply_policy(
        r,
        c,
        &queue_subject,
        target,
        repair.policy.as_deref(),
        stmt,
        what,
    )
    .await;
    subscription(r, c, &arn, repair).await;
    Some(arn)
}

fn repair_name(plan: &Plan) -> &str {
    plan.repair.as_ref().map_or("", |q| q.name.as_str())
}

async fn subscription(r: &mut Report, c: &Clients, topic: &str, repair: &QueueState) {
    let subject = "subscription loss topic → repair queue";
    let subs = match calls::subscriptions(c, topic).await {
        Ok(s) => s,
        Err(e) => return r.push_setup_error(subject, &e),
    };
    let found = subs
        .iter()
        .find(|s| s.protocol == "sqs" && s.endpoint == repair.arn);
    match found {
        Some(s) => match calls::raw_delivery(c, &s.arn).await {
            Ok(true) => r.push(
                Status::Ok,
                subject,
                format!("exists ({}, raw delivery)", s.arn),
            ),
            Ok(false) => r.push(
                Status::Ok,
                subject,
                format!("exists ({}, SNS envelope; derivd reads both)", s.arn),
            ),
            Err(e) => r.push_setup_error(subject, &e),
        },
        None => match calls::subscribe_queue(c, topic, &repair.arn).await {
            Ok(arn) => r.push(
                Status::Created,
                subject,
                format!("created ({arn}, raw delivery)"),
            ),
            Err(e) => r.push_setup_error(subject, &e),
        },
    }
}

/// `--job-events`: the job queue's policy lets S3 send for the source buckets. False if
/// that could not be done (then no notification is pointed at the queue).
pub(super) async fn job_queue_policy(
    r: &mut Report,
    c: &Clients,
    plan: &Plan,
    jobs: &QueueState,
) -> bool {
    let subject = format!("queue {}", plan.jobs.name);
    let qarn = match calls::queue_arn(jobs) {
        Ok(a) => a,
        Err(e) => {
            r.push_setup_error(subject, &e);
            return false;
        }
    };
    let buckets = bucket_arns(&qarn, &plan.uploads);
    let stmt = policy::s3_send_statement(&jobs.arn, &buckets, &qarn.account);
    let target = PolicyTarget::Queue(&jobs.url);
    let what = "lets S3 send the source buckets' upload events";
    apply_policy(r, c, &subject, target, jobs.policy.as_deref(), stmt, what).await
}
