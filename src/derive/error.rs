//! Why deriving failed, carried typed from where it happened to whoever decides the
//! message's fate (a job, a repair, ensure-on-read), each of which maps it on its own terms.

use std::time::Duration;

use crate::engine::{EngineError, Fault};
use crate::extract::ExtractError;
use crate::keys::KeyError;
use crate::storage::StoreError;

/// Constant `reason` labels for metrics and notices.
pub mod reason {
    pub const BUCKET_NOT_ALLOWED: &str = "bucket_not_allowed";
    pub const INVALID_KEY: &str = "invalid_key";
    pub const SOURCE_MISSING: &str = "source_missing";
    pub const UNKNOWN_TRANSFORM: &str = "unknown_transform";
    pub const NOT_ACCEPTED: &str = "not_accepted";
    pub const TIMEOUT: &str = "timeout";
    pub const PANIC: &str = "panic";
    pub const STORE: &str = "store";
    pub const STORE_PERMANENT: &str = "store_permanent";
    pub const LIMIT_EXCEEDED: &str = "limit_exceeded";
    pub const SOURCE_CHANGED: &str = "source_changed";
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DeriveError {
    #[error("bucket {0:?} is not allowed")]
    BucketNotAllowed(String),
    #[error("invalid key: {0}")]
    InvalidKey(#[from] KeyError),
    #[error("source {0:?} not found")]
    SourceMissing(String),
    #[error("unknown transform {0:?}")]
    UnknownTransform(String),
    /// No transform (of those asked for) accepts the source's media type.
    #[error("{0}")]
    NotAccepted(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A video or PDF source's tool (ffmpeg, poppler) failed: see [`ExtractError`].
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Waiting on storage outlived the job's time limit.
    #[error("over the {0:?} time limit")]
    Timeout(Duration),
    /// The source was replaced after every derive of it, as often as the deriver retries
    /// at once: the message is retried later.
    #[error("source {0:?} kept changing while it was derived")]
    SourceChanged(String),
    /// The render task panicked or was cancelled: a bug in derivd or a decoder.
    #[error("render task failed: {0}")]
    Panic(String),
}

impl DeriveError {
    pub fn fault(&self) -> Fault {
        match self {
            DeriveError::BucketNotAllowed(_)
            | DeriveError::InvalidKey(_)
            | DeriveError::SourceMissing(_)
            | DeriveError::UnknownTransform(_)
            | DeriveError::NotAccepted(_) => Fault::Client,
            DeriveError::Engine(e) => e.fault(),
            DeriveError::Extract(e) => e.fault(),
            DeriveError::Store(e) => store_fault(e),
            DeriveError::Timeout(_) | DeriveError::SourceChanged(_) => Fault::Transient,
            DeriveError::Panic(_) => Fault::Bug,
        }
    }

    /// Constant label for metrics and notices (`source_missing`, `corrupt`, …).
    pub fn reason(&self) -> &'static str {
        match self {
            DeriveError::BucketNotAllowed(_) => reason::BUCKET_NOT_ALLOWED,
            DeriveError::InvalidKey(_) => reason::INVALID_KEY,
            DeriveError::SourceMissing(_) => reason::SOURCE_MISSING,
            DeriveError::UnknownTransform(_) => reason::UNKNOWN_TRANSFORM,
            DeriveError::NotAccepted(_) => reason::NOT_ACCEPTED,
            DeriveError::Engine(e) => e.kind(),
            DeriveError::Extract(e) => e.kind(),
            DeriveError::Store(StoreError::InvalidKey(_)) => reason::INVALID_KEY,
            DeriveError::Store(StoreError::TooLarge { .. }) => reason::LIMIT_EXCEEDED,
            DeriveError::Store(StoreError::Permanent(_)) => reason::STORE_PERMANENT,
            DeriveError::Store(_) => reason::STORE,
            DeriveError::Timeout(_) => reason::TIMEOUT,
            DeriveError::SourceChanged(_) => reason::SOURCE_CHANGED,
            DeriveError::Panic(_) => reason::PANIC,
        }
    }
}

fn store_fault(e: &StoreError) -> Fault {
    match e {
        StoreError::Transient(_) | StoreError::PreconditionFailed { .. } => Fault::Transient,
        StoreError::InvalidKey(_) | StoreError::TooLarge { .. } => Fault::Client,
        // Access denied, missing bucket: a deployment problem. Keep the message for a
        // human (dead-letter) rather than dropping work.
        StoreError::Permanent(_) => Fault::Bug,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_follow_who_is_to_blame() {
        let missing = DeriveError::SourceMissing("a.jpg".into());
        assert_eq!(
            (missing.fault(), missing.reason()),
            (Fault::Client, "source_missing")
        );
        let big = DeriveError::Store(StoreError::TooLarge {
            key: "a".into(),
            size: 2,
            limit: 1,
        });
        assert_eq!(
            (big.fault(), big.reason()),
            (Fault::Client, "limit_exceeded")
        );
        let denied = DeriveError::Store(StoreError::Permanent("AccessDenied".into()));
        assert_eq!(denied.fault(), Fault::Bug);
        let corrupt = DeriveError::Engine(EngineError::Corrupt("x".into()));
        assert_eq!(
            (corrupt.fault(), corrupt.reason()),
            (Fault::Client, "corrupt")
        );
        assert_eq!(
            DeriveError::Timeout(Duration::from_secs(1)).fault(),
            Fault::Transient
        );
    }
}
