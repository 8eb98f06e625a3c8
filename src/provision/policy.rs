//! Resource policies (SQS queue and SNS topic policies): the statements derivd needs, merging
//! one into a policy that may hold others, and a conservative "does it allow?". Pure.
//!
//! Why: S3 publishes to the loss topic, and SNS and S3 send to derivd's queues, only if the
//! destination's policy says so (AWS enforces it; moto does not). A policy is one JSON
//! document replaced whole, so derivd owns exactly one statement per purpose, found by its
//! `Sid`, and leaves every other statement (SNS's default one, an operator's) alone.

use serde_json::{json, Value};

/// On the loss topic: S3 may publish for derivd's derived buckets.
pub const LOSS_TOPIC_SID: &str = "derivdS3LossEvents";
/// On the repair queue: the loss topic may send.
pub const REPAIR_QUEUE_SID: &str = "derivdLossTopic";
/// On the job queue (`setup --job-events`): S3 may send for the source buckets.
pub const JOB_QUEUE_SID: &str = "derivdS3JobEvents";

pub const S3_PRINCIPAL: &str = "s3.amazonaws.com";
pub const SNS_PRINCIPAL: &str = "sns.amazonaws.com";

/// A string or, for several, a list (how AWS writes one-element lists back).
fn one_or_many(values: &[String]) -> Value {
    match values {
        [one] => json!(one),
        many => json!(many),
    }
}

/// S3 may `sns:Publish` to `topic_arn` for these buckets of `account`.
pub fn s3_publish_statement(topic_arn: &str, bucket_arns: &[String], account: &str) -> Value {
    json!({
        "Sid": LOSS_TOPIC_SID,
        "Effect": "Allow",
        "Principal": {"Service": S3_PRINCIPAL},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {
            "ArnLike": {"aws:SourceArn": one_or_many(bucket_arns)},
            "StringEquals": {"aws:SourceAccount": account},
        },
    })
}

/// The loss topic may `sqs:SendMessage` to `queue_arn`, and nothing else may.
pub fn sns_send_statement(queue_arn: &str, topic_arn: &str) -> Value {
    json!({
        "Sid": REPAIR_QUEUE_SID,
        "Effect": "Allow",
        "Principal": {"Service": SNS_PRINCIPAL},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
    })
}

/// S3 may `sqs:SendMessage` to `queue_arn` for these buckets of `account`.
pub fn s3_send_statement(queue_arn: &str, bucket_arns: &[String], account: &str) -> Value {
    json!({
        "Sid": JOB_QUEUE_SID,
        "Effect": "Allow",
        "Principal": {"Service": S3_PRINCIPAL},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {
            "ArnLike": {"aws:SourceArn": one_or_many(bucket_arns)},
            "StringEquals": {"aws:SourceAccount": account},
        },
    })
}

/// What merging a statement into a policy came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// The statement is there as wanted.
    Unchanged,
    /// The statement was missing; this is the new document.
    Added(String),
    /// A different statement had its `Sid`; this is the new document.
    Replaced(String),
}

/// One-element lists as scalars, recursively, so `["x"]` and `"x"` compare equal.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.len() == 1 => canonical(&a[0]),
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        other => other.clone(),
    }
}

fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// Puts `statement` into the policy `current` (`None` or `""`: no policy yet), replacing
/// the statement with the same `Sid`. `Err`: `current` is not a JSON object.
pub fn merge_statement(current: Option<&str>, statement: Value) -> Result<Merged, String> {
    let mut doc = match current.map(str::trim).filter(|s| !s.is_empty()) {
        None => json!({"Version": "2012-10-17", "Statement": []}),
        Some(text) => serde_json::from_str::<Value>(text).map_err(|e| e.to_string())?,
    };
    if !doc.is_object() {
        return Err("the policy is not a JSON object".into());
    }
    let sid = statement.get("Sid").cloned();
    let mut list = statements(&doc);
    let position = list.iter().position(|s| s.get("Sid") == sid.as_ref());
    let replaced = match position {
        Some(i) if canonical(&list[i]) == canonical(&statement) => return Ok(Merged::Unchanged),
        Some(i) => {
            list[i] = statement;
            true
        }
        None => {
            list.push(statement);
            false
        }
    };
    doc["Statement"] = Value::Array(list);
    let text = doc.to_string();
    Ok(if replaced {
        Merged::Replaced(text)
    } else {
        Merged::Added(text)
    })
}

/// `*` and `?` wildcards, as in IAM's `StringLike` / `ArnLike`; case-sensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // matched[j]: pattern so far matches text[..j].
    let mut matched = vec![false; t.len() + 1];
    matched[0] = true;
    for &pc in &p {
        let mut next = vec![false; t.len() + 1];
        for j in 0..=t.len() {
            next[j] = match pc {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && t[j - 1] == c,
            };
        }
        matched = next;
    }
    matched[t.len()]
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn principal_matches(p: Option<&Value>, service: &str) -> bool {
    match p {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(o)) => {
            strings(o.get("AWS")).iter().any(|a| a == "*")
                || strings(o.get("Service")).iter().any(|s| s == service)
        }
        _ => false,
    }
}

/// Whether the statement's `aws:SourceArn` conditions admit `source_arn`: `Some(true)`
/// admitted (or none), `Some(false)` refused, `None` it has conditions derivd cannot judge.
fn source_arn_condition(cond: Option<&Value>, source_arn: &str) -> Option<bool> {
    let Some(Value::Object(ops)) = cond else {
        return Some(true);
    };
    let mut judgeable = true;
    for (op, keys) in ops {
        let Value::Object(keys) = keys else { continue };
        for (key, values) in keys {
            if !key.eq_ignore_ascii_case("aws:SourceArn") {
                judgeable &= key.eq_ignore_ascii_case("aws:SourceAccount");
                continue;
            }
            let values = strings(Some(values));
            let ok = match op.as_str() {
                "ArnEquals" | "StringEquals" => values.iter().any(|v| v == source_arn),
                "ArnLike" | "StringLike" => values.iter().any(|v| glob(v, source_arn)),
                _ => return None,
            };
            if !ok {
                return Some(false);
            }
        }
    }
    judgeable.then_some(true)
}

/// Does `policy` let `service` (e.g. `s3.amazonaws.com`) do `action` on `resource` for
/// `source_arn`? Conservative: an Allow counts only if its conditions are about the source
/// ARN or account (the account is not checked: derivd cannot know a bucket's owner); a
/// Deny counts when it applies without conditions derivd cannot judge (a Deny on, say,
/// `aws:SecureTransport` does not stop a service, which always uses TLS).
pub fn allows(
    policy: Option<&str>,
    service: &str,
    action: &str,
    resource: &str,
    source_arn: &str,
) -> bool {
    let Some(doc) = policy.and_then(|p| serde_json::from_str::<Value>(p).ok()) else {
        return false;
    };
    let applies = |s: &Value| {
        principal_matches(s.get("Principal"), service)
            && strings(s.get("Action"))
                .iter()
                .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && (s.get("Resource").is_none()
                || strings(s.get("Resource")).iter().any(|r| glob(r, resource)))
    };
    let effect = |s: &Value| {
        s.get("Effect")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let list = statements(&doc);
    let allowed = list.iter().any(|s| {
        effect(s) == "Allow"
            && applies(s)
            && source_arn_condition(s.get("Condition"), source_arn) == Some(true)
    });
    let denied = list.iter().any(|s| {
        effect(s) == "Deny"
            && applies(s)
            && source_arn_condition(s.get("Condition"), source_arn) == Some(true)
    });
    allowed && !denied
}
