//! Helpers shared by the integration-test binaries. Each binary uses a different subset.
#![allow(dead_code)]

pub mod anim;
pub mod bombs;
pub mod clips;
pub mod cluster;
pub mod embedded;
pub mod embedded_queue;
pub mod exiftool;
pub mod facts;
pub mod fault_proxy;
pub mod images;
pub mod moto;
pub mod moto_plain;
pub mod outputs;
pub mod queue_contract;
pub mod service;
pub mod signed;
pub mod stills;
pub mod store_contract;

/// The put request of a source upload: `bytes` at `key`, STANDARD, no metadata, no condition.
pub fn source_put(key: &str, bytes: Vec<u8>) -> derivd::storage::PutRequest {
    derivd::storage::PutRequest {
        key: key.into(),
        bytes: bytes.into(),
        content_type: "application/octet-stream".into(),
        storage_class: derivd::storage::StorageClass::Standard,
        cache_control: None,
        metadata: Default::default(),
        condition: Default::default(),
    }
}
