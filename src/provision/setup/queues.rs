//! The work queues and their dead-letter queues.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName as Attr;

use super::failed;
use crate::provision::aws_calls::{self as calls, QueueState, Redrive};
use crate::provision::plan::{Arn, Plan, QueuePlan, DLQ_RETENTION_SECS};
use crate::provision::{Clients, ProvisionError, Report, Status};

fn describe_queue(q: &QueuePlan, s: &QueueState) -> String {
    let redrive = match &s.redrive {
        Some(Ok(rd)) => {
            let dlq = Arn::parse(&rd.dlq_arn).map_or(rd.dlq_arn.clone(), |a| a.resource);
            format!("redrive → {dlq} after {} receives", rd.max_receives)
        }
        _ => "no redrive".into(),
    };
    let vis = s.visibility_secs.map_or("?".into(), |v| v.to_string());
    format!("{}; visibility {vis} s; {redrive}", q.role)
}

/// The job or repair queue, created or brought to the config's visibility and redrive.
pub(super) async fn work_queue(
    r: &mut Report,
    c: &Clients,
    plan: &Plan,
    q: &QueuePlan,
) -> Option<QueueState> {
    let subject = format!("queue {}", q.name);
    let found = match calls::find_queue(c, q).await {
        Ok(found) => found,
        Err(e) => return failed(r, subject, &e),
    };
    let (attrs, mut changes) = queue_changes(r, c, plan, q, found.as_ref()).await?;
    if found.is_some() && !attrs.is_empty() && changes.is_empty() {
        changes.push("attributes rewritten".to_owned()); // e.g. an unreadable visibility
    }
    let result = match &found {
        None => create_work_queue(c, q, attrs).await,
        Some(s) if attrs.is_empty() => Ok(s.clone()),
        Some(s) => match calls::set_queue_attributes(c, &s.url, attrs).await {
            Ok(()) => calls::queue_state(c, &s.url)
                .await
                .map(|n| n.unwrap_or_else(|| s.clone())),
            Err(e) => Err(e),
        },
    };
    let state = match result {
        Ok(s) => s,
        Err(e) => return failed(r, subject, &e),
    };
    let what = describe_queue(q, &state);
    match &found {
        None => r.push(Status::Created, &subject, format!("created ({what})")),
        Some(_) if changes.is_empty() => r.push(Status::Ok, &subject, format!("exists ({what})")),
        Some(_) => r.push(
            Status::Updated,
            &subject,
            format!("updated: {} ({what})", changes.join(", ")),
        ),
    }
    if let Some(url) = q.url.as_ref().filter(|u| **u != state.url) {
        let fix = format!("set {} to {}", q.key, state.url);
        r.push_fix(
            Status::Warn,
            &subject,
            format!("its URL is {}, not {url}", state.url),
            fix,
        );
    }
    Some(state)
}

/// The attributes that bring the queue to the config, and what they change; `None` when
/// its dead-letter queue could not be made (that ✗ is reported).
async fn queue_changes(
    r: &mut Report,
    c: &Clients,
    plan: &Plan,
    q: &QueuePlan,
    found: Option<&QueueState>,
) -> Option<(HashMap<Attr, String>, Vec<String>)> {
    let (mut attrs, mut changes) = (HashMap::new(), Vec::new());
    let max_receives = plan.max_receives;
    // A redrive policy is kept (count aside) while its dead-letter queue exists.
    let mut kept = found.and_then(|s| s.redrive.clone()).and_then(Result::ok);
    if let Some(rd) = &kept {
        if !kept_dlq_exists(r, c, q, rd).await? {
            kept = None;
        }
    }
    let redrive = match kept {
        Some(rd) if rd.max_receives == max_receives => None,
        Some(rd) => {
            let was = rd.max_receives;
            changes.push(format!("maxReceiveCount {was} → {max_receives}"));
            Some(rd.dlq_arn)
        }
        None => {
            let dlq = dlq(r, c, q).await?;
            if found.is_some() {
                changes.push("redrive policy added".to_owned());
            }
            Some(dlq.arn)
        }
    };
    if let Some(dlq_arn) = redrive {
        attrs.insert(
            Attr::RedrivePolicy,
            Redrive {
                dlq_arn,
                max_receives,
            }
            .to_json(),
        );
    }
    let visibility = found.and_then(|s| s.visibility_secs);
    if visibility != Some(plan.visibility_secs) {
        if let Some(v) = visibility.filter(|_| found.is_some()) {
            changes.push(format!("visibility {v} s → {} s", plan.visibility_secs));
        }
        attrs.insert(Attr::VisibilityTimeout, plan.visibility_secs.to_string());
    }
    Some((attrs, changes))
}

/// Whether the dead-letter queue an existing redrive policy names is there (reported as
/// a line); `None` if that could not be read (reported as ✗).
async fn kept_dlq_exists(r: &mut Report, c: &Clients, q: &QueuePlan, rd: &Redrive) -> Option<bool> {
    let Some(arn) = Arn::parse(&rd.dlq_arn) else {
        return Some(false);
    };
    let subject = format!("queue {}", arn.resource);
    match calls::queue_url(c, &arn.resource, Some(&arn.account)).await {
        Ok(Some(_)) => {
            r.push(
                Status::Ok,
                subject,
                format!("exists (dead-letter queue of {})", q.name),
            );
            Some(true)
        }
        Ok(None) => Some(false),
        Err(e) => failed(r, subject, &e),
    }
}

async fn create_work_queue(
    c: &Clients,
    q: &QueuePlan,
    mut attrs: HashMap<Attr, String>,
) -> Result<QueueState, ProvisionError> {
    attrs.insert(Attr::SqsManagedSseEnabled, "true".into());
    if let Some(secs) = q.retention_secs {
        attrs.insert(Attr::MessageRetentionPeriod, secs.to_string());
    }
    calls::create_queue(c, &q.name, attrs).await
}

/// The rejects queue (`queue.rejects`), created if missing: a holding queue for an
/// operator, so no redrive, and the dead-letter queues' 14-day retention.
pub(super) async fn rejects_queue(r: &mut Report, c: &Clients, q: &QueuePlan) {
    let subject = format!("queue {}", q.name);
    let message = "rejects queue: malformed job messages with their reason";
    match calls::find_queue(c, q).await {
        Ok(Some(_)) => r.push(Status::Ok, subject, format!("exists ({message})")),
        Ok(None) if q.url.is_some() => {
            let fix = format!("correct {} or give a name for setup to create", q.key);
            let text = format!("{} names no queue", q.key);
            r.push_fix(Status::Failed, subject, text, fix);
        }
        Ok(None) => match create_work_queue(c, q, HashMap::new()).await {
            Ok(_) => r.push(
                Status::Created,
                subject,
                format!("created ({message}; keeps them 14 days)"),
            ),
            Err(e) => r.push_setup_error(subject, &e),
        },
        Err(e) => r.push_setup_error(subject, &e),
    }
}

/// The work queue's dead-letter queue, created if missing.
async fn dlq(r: &mut Report, c: &Clients, q: &QueuePlan) -> Option<QueueState> {
    let subject = format!("queue {}", q.dlq);
    let message = format!("dead-letter queue of {}", q.name);
    let found = match calls::queue_url(c, &q.dlq, None).await {
        Ok(Some(url)) => calls::queue_state(c, &url).await,
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    let attrs = HashMap::from([
        (Attr::MessageRetentionPeriod, DLQ_RETENTION_SECS.to_string()),
        (Attr::SqsManagedSseEnabled, "true".into()),
    ]);
    match found {
        Ok(Some(s)) => {
            r.push(Status::Ok, subject, format!("exists ({message})"));
            Some(s)
        }
        Ok(None) => match calls::create_queue(c, &q.dlq, attrs).await {
            Ok(s) => {
                r.push(
                    Status::Created,
                    subject,
                    format!("created ({message}; keeps messages 14 days)"),
                );
                Some(s)
            }
            Err(e) => failed(r, subject, &e),
        },
        Err(e) => failed(r, subject, &e),
    }
}
