//! Completion notices: one JSON document per finished job, published to an SNS topic (aws)
//! or appended to a JSONL file (embedded), so clients learn when their objects exist.
//!
//! A notice that cannot be published is logged and counted but does not fail the job: the
//! derived objects are already durably written, which is what the job owed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The client's correlation id from the job message, if it gave one.
    pub id: Option<String>,
    pub bucket: String,
    pub source: String,
    /// `ok` or `failed`.
    pub status: String,
    pub derived: Vec<NoticeDerived>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

impl Notifier {
    pub fn jsonl(path: PathBuf) -> Notifier {
        Notifier::Jsonl {
            path,
            lock: Mutex::new(()),
        }
    }

    pub async fn publish(&self, notice: &Notice) -> Result<(), String> {
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
                .map_err(|e| crate::aws::sdk_failure(&e).detail),
            Notifier::Jsonl { path, lock } => {
                let _g = lock.lock().await;
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let mut f = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                f.write_all(format!("{body}\n").as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                f.flush().await.map_err(|e| e.to_string())
            }
        }
    }
}
