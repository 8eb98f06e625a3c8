//! Whether a job may be queued or run: the one set of rules that `POST /v1/jobs`,
//! `derivd submit` and the job consumer apply.

use std::sync::Arc;

use crate::catalogue::Catalogue;
use crate::job::JobRequest;

use super::buckets::{BucketMap, Mapping};
use super::{select, DeriveError};

/// What a job is checked against: the allowed buckets and the catalogue.
#[derive(Clone)]
pub struct Admission {
    pub buckets: BucketMap,
    pub catalogue: Arc<Catalogue>,
}

/// Why a job is not admitted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    /// The key is one of derivd's own outputs (under a derived prefix): never a source.
    /// Not an error for a consumer, which ignores such events.
    #[error("source {0:?} lies under a derived prefix")]
    DerivedObject(String),
    #[error(transparent)]
    Invalid(#[from] DeriveError),
}

impl Admission {
    /// The mapping `job` runs under, if it may run: its bucket is allowed, its key is a
    /// valid source key outside every derived prefix, and each transform it names exists.
    pub fn admit(&self, job: &JobRequest) -> Result<&Mapping, Refusal> {
        if self.buckets.is_derived(job.bucket.as_deref(), &job.source) {
            return Err(Refusal::DerivedObject(job.source.clone()));
        }
        let mapping = self.buckets.get(job.bucket.as_deref())?;
        mapping
            .layout
            .check_source(&job.source)
            .map_err(DeriveError::from)?;
        if let Some(name) = select::unknown(&self.catalogue, &job.transforms) {
            return Err(DeriveError::UnknownTransform(name.to_string()).into());
        }
        Ok(mapping)
    }
}
