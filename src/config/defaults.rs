//! The built-in defaults: what derivd does with no configuration at all (the embedded
//! backend, HTTP on loopback). `deploy/derivd.example.toml` lists them, a test checks it.

use std::path::PathBuf;

use super::*;
use crate::engine::Limits;
use crate::storage::StorageClass;

impl Default for Config {
    fn default() -> Self {
        Config {
            backend: Backend::Embedded,
            catalogue: CatalogueConfig::default(),
            limits: Limits::default(),
            storage: StorageConfig::default(),
            queue: QueueConfig::default(),
            worker: WorkerConfig::default(),
            http: HttpConfig::default(),
            notices: NoticesConfig::default(),
            aws: AwsConfig::default(),
            sns: SnsConfig::default(),
            serve: ServeConfig::default(),
            provision: ProvisionConfig::default(),
            media: MediaConfig::default(),
        }
    }
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            region: None,
            endpoint_url: None,
            max_attempts: 3,
            retry_initial_backoff_ms: 1000,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("derivd-data"),
            storage_class: StorageClass::ReducedRedundancy,
            default_bucket: "derivd".into(),
            buckets: Vec::new(),
        }
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            jobs: "derivd-jobs".into(),
            repair: None,
            rejects: None,
            max_receives: 5,
            visibility_timeout_secs: 120,
            wait_secs: 20,
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 0,
            memory_budget_bytes: 2 << 30,
            job_timeout_secs: 60,
            shutdown_grace_secs: 30,
            retry_backoff_secs: 10,
            delete_derived_on_source_removed: true,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: Some("127.0.0.1:8080".into()),
            auth_token: None,
            max_body_bytes: 64 * 1024,
            ensure_ttl_secs: 60,
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            max_connections: 512,
            url_signing_key: Vec::new(),
            url_signature_skew_secs: 60,
        }
    }
}
