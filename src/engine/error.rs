//! Engine errors, classified by who is at fault so a worker knows what to do with the job.

/// What a failed job should become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The input or request is bad; retrying cannot help. Drop with a reason.
    Client,
    /// Might work later (time limit, busy backend). Leave for retry.
    Transient,
    /// derivd itself misbehaved. Keep the message for a human (dead-letter).
    Bug,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),
    #[error("corrupt image data: {0}")]
    Corrupt(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("transform {transform} does not accept {media_type}")]
    NotAccepted {
        transform: String,
        media_type: String,
    },
    #[error("encoding {format} failed: {message}")]
    Encode { format: String, message: String },
    /// An encoder could not get memory: another attempt, when memory is free, may work.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    #[error("time limit reached during {0}")]
    DeadlineExceeded(&'static str),
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn fault(&self) -> Fault {
        match self {
            EngineError::UnsupportedFormat(_)
            | EngineError::Corrupt(_)
            | EngineError::LimitExceeded(_)
            | EngineError::NotAccepted { .. } => Fault::Client,
            EngineError::DeadlineExceeded(_) | EngineError::OutOfMemory(_) => Fault::Transient,
            EngineError::Encode { .. } | EngineError::Internal(_) => Fault::Bug,
        }
    }

    /// Short, constant label for metrics (`reason="corrupt"`).
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::UnsupportedFormat(_) => "unsupported_format",
            EngineError::Corrupt(_) => "corrupt",
            EngineError::LimitExceeded(_) => "limit_exceeded",
            EngineError::NotAccepted { .. } => "not_accepted",
            EngineError::Encode { .. } => "encode",
            EngineError::DeadlineExceeded(_) => "deadline",
            EngineError::OutOfMemory(_) => "out_of_memory",
            EngineError::Internal(_) => "internal",
        }
    }
}

/// Maps the `image` crate's errors onto ours: its own split is by fault already.
pub(crate) fn from_image(e: image::ImageError) -> EngineError {
    use image::ImageError as E;
    match e {
        E::Decoding(d) => EngineError::Corrupt(d.to_string()),
        E::Limits(l) => EngineError::LimitExceeded(l.to_string()),
        E::Unsupported(u) => EngineError::UnsupportedFormat(u.to_string()),
        E::IoError(io) => EngineError::Corrupt(format!("truncated or unreadable: {io}")),
        E::Parameter(p) => EngineError::Corrupt(p.to_string()),
        E::Encoding(e) => EngineError::Internal(format!("unexpected encoder error: {e}")),
    }
}
