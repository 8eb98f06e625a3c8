//! Completion notices: one JSON document per finished job, published to an SNS topic (aws)
//! or appended to a JSONL file (embedded), so clients learn when their objects exist.
//!
//! A notice that cannot be published is logged and counted but does not fail the job: the
//! derived objects are already durably written, which is what the job owed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::manifest::SourceFacts;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The client's correlation id from the job message, if it gave one.
    pub id: Option<String>,
    /// Absent only in the notice for a message that did not parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `ok` or `failed`.
    pub status: String,
    pub derived: Vec<NoticeDerived>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a message that did not parse: its queue message id ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// ... and the first [`BODY_EXCERPT_BYTES`] of its body, so the sender can tell which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// For a job that succeeded: the source's media type, size and placeholders (and a
    /// video's or PDF's facts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<SourceFacts>,
}

/// How much of a malformed message's body its failure notice quotes.
pub const BODY_EXCERPT_BYTES: usize = 1024;

impl Notice {
    /// The failure notice for a queue message that is not a valid job message.
    pub fn malformed(message_id: &str, body: &str, error: String) -> Notice {
        Notice {
            id: None,
            bucket: None,
            source: None,
            status: "failed".into(),
            derived: Vec::new(),
            error: Some(error),
            message_id: Some(message_id.to_string()),
            body: Some(excerpt(body, BODY_EXCERPT_BYTES).to_string()),
            facts: None,
        }
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn excerpt(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeDerived {
    pub transform: String,
    pub key: String,
    pub bytes: u64,
}

pub enum Notifier {
    None,
    Sns {
        client: aws_sdk_sns::Client,
        topic_arn: String,
    },
    Jsonl {
        path: PathBuf,
        lock: Mutex<()>,
    },
}

/// Why a notice could not be published.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("publishing to SNS: {0}")]
    Sns(String),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Notifier {
    pub fn jsonl(path: PathBuf) -> Notifier {
        Notifier::Jsonl {
            path,
            lock: Mutex::new(()),
        }
    }

    /// Publishes `notice`; a failure is logged and counted, never returned: the derived
    /// objects are already written, which is what the work owed.
    pub async fn publish_counted(&self, notice: &Notice, metrics: &crate::metrics::Metrics) {
        if let Err(e) = self.publish(notice).await {
            tracing::warn!(error = %e, "could not publish notice");
            metrics.notice_failures.inc();
        }
    }

    pub async fn publish(&self, notice: &Notice) -> Result<(), NoticeError> {
        let body = serde_json::to_string(notice).expect("notice serialises");
        match self {
            Notifier::None => Ok(()),
            Notifier::Sns { client, topic_arn } => client
                .publish()
                .topic_arn(topic_arn)
                .subject(format!("derivd job {}", notice.status))
                .message(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| NoticeError::Sns(crate::aws::sdk_failure(&e).detail)),
            Notifier::Jsonl { path, lock } => {
                let _g = lock.lock().await;
                append_line(path, &body)
                    .await
                    .map_err(|source| NoticeError::File {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }
}

/// Appends one line, durably: a notice read back after a crash must have been written.
async fn append_line(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut f = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    f.write_all(format!("{line}\n").as_bytes()).await?;
    f.sync_data().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_message_notice_quotes_at_most_1_kib_and_omits_bucket_and_source() {
        let body = format!("{}é{}", "a".repeat(1023), "b".repeat(5000));
        let n = Notice::malformed("m-1", &body, "invalid: source".into());
        let quoted = n.body.as_deref().unwrap();
        assert_eq!(quoted, "a".repeat(1023), "cut before the 2-byte é");
        let json: serde_json::Value = serde_json::to_value(&n).unwrap();
        assert!(json.get("bucket").is_none() && json.get("source").is_none());
        assert_eq!(json["message_id"], "m-1");
        let back: Notice = serde_json::from_value(json).unwrap();
        assert_eq!(back, n);
    }
}
