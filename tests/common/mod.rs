//! Helpers shared by the integration-test binaries. Each binary uses a different subset.
#![allow(dead_code)]

pub mod bombs;
pub mod clips;
pub mod cluster;
pub mod embedded_queue;
pub mod fault_proxy;
pub mod images;
pub mod moto;
pub mod moto_plain;
pub mod outputs;
pub mod queue_contract;
pub mod service;
pub mod stills;
pub mod store_contract;
