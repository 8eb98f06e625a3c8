//! The buckets' notification configurations, merged (see [`crate::provision::wiring`]).

use crate::provision::aws_calls::{self as calls, QueueState};
use crate::provision::plan::Plan;
use crate::provision::wiring::{self, Entry, Outcome};
use crate::provision::{Clients, Line, Report, Status};

/// derivd's notification entries for one bucket.
pub(super) fn wanted_entries(
    plan: &Plan,
    bucket: &str,
    loss: Option<&str>,
    jobs: Option<&QueueState>,
) -> Vec<wiring::Entry> {
    let mut out = Vec::new();
    if let Some(topic) = loss {
        let places = plan.derived.iter().filter(|p| p.bucket == bucket);
        out.extend(places.map(|p| wiring::loss_entry(topic, &p.prefix)));
    }
    if let Some(q) = jobs {
        let places = plan.uploads.iter().filter(|p| p.bucket == bucket);
        out.extend(places.map(|p| wiring::job_events_entry(&q.arn, &p.prefix)));
    }
    out.dedup();
    out
}

pub(super) async fn bucket_notifications(
    r: &mut Report,
    c: &Clients,
    bucket: &str,
    wanted: &[wiring::Entry],
) {
    let subject = format!("bucket {bucket}");
    let current = match calls::notifications(c, bucket).await {
        Ok(n) => n,
        Err(e) => return r.push_setup_error(subject, &e),
    };
    let merge = wiring::merge(&current, wanted);
    if merge.changed {
        if let Err(e) = calls::put_notifications(c, bucket, &merge.result).await {
            return r.push_setup_error(subject, &e);
        }
    }
    for (entry, outcome) in &merge.outcomes {
        let subject = format!("notification {} on bucket {bucket}", entry.id_or_none());
        let (status, message, fix) = outcome_line(entry, outcome);
        r.lines.push(Line {
            status,
            subject,
            message,
            fix: fix.map(str::to_owned),
        });
    }
    for kept in &merge.kept {
        let message = format!("kept entry {} ({})", kept.id_or_none(), kept.describe());
        r.push(Status::Ok, &subject, message);
    }
}

/// What a merge outcome of one of derivd's entries says.
fn outcome_line(entry: &Entry, outcome: &Outcome) -> (Status, String, Option<&'static str>) {
    let what = entry.describe();
    match outcome {
        Outcome::AlreadyThere => (Status::Ok, format!("exists ({what})"), None),
        Outcome::CoveredBy(id) => {
            let message = format!("not needed: entry {id} (not derivd's) already sends {what}");
            (Status::Ok, message, None)
        }
        Outcome::Added => (Status::Created, format!("created ({what})"), None),
        Outcome::Replaced(old) => {
            let ids: Vec<&str> = old.iter().map(|e| e.id_or_none()).collect();
            let message = format!("updated ({what}; replaced {})", ids.join(", "));
            (Status::Updated, message, None)
        }
        Outcome::Conflict(other) => {
            let message = format!(
                "not created: it overlaps entry {} ({}), which is not derivd's",
                other.id_or_none(),
                other.describe()
            );
            let fix = "remove or narrow that entry (S3 refuses overlapping entries), or point it \
                       at derivd's topic or queue";
            (Status::Failed, message, Some(fix))
        }
    }
}
