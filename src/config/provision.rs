//! `[provision]`: names `derivd setup` gives the AWS resources the rest of the config does not
//! name (the loss topic, the dead-letter queues) and the upload prefix of `--job-events`.
//!
//! The work queues, the notice topic, the buckets, the redrive count (`queue.max_receives`)
//! and the visibility timeout come from their own sections; this one only adds what
//! nothing else needs to know.

use serde::Deserialize;

use super::{invalid, BucketMapping, ConfigError};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisionConfig {
    /// SNS topic the derived buckets send `s3:ReducedRedundancyLostObject` events to; the
    /// repair queue (`queue.repair`) is subscribed to it. Created only when `queue.repair`
    /// is set.
    pub loss_topic: String,
    /// Appended to a work queue's name to name its dead-letter queue.
    pub dlq_suffix: String,
    /// `derivd setup --job-events`: uploads under this prefix of each source bucket send
    /// `s3:ObjectCreated:*` and `s3:ObjectRemoved:*` events to the job queue.
    pub upload_prefix: String,
}

impl Default for ProvisionConfig {
    fn default() -> Self {
        ProvisionConfig {
            loss_topic: "derivd-lost-objects".into(),
            dlq_suffix: "-dlq".into(),
            upload_prefix: "uploads/".into(),
        }
    }
}

/// SNS topic and SQS queue names: letters, digits, `-` and `_`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl ProvisionConfig {
    pub(super) fn validate(&self, buckets: &[BucketMapping]) -> Result<(), ConfigError> {
        let topic = &self.loss_topic;
        if topic.is_empty() || topic.len() > 256 || !topic.chars().all(is_name_char) {
            return Err(invalid(
                "provision.loss_topic",
                "must be an SNS topic name: 1-256 letters, digits, '-' or '_'",
            ));
        }
        let suffix = &self.dlq_suffix;
        if suffix.is_empty() || suffix.len() > 40 || !suffix.chars().all(is_name_char) {
            return Err(invalid(
                "provision.dlq_suffix",
                "must be 1-40 letters, digits, '-' or '_' (it ends a queue name)",
            ));
        }
        let prefix = &self.upload_prefix;
        // S3 rejects an empty filter value, and no filter would send derivd's own writes
        // back to the job queue.
        if prefix.is_empty() || !prefix.ends_with('/') || prefix.len() > 1024 {
            return Err(invalid(
                "provision.upload_prefix",
                "must be a key prefix ending in '/' (S3 filters cannot exclude the derived prefix)",
            ));
        }
        let nested = |p: &str| p.starts_with(prefix.as_str()) || prefix.starts_with(p);
        if let Some(b) = buckets
            .iter()
            .find(|b| b.derived() == b.source && nested(&b.prefix))
        {
            return Err(invalid(
                "provision.upload_prefix",
                format!(
                    "{prefix:?} overlaps the derived prefix {:?} of bucket {:?}: derivd's own \
                     writes would send events to the job queue",
                    b.prefix, b.source
                ),
            ));
        }
        Ok(())
    }
}
