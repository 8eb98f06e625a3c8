//! Why a job failed, and so what becomes of its message.

use crate::engine::{EngineError, Fault};
use crate::storage::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub fault: Fault,
    /// Constant label for metrics and notices (`source_missing`, `corrupt`, …).
    pub reason: &'static str,
    pub message: String,
}

impl JobError {
    pub fn client(reason: &'static str, message: impl Into<String>) -> Self {
        JobError {
            fault: Fault::Client,
            reason,
            message: message.into(),
        }
    }
    pub fn transient(reason: &'static str, message: impl Into<String>) -> Self {
        JobError {
            fault: Fault::Transient,
            reason,
            message: message.into(),
        }
    }
    pub fn bug(reason: &'static str, message: impl Into<String>) -> Self {
        JobError {
            fault: Fault::Bug,
            reason,
            message: message.into(),
        }
    }
}

impl From<EngineError> for JobError {
    fn from(e: EngineError) -> Self {
        JobError {
            fault: e.fault(),
            reason: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Transient(_) | StoreError::PreconditionFailed { .. } => {
                JobError::transient("store", e.to_string())
            }
            StoreError::InvalidKey(_) => JobError::client("invalid_key", e.to_string()),
            StoreError::TooLarge { .. } => JobError::client("limit_exceeded", e.to_string()),
            // Access denied, missing bucket: a deployment problem. Keep the message for a
            // human (dead-letter) rather than dropping work.
            StoreError::Permanent(_) => JobError::bug("store_permanent", e.to_string()),
        }
    }
}
