//! derivd (module map is being written)
pub mod aws;
pub mod catalogue;
pub mod cost;
pub mod keys;
pub mod media;
pub mod queue;
pub mod storage;
