//! `derivd serve`, `derivd submit` and `derivd lose`: the service and its client side.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio_util::sync::CancellationToken;

use crate::backends::Backends;
use crate::catalogue::Catalogue;
use crate::config::{Backend, Config};
use crate::derive::{Admission, BucketMap};
use crate::job::{JobRequest, TransformSelection};
use crate::startup::{cancel_on_signal, Application};
use crate::storage::{PutRequest, StorageClass};

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// Source key in the bucket.
    pub source: String,
    /// Transforms, comma-separated; default: every one that accepts the source.
    #[arg(short, long = "transform", value_delimiter = ',')]
    pub transforms: Vec<String>,
    /// Store this local file as the source first.
    #[arg(long)]
    pub upload: Option<PathBuf>,
    /// Source bucket (default: storage.default_bucket).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Rewrite even if up to date.
    #[arg(long)]
    pub force: bool,
    /// Correlation id echoed in the completion notice.
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LoseArgs {
    /// Derived key to lose, e.g. `derived/cat.jpg/thumb-256.jpg`.
    pub key: String,
    /// Derived bucket (default: storage.default_bucket).
    #[arg(long)]
    pub bucket: Option<String>,
}

/// Characters escaped in a URL path segment (non-ASCII is always escaped).
const URL_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// How long `serve` waits at exit for blocking work still running after the drain. That
/// is only a decode the grace period gave up on (libjpeg-turbo cannot be interrupted): its
/// message is already handed back and nothing is written after it, so waiting for it (the
/// runtime's default on drop) would only stretch SIGTERM past the grace.
const EXIT_WAIT_FOR_BLOCKING: std::time::Duration = std::time::Duration::from_millis(500);

pub fn serve_cmd(cfg: Config, catalogue: Catalogue) -> anyhow::Result<i32> {
    let rt = runtime()?;
    let served = rt.block_on(async {
        let app = Application::build(cfg, catalogue).await?;
        let token = CancellationToken::new();
        tokio::spawn(cancel_on_signal(token.clone()));
        app.run_until_stopped(token).await?;
        Ok(0)
    });
    rt.shutdown_timeout(EXIT_WAIT_FOR_BLOCKING);
    served
}

pub fn submit_cmd(cfg: Config, catalogue: Catalogue, args: SubmitArgs) -> anyhow::Result<i32> {
    let job = JobRequest {
        id: args.id.clone(),
        bucket: args.bucket.clone(),
        source: args.source.clone(),
        transforms: if args.transforms.is_empty() {
            TransformSelection::All
        } else {
            TransformSelection::Named(args.transforms.clone())
        },
        force: args.force,
        focus: None,
    };
    job.validate()?;
    let buckets = BucketMap::from_config(&cfg);
    let admission = Admission {
        buckets: buckets.clone(),
        catalogue: Arc::new(catalogue),
    };
    let mapping = admission.admit(&job)?.clone();
    runtime()?.block_on(async {
        let backends = Backends::new(&cfg).await?;
        let bucket = mapping.source.clone();
        if let Some(file) = &args.upload {
            upload(&backends, &bucket, &args.source, file).await?;
        }
        let id = backends.job_queue().await?.send(&job.to_message_json()).await?;
        println!("queued job {id} for {bucket}/{}", args.source);
        println!(
            "derived objects: {}{}/<transform>.<ext> in bucket {}",
            mapping.layout.prefix(),
            args.source,
            mapping.derived
        );
        if let (Backend::Embedded, Some(listen)) = (cfg.backend, &cfg.http.listen) {
            let encoded: String = args
                .source
                .split('/')
                .map(|s| percent_encoding::utf8_percent_encode(s, URL_SEGMENT).to_string())
                .collect::<Vec<_>>()
                .join("/");
            println!(
                "fetch one (with `derivd serve` running): curl -o out 'http://{listen}/v1/derived/<transform>/{encoded}'"
            );
        }
        Ok(0)
    })
}

/// Stores `file` as the source `key`, typed by its detected media type.
async fn upload(
    backends: &Backends,
    bucket: &str,
    key: &str,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let content_type = match crate::media::detect(&bytes) {
        crate::media::Detected::Supported(m) => m.mime(),
        _ => "application/octet-stream",
    };
    let req = PutRequest {
        key: key.to_string(),
        bytes: bytes.into(),
        content_type: content_type.into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: Default::default(),
        condition: Default::default(),
    };
    backends
        .store()?
        .put(bucket, req)
        .await
        .context("uploading the source")?;
    println!("uploaded {} to {bucket}/{key}", file.display());
    Ok(())
}

/// Embedded demo of a Reduced Redundancy loss: delete a derived object and put an
/// S3-shaped `ReducedRedundancyLostObject` event on the repair queue.
pub fn lose_cmd(cfg: Config, args: LoseArgs) -> anyhow::Result<i32> {
    if cfg.backend != Backend::Embedded {
        bail!("`derivd lose` works with the embedded backend only");
    }
    if cfg.queue.repair.is_none() {
        bail!("no repair queue configured (set queue.repair, e.g. DERIVD_QUEUE__REPAIR=derivd-repair)");
    }
    runtime()?.block_on(async {
        let bucket = args
            .bucket
            .clone()
            .unwrap_or(cfg.storage.default_bucket.clone());
        let backends = Backends::new(&cfg).await?;
        let store = backends.store()?;
        if store.head(&bucket, &args.key).await?.is_none() {
            bail!("{bucket}/{} does not exist", args.key);
        }
        store.delete(&bucket, &args.key).await?;
        let event = crate::repair::lost_object_event(&bucket, &args.key);
        let repair = backends.repair_queue().await?.expect("checked above");
        repair.send(&event).await?;
        println!(
            "deleted {bucket}/{} and queued a ReducedRedundancyLostObject event",
            args.key
        );
        Ok(0)
    })
}
