//! One typed configuration: built-in defaults ← TOML file ← `DERIVD_*` environment variables.
//!
//! Nested keys map to variables as `DERIVD_SECTION__KEY` (e.g. `DERIVD_HTTP__LISTEN`).
//! Unknown keys — in the file or the environment — are errors, and every error names the
//! key, so a typo never silently falls back to a default. `deploy/derivd.example.toml`
//! lists every key with its default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::Limits;
use crate::storage::StorageClass;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub backend: Backend,
    pub catalogue: CatalogueConfig,
    pub limits: Limits,
    pub storage: StorageConfig,
    pub queue: QueueConfig,
    pub worker: WorkerConfig,
    pub http: HttpConfig,
    pub notices: NoticesConfig,
    pub aws: AwsConfig,
    pub sns: SnsConfig,
    pub serve: ServeConfig,
    pub provision: ProvisionConfig,
    pub media: MediaConfig,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Local directory as the bucket, SQLite as the queue. No AWS account needed.
    #[default]
    Embedded,
    /// S3, SQS and SNS through the AWS SDK.
    Aws,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogueConfig {
    /// Folder of transform files. Unset: `./transforms` if it exists, else the built-in set.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Embedded backend: where buckets (folders), the queue database and notices live.
    pub data_dir: PathBuf,
    /// Storage class of derived objects. Manifests and the catalogue are always STANDARD.
    pub storage_class: StorageClass,
    /// Bucket used when a job names none.
    pub default_bucket: String,
    /// Source buckets jobs may name, each with where its derived objects go.
    pub buckets: Vec<BucketMapping>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BucketMapping {
    pub source: String,
    /// Defaults to the source bucket itself.
    #[serde(default)]
    pub derived_bucket: Option<String>,
    #[serde(default = "default_prefix")]
    pub prefix: String,
}

fn default_prefix() -> String {
    "derived/".into()
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Job queue: SQS queue URL or name (aws), or queue name in the database (embedded).
    pub jobs: String,
    /// Repair queue receiving `ReducedRedundancyLostObject` events; unset = no repair
    /// listener.
    #[serde(deserialize_with = "serve::empty_is_none")]
    pub repair: Option<String>,
    /// Where messages that are not valid job messages are kept for an operator, with the
    /// reason (the dead-letter queue keeps only messages whose retries ran out). Unset:
    /// `{jobs}-rejects` on the embedded backend; none on AWS (a malformed message then gets
    /// its failure notice and is dropped), since the queue must exist and derivd's role
    /// must be allowed to send to it.
    #[serde(deserialize_with = "serve::empty_is_none")]
    pub rejects: Option<String>,
    /// Receives before a message is dead-lettered: the embedded queue's own limit; on SQS
    /// the redrive policy's `maxReceiveCount`, which `derivd setup` sets (at least 5).
    pub max_receives: u32,
    /// Seconds a received message stays invisible before another worker may take it.
    pub visibility_timeout_secs: u64,
    /// Long-polling wait per receive, seconds (0..=20).
    pub wait_secs: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Jobs processed at once; 0 = number of CPU cores.
    pub concurrency: usize,
    /// Bytes of decoded pixels all in-flight jobs may hold together.
    pub memory_budget_bytes: u64,
    /// A job running longer is abandoned; its message reappears for retry.
    pub job_timeout_secs: u64,
    /// On SIGTERM/SIGINT, how long in-flight jobs get to finish.
    pub shutdown_grace_secs: u64,
    /// First retry delay of a transiently failed job, seconds; doubles per receive, capped
    /// at 15 minutes.
    pub retry_backoff_secs: u64,
    /// `ObjectRemoved` events delete the source's derived objects and manifest.
    pub delete_derived_on_source_removed: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to serve the HTTP API on; unset disables HTTP.
    #[serde(deserialize_with = "serve::empty_is_none")]
    pub listen: Option<String>,
    /// Bearer token required on write/compute endpoints. Required when `listen` is not a
    /// loopback address. Prefer setting it through `DERIVD_HTTP__AUTH_TOKEN`.
    pub auth_token: Option<String>,
    /// Largest request body accepted, bytes.
    pub max_body_bytes: usize,
    /// Ensure-on-read: seconds a derived object confirmed current is served without
    /// checking the source again.
    pub ensure_ttl_secs: u64,
    /// Without `auth_token`: the `Host` names (no port) every route but `/v1/sns` accepts,
    /// so a web page cannot reach the API through the browser (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Seconds a connection may take to send a request's headers.
    pub header_timeout_secs: u64,
    /// Seconds a request may take to send its whole body.
    pub body_timeout_secs: u64,
    /// Open connections at most; more wait in the listen backlog.
    pub max_connections: usize,
    /// Keys that sign URLs for `GET /v1/derived/…` (`src/http/signing.rs`), newest first:
    /// the first signs, any verifies. Set, that route needs `?expires=…&sig=…` (or the
    /// bearer token). Prefer `DERIVD_HTTP__URL_SIGNING_KEY`.
    pub url_signing_key: Vec<String>,
    /// Seconds past its `expires` a signed URL is still accepted (clock skew).
    pub url_signature_skew_secs: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NoticesConfig {
    /// SNS topic ARN for completion notices (aws backend). Unset = none.
    #[serde(deserialize_with = "serve::empty_is_none")]
    pub sns_topic_arn: Option<String>,
    /// JSONL file for notices (embedded backend). Unset = `{data_dir}/notices.jsonl`.
    pub log_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Overrides the region from the standard AWS settings.
    pub region: Option<String>,
    /// Overrides the endpoint (e.g. a local moto server); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
    /// Attempts per AWS call (the first one included) in the SDK's standard retry mode:
    /// exponential backoff with full jitter on throttling, 5xx and connection errors.
    pub max_attempts: u32,
    /// Backoff before the first retry, milliseconds (doubled per retry, jittered, at most
    /// 20 s).
    pub retry_initial_backoff_ms: u64,
}

/// `POST /v1/sns`: S3 events delivered by SNS over HTTPS (see `crate::sns`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SnsConfig {
    /// Topic ARNs whose messages are accepted (and whose subscriptions are confirmed).
    /// Empty: every message is refused.
    pub allowed_topic_arns: Vec<String>,
    /// Signing certificates kept in memory, by URL.
    pub cert_cache_entries: usize,
    /// Seconds allowed for fetching a signing certificate or confirming a subscription.
    pub fetch_timeout_secs: u64,
    /// TESTS ONLY: fetch signing certificates and subscribe URLs from this loopback base
    /// (`http://127.0.0.1:PORT`, keeping the path) instead of the SNS host. Unset in
    /// production; derivd logs a warning when it is set.
    pub insecure_test_cert_base_url: Option<String>,
}

impl Default for SnsConfig {
    fn default() -> Self {
        SnsConfig {
            allowed_topic_arns: Vec::new(),
            cert_cache_entries: 16,
            fetch_timeout_secs: 10,
            insecure_test_cert_base_url: None,
        }
    }
}

impl SnsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (i, arn) in self.allowed_topic_arns.iter().enumerate() {
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" {
                return Err(invalid(
                    &format!("sns.allowed_topic_arns[{i}]"),
                    "must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
                ));
            }
        }
        if self.cert_cache_entries == 0 {
            return Err(invalid("sns.cert_cache_entries", "must be at least 1"));
        }
        if self.fetch_timeout_secs == 0 || self.fetch_timeout_secs > 60 {
            return Err(invalid("sns.fetch_timeout_secs", "must be 1..=60"));
        }
        if let Some(base) = &self.insecure_test_cert_base_url {
            let addr = base
                .strip_prefix("http://")
                .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
            if !addr.is_some_and(|a| a.ip().is_loopback()) {
                return Err(invalid(
                    "sns.insecure_test_cert_base_url",
                    "for tests only: must be http://LOOPBACK-IP:PORT with no path",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("config key {key}: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl QueueConfig {
    /// `queue.rejects`, or `{jobs}-rejects` (the embedded backend's default).
    pub fn rejects_name(&self) -> String {
        self.rejects
            .clone()
            .unwrap_or_else(|| format!("{}-rejects", self.jobs))
    }
}

impl Config {
    /// Defaults ← `file` (if given) ← `DERIVD_*` variables from `env`, then validated.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Parse {
                    origin: path.display().to_string(),
                    message: e.message().to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        let mut origin = file.map_or("defaults".to_string(), |p| p.display().to_string());
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("DERIVD_") else {
                continue;
            };
            // Variables of the binary itself, not config keys; and the service-link
            // variables Kubernetes injects for a Service named `derivd`.
            if matches!(rest, "CONFIG" | "LOG") || is_service_link(rest) {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            if path.iter().any(String::is_empty) {
                return Err(invalid(&name, "malformed variable name"));
            }
            set_path(&mut table, &path, parse_env_value(&value));
            origin = format!("{origin} + environment");
        }
        let cfg: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                ConfigError::Parse {
                    origin: origin.clone(),
                    message: format!("key {key}: {}", e.inner().message()),
                }
            })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The bucket mapping for a source bucket, if jobs may name it. Without explicit
    /// mappings, only the default bucket is allowed, with derived objects beside sources.
    pub fn bucket(&self, source: &str) -> Option<BucketMapping> {
        if self.storage.buckets.is_empty() {
            return (source == self.storage.default_bucket).then(|| BucketMapping {
                source: source.into(),
                derived_bucket: None,
                prefix: default_prefix(),
            });
        }
        self.storage
            .buckets
            .iter()
            .find(|b| b.source == source)
            .cloned()
    }

    /// Every allowed source bucket's mapping.
    pub fn bucket_mappings(&self) -> Vec<BucketMapping> {
        if self.storage.buckets.is_empty() {
            self.bucket(&self.storage.default_bucket)
                .into_iter()
                .collect()
        } else {
            self.storage.buckets.clone()
        }
    }

    pub fn concurrency(&self) -> usize {
        match self.worker.concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl BucketMapping {
    pub fn derived(&self) -> &str {
        self.derived_bucket.as_deref().unwrap_or(&self.source)
    }
}

/// `PORT`, `PORT_8080_TCP_ADDR`, `SERVICE_HOST`, … (after `DERIVD_`): Kubernetes service
/// links, not configuration.
fn is_service_link(rest: &str) -> bool {
    rest == "PORT" || rest.starts_with("PORT_") || rest.starts_with("SERVICE_")
}

/// Environment values are TOML scalars when they parse as such (`20`, `true`,
/// `["a","b"]`), strings otherwise.
fn parse_env_value(v: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {v}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(v.to_string()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut t = table;
    for p in parents {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        t = entry.as_table_mut().expect("table");
    }
    t.insert(last.clone(), value);
}

mod defaults;
mod media;
mod provision;
mod serve;
mod validate;

pub use media::MediaConfig;
pub use provision::ProvisionConfig;
pub use serve::{Role, ServeConfig};

#[cfg(test)]
mod tests;
