//! derivd (module map is being written)
pub mod aws;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod cost;
pub mod engine;
pub mod keys;
pub mod media;
pub mod queue;
pub mod storage;
