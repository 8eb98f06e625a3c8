//! Why a probe or an extraction failed, classified by fault like every derivd error.

use crate::engine::Fault;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The tool is not installed (or not runnable) on this worker: another worker may have
    /// it, so the job is retried, never dropped as the client's fault.
    #[error("{tool} is not available: {message}")]
    ToolMissing { tool: String, message: String },
    #[error("{tool} did not finish before the job's deadline (killed){}", stderr_suffix(.stderr))]
    Timeout { tool: String, stderr: String },
    #[error("no video stream: {0}")]
    NoVideo(String),
    #[error("the PDF is encrypted and needs a password")]
    Encrypted,
    #[error("corrupt or unreadable source: {0}")]
    Corrupt(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// The tool's output was not what derivd asked for: a bug on our side.
    #[error("internal extraction error: {0}")]
    Internal(String),
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

impl ExtractError {
    pub fn fault(&self) -> Fault {
        match self {
            ExtractError::ToolMissing { .. } | ExtractError::Timeout { .. } => Fault::Transient,
            ExtractError::NoVideo(_)
            | ExtractError::Encrypted
            | ExtractError::Corrupt(_)
            | ExtractError::LimitExceeded(_) => Fault::Client,
            ExtractError::Internal(_) => Fault::Bug,
        }
    }

    /// Constant label for metrics and notices.
    pub fn kind(&self) -> &'static str {
        match self {
            ExtractError::ToolMissing { .. } => "tool_missing",
            ExtractError::Timeout { .. } => "timeout",
            ExtractError::NoVideo(_) => "no_video",
            ExtractError::Encrypted => "encrypted",
            ExtractError::Corrupt(_) => "corrupt",
            ExtractError::LimitExceeded(_) => "limit_exceeded",
            ExtractError::Internal(_) => "internal",
        }
    }
}
