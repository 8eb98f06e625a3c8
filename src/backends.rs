//! Opening the backends a configuration names: the object store, the queues and the
//! notifier, on AWS or embedded. Each opens on its own, so a CLI command opens only what
//! it uses (`audit` a store, `submit` a store and the job queue, `lose` a store and the
//! repair queue); `derivd serve` opens them all through [`crate::startup`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

use crate::config::{AwsConfig, Backend, Config};
use crate::extract::ffmpeg::Ffmpeg;
use crate::extract::poppler::Poppler;
use crate::extract::sandbox::Sandbox;
use crate::extract::{Extractor, Extractors};
use crate::notice::Notifier;
use crate::queue::embedded::{EmbeddedQueue, EmbeddedQueueSettings};
use crate::queue::sqs::SqsQueue;
use crate::queue::{Queue, QueueError};
use crate::storage::local::LocalStore;
use crate::storage::s3::S3Store;
use crate::storage::{ObjectStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("creating the data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("opening the object store: {0}")]
    Store(#[from] StoreError),
    #[error("opening queue {name}: {source}")]
    Queue { name: String, source: QueueError },
}

/// The SDK configuration derivd's clients use: [`crate::aws::load_sdk_config`] with
/// `aws.region` and `aws.endpoint_url`, and [`crate::aws::retry_config`] from
/// `aws.max_attempts` and `aws.retry_initial_backoff_ms` (these win over
/// `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE`).
pub async fn sdk_config_for(aws: &AwsConfig) -> SdkConfig {
    let backoff = Duration::from_millis(aws.retry_initial_backoff_ms);
    let retry = crate::aws::retry_config(aws.max_attempts, backoff);
    let region = aws.region.as_deref();
    crate::aws::load_sdk_config(region, aws.endpoint_url.as_deref())
        .await
        .to_builder()
        .retry_config(retry)
        .build()
}

/// The configuration's backends, opened on demand.
pub struct Backends {
    cfg: Config,
    /// Loaded once for the aws backend (reads the standard AWS settings; no request).
    sdk: Option<SdkConfig>,
}

impl Backends {
    pub async fn new(cfg: &Config) -> Result<Backends, BackendError> {
        let sdk = match cfg.backend {
            Backend::Embedded => {
                let dir = &cfg.storage.data_dir;
                std::fs::create_dir_all(dir).map_err(|source| BackendError::DataDir {
                    path: dir.clone(),
                    source,
                })?;
                None
            }
            Backend::Aws => Some(sdk_config_for(&cfg.aws).await),
        };
        Ok(Backends {
            cfg: cfg.clone(),
            sdk,
        })
    }

    pub fn store(&self) -> Result<Arc<dyn ObjectStore>, BackendError> {
        Ok(match &self.sdk {
            None => Arc::new(LocalStore::new(self.cfg.storage.data_dir.join("buckets"))?),
            Some(sdk) => Arc::new(S3Store::new(crate::aws::s3_client(sdk))),
        })
    }

    pub async fn job_queue(&self) -> Result<Arc<dyn Queue>, BackendError> {
        self.queue(&self.cfg.queue.jobs).await
    }

    /// The repair queue, if `queue.repair` names one.
    pub async fn repair_queue(&self) -> Result<Option<Arc<dyn Queue>>, BackendError> {
        match &self.cfg.queue.repair {
            Some(name) => Ok(Some(self.queue(name).await?)),
            None => Ok(None),
        }
    }

    /// The rejects queue: `queue.rejects`; unset, `{jobs}-rejects` on the embedded backend
    /// and none on AWS.
    pub async fn rejects_queue(&self) -> Result<Option<Arc<dyn Queue>>, BackendError> {
        match (&self.sdk, &self.cfg.queue.rejects) {
            (Some(_), None) => Ok(None),
            _ => Ok(Some(self.queue(&self.cfg.queue.rejects_name()).await?)),
        }
    }

    pub fn notifier(&self) -> Notifier {
        match &self.sdk {
            None => Notifier::jsonl(
                self.cfg
                    .notices
                    .log_path
                    .clone()
                    .unwrap_or_else(|| self.cfg.storage.data_dir.join("notices.jsonl")),
            ),
            Some(sdk) => match &self.cfg.notices.sns_topic_arn {
                Some(arn) => Notifier::Sns {
                    client: crate::aws::sns_client(sdk),
                    topic_arn: arn.clone(),
                },
                None => Notifier::None,
            },
        }
    }

    async fn queue(&self, name: &str) -> Result<Arc<dyn Queue>, BackendError> {
        let failed = |source| BackendError::Queue {
            name: name.to_string(),
            source,
        };
        match &self.sdk {
            None => {
                let settings = EmbeddedQueueSettings {
                    max_receives: self.cfg.queue.max_receives,
                    dead_letter_queue: Some(format!("{name}-dlq")),
                };
                let db = self.cfg.storage.data_dir.join("queue.sqlite3");
                Ok(Arc::new(
                    EmbeddedQueue::open(&db, name, settings).map_err(failed)?,
                ))
            }
            Some(sdk) => {
                let client = crate::aws::sqs_client(sdk);
                if name.starts_with("https://") || name.starts_with("http://") {
                    return Ok(Arc::new(SqsQueue::new(client, name.to_string())));
                }
                Ok(Arc::new(
                    SqsQueue::from_name(client, name).await.map_err(failed)?,
                ))
            }
        }
    }
}

/// Most bytes a tool may write to derivd: one 8-bit RGB still at the pixel limit, plus
/// headroom for the `best` sampler's thumbnails.
fn tool_output_cap(max_pixels: u64) -> u64 {
    max_pixels * 3 + (16 << 20)
}

/// The video and PDF extractors `[media]` enables, held to `[limits]`.
pub fn extractors(cfg: &Config) -> Extractors {
    let (m, l) = (&cfg.media, &cfg.limits);
    let sandbox = Sandbox {
        memory_bytes: m.tool_memory_bytes,
        cpu_seconds: m.tool_cpu_secs,
        max_output_bytes: tool_output_cap(l.max_input_pixels),
    };
    let video = m.video.then(|| {
        Arc::new(Ffmpeg {
            ffmpeg: m.ffmpeg.clone(),
            ffprobe: m.ffprobe.clone(),
            sandbox,
            protocols: m.protocols.clone(),
            max_seconds: l.max_video_seconds as f64,
            max_pixels: l.max_input_pixels,
        }) as Arc<dyn Extractor>
    });
    let pdf = m.pdf.then(|| {
        Arc::new(Poppler {
            pdfinfo: m.pdfinfo.clone(),
            pdftoppm: m.pdftoppm.clone(),
            sandbox,
            max_pages: l.max_pdf_pages,
            max_pixels: l.max_input_pixels,
        }) as Arc<dyn Extractor>
    });
    Extractors {
        video,
        pdf,
        temp_dir: m.temp_dir.clone(),
        tool_memory_bytes: m.tool_memory_bytes,
    }
}
