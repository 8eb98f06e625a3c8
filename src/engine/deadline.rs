//! A per-job time limit, checked between pipeline stages.

use std::time::{Duration, Instant};

use super::error::EngineError;

#[derive(Debug, Clone, Copy)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    pub fn none() -> Self {
        Deadline(None)
    }
    pub fn after(d: Duration) -> Self {
        Deadline(Instant::now().checked_add(d))
    }
    pub fn at(i: Instant) -> Self {
        Deadline(Some(i))
    }
    /// Errs once the deadline has passed; `stage` names where we stopped.
    pub fn check(&self, stage: &'static str) -> Result<(), EngineError> {
        match self.0 {
            Some(t) if Instant::now() >= t => Err(EngineError::DeadlineExceeded(stage)),
            _ => Ok(()),
        }
    }
}
