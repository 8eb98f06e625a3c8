//! What the config asks for on AWS: queue, dead-letter queue and topic names, the buckets and
//! prefixes to wire, and the config values `setup` refuses to apply. Pure: no AWS calls.

use super::{Line, Status};
use crate::config::Config;
use crate::storage::StorageClass;

/// Fewest receives before dead-lettering that `setup` applies and `check` accepts: a job
/// whose worker is killed (deploy, scale-in, OOM) is received again, and a couple of such
/// accidents must not dead-letter a good job.
pub const MIN_RECEIVES: u32 = 5;
/// SQS's largest `maxReceiveCount`.
pub const MAX_RECEIVES: u32 = 1000;
/// Dead-letter queues keep messages 14 days (SQS's maximum): time for a human to look.
pub const DLQ_RETENTION_SECS: u32 = 1_209_600;
/// S3 reports each loss once: the repair queue keeps reports a week in case derivd is down.
pub const REPAIR_RETENTION_SECS: u32 = 604_800;
/// SQS's longest queue name.
const MAX_QUEUE_NAME: usize = 80;

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub fn parse(s: &str) -> Option<Arn> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let mut next = || parts.next().map(str::to_owned);
        let arn = Arn {
            partition: next()?,
            service: next()?,
            region: next()?,
            account: next()?,
            resource: next()?,
        };
        (!arn.partition.is_empty() && !arn.resource.is_empty()).then_some(arn)
    }

    /// An ARN of `service` in the same partition, region and account.
    pub fn sibling(&self, service: &str, resource: &str) -> String {
        let Arn {
            partition,
            region,
            account,
            ..
        } = self;
        format!("arn:{partition}:{service}:{region}:{account}:{resource}")
    }

    /// A bucket's ARN in this partition (bucket ARNs carry no region or account).
    pub fn bucket(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }
}

/// A work queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlan {
    /// `job queue`, `repair queue` or `rejects queue`.
    pub role: &'static str,
    /// The config key naming it.
    pub key: &'static str,
    pub name: String,
    /// The URL, when the config gives one instead of a name.
    pub url: Option<String>,
    pub dlq: String,
    /// Message retention to create it with; `None`: SQS's default (4 days).
    pub retention_secs: Option<u32>,
}

/// A bucket and a key prefix in it (`""`: the whole bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub bucket: String,
    pub prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeTopic {
    pub arn: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub jobs: QueuePlan,
    pub repair: Option<QueuePlan>,
    /// `queue.rejects`, when set: a holding queue (no consumer, no redrive) where malformed
    /// job messages are kept with their reason; not one of [`Plan::queues`].
    pub rejects: Option<QueuePlan>,
    pub max_receives: u32,
    pub visibility_secs: u64,
    pub job_timeout_secs: u64,
    pub loss_topic: String,
    /// `Err`: `notices.sns_topic_arn` is set but is not an SNS topic ARN.
    pub notice_topic: Option<Result<NoticeTopic, String>>,
    pub storage_class: StorageClass,
    /// Every source and derived bucket, each once, in config order.
    pub buckets: Vec<String>,
    /// Where derived objects live: what reports losses.
    pub derived: Vec<Place>,
    /// Where uploads go (`provision.upload_prefix` of every source bucket).
    pub uploads: Vec<Place>,
}

/// The queue name in a config value that is a name or a queue URL (its last path segment).
pub fn queue_name(value: &str) -> (String, Option<String>) {
    if value.starts_with("https://") || value.starts_with("http://") {
        let name = value
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(value);
        (name.to_owned(), Some(value.to_owned()))
    } else {
        (value.to_owned(), None)
    }
}

fn queue_plan(role: &'static str, key: &'static str, value: &str, cfg: &Config) -> QueuePlan {
    let (name, url) = queue_name(value);
    QueuePlan {
        role,
        key,
        dlq: format!("{name}{}", cfg.provision.dlq_suffix),
        name,
        url,
        retention_secs: match role {
            "repair queue" => Some(REPAIR_RETENTION_SECS),
            "rejects queue" => Some(DLQ_RETENTION_SECS),
            _ => None,
        },
    }
}

fn notice_topic(value: &str) -> Option<Result<NoticeTopic, String>> {
    if value.is_empty() {
        return None;
    }
    Some(match Arn::parse(value) {
        Some(arn) if arn.service == "sns" && !arn.resource.contains(':') => Ok(NoticeTopic {
            arn: value.to_owned(),
            name: arn.resource,
        }),
        _ => Err(format!(
            "{value:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
        )),
    })
}

impl Plan {
    pub fn new(cfg: &Config) -> Plan {
        let mappings = cfg.bucket_mappings();
        let mut buckets: Vec<String> = Vec::new();
        for b in mappings
            .iter()
            .flat_map(|m| [m.source.clone(), m.derived().to_owned()])
        {
            if !buckets.contains(&b) {
                buckets.push(b);
            }
        }
        let place = |bucket: &str, prefix: &str| Place {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        };
        Plan {
            jobs: queue_plan("job queue", "queue.jobs", &cfg.queue.jobs, cfg),
            repair: cfg
                .queue
                .repair
                .as_deref()
                .map(|name| queue_plan("repair queue", "queue.repair", name, cfg)),
            rejects: cfg
                .queue
                .rejects
                .as_deref()
                .map(|name| queue_plan("rejects queue", "queue.rejects", name, cfg)),
            max_receives: cfg.queue.max_receives,
            visibility_secs: cfg.queue.visibility_timeout_secs,
            job_timeout_secs: cfg.worker.job_timeout_secs,
            loss_topic: cfg.provision.loss_topic.clone(),
            notice_topic: cfg.notices.sns_topic_arn.as_deref().and_then(notice_topic),
            storage_class: cfg.storage.storage_class,
            buckets,
            derived: mappings
                .iter()
                .map(|m| place(m.derived(), &m.prefix))
                .collect(),
            uploads: mappings
                .iter()
                .map(|m| place(&m.source, &cfg.provision.upload_prefix))
                .collect(),
        }
    }

    pub fn queues(&self) -> impl Iterator<Item = &QueuePlan> {
        std::iter::once(&self.jobs).chain(self.repair.as_ref())
    }

    /// Config values `setup` refuses to apply, one ✗ line each.
    pub fn preconditions(&self) -> Vec<Line> {
        let mut out = Vec::new();
        let mut fail = |subject: &str, message: String, fix: &str| {
            out.push(Line {
                status: Status::Failed,
                subject: subject.to_owned(),
                message,
                fix: Some(fix.to_owned()),
            })
        };
        if self.visibility_secs <= self.job_timeout_secs {
            fail(
                "queue.visibility_timeout_secs",
                format!(
                    "{} s does not exceed the job time limit worker.job_timeout_secs = {} s",
                    self.visibility_secs, self.job_timeout_secs
                ),
                "raise queue.visibility_timeout_secs above worker.job_timeout_secs \
                 (defaults: 120 and 60)",
            );
        }
        if !(MIN_RECEIVES..=MAX_RECEIVES).contains(&self.max_receives) {
            fail(
                "queue.max_receives",
                format!(
                    "{} is outside {MIN_RECEIVES}..={MAX_RECEIVES} (fewer would dead-letter \
                     jobs whose worker was merely restarted)",
                    self.max_receives
                ),
                "set queue.max_receives to 5 or more",
            );
        }
        for q in self.queues().chain(self.rejects.as_ref()) {
            if q.name.ends_with(".fifo") {
                let message = format!("{} is a FIFO queue; derivd's queues are standard", q.name);
                fail(q.key, message, "name a standard queue");
            } else if q.role != "rejects queue" && q.dlq.len() > MAX_QUEUE_NAME {
                let message = format!("dead-letter queue name {} is over 80 characters", q.dlq);
                fail(
                    q.key,
                    message,
                    "use a shorter queue name or provision.dlq_suffix",
                );
            }
        }
        if let Some(Err(e)) = &self.notice_topic {
            fail(
                "notices.sns_topic_arn",
                e.clone(),
                "give the topic's ARN, or leave it empty",
            );
        }
        out
    }
}
