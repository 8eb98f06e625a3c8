//! Helpers shared by the integration-test binaries. Each binary uses a different subset.
#![allow(dead_code)]

pub mod bombs;
pub mod cluster;
pub mod embedded_queue;
pub mod facts;
pub mod fault_proxy;
pub mod images;
pub mod moto;
pub mod moto_plain;
pub mod outputs;
pub mod queue_contract;
pub mod service;
pub mod signed;
pub mod store_contract;
