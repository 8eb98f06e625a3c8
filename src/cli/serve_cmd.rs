//! `derivd serve`, `derivd submit` and `derivd lose`: the service and its client side.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio_util::sync::CancellationToken;

use crate::app::{cancel_on_signal, serve, App};
use crate::catalogue::Catalogue;
use crate::config::{Backend, Config};
use crate::job::{JobOrigin, JobRequest, TransformSelection};
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

pub fn serve_cmd(cfg: Config, catalogue: Catalogue) -> anyhow::Result<i32> {
    runtime()?.block_on(async {
        let app = Arc::new(App::build(cfg, catalogue).await?);
        let token = CancellationToken::new();
        tokio::spawn(cancel_on_signal(token.clone()));
        serve(app, token).await?;
        Ok(0)
    })
}

pub fn submit_cmd(cfg: Config, catalogue: Catalogue, args: SubmitArgs) -> anyhow::Result<i32> {
    runtime()?.block_on(async {
        let bucket = args
            .bucket
            .clone()
            .unwrap_or(cfg.storage.default_bucket.clone());
        let app = App::build(cfg, catalogue).await?;
        for t in &args.transforms {
            if app.catalogue.get(t).is_none() {
                bail!("unknown transform {t:?}");
            }
        }
        if let Some(file) = &args.upload {
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let content_type = match crate::media::detect(&bytes) {
                crate::media::Detected::Supported(m) => m.mime(),
                _ => "application/octet-stream",
            };
            app.store
                .put(
                    &bucket,
                    PutRequest {
                        key: args.source.clone(),
                        bytes: bytes.into(),
                        content_type: content_type.into(),
                        storage_class: StorageClass::Standard,
                        cache_control: None,
                        metadata: Default::default(),
                        condition: Default::default(),
                    },
                )
                .await
                .context("uploading the source")?;
            println!("uploaded {} to {bucket}/{}", file.display(), args.source);
        }
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
            origin: JobOrigin::Message,
        };
        job.validate()?;
        let id = app.jobs.send(&job.to_message_json()).await?;
        println!("queued job {id} for {bucket}/{}", args.source);
        let prefix = app.cfg.bucket(&bucket).map_or("derived/".into(), |m| m.prefix);
        println!(
            "derived objects: {}{}/<transform>.<ext> in bucket {bucket}",
            prefix, args.source
        );
        if app.cfg.backend == Backend::Embedded {
            let encoded: String = args
                .source
                .split('/')
                .map(|s| percent_encoding::utf8_percent_encode(s, URL_SEGMENT).to_string())
                .collect::<Vec<_>>()
                .join("/");
            println!(
                "fetch one (with `derivd serve` running): curl -o out 'http://{}/v1/derived/<transform>/{encoded}'",
                app.cfg.http.listen
            );
        }
        Ok(0)
    })
}

/// Embedded demo of a Reduced Redundancy loss: delete a derived object and put an
/// S3-shaped `ReducedRedundancyLostObject` event on the repair queue.
pub fn lose_cmd(cfg: Config, catalogue: Catalogue, args: LoseArgs) -> anyhow::Result<i32> {
    if cfg.backend != Backend::Embedded {
        bail!("`derivd lose` works with the embedded backend only");
    }
    if cfg.queue.repair.is_empty() {
        bail!("no repair queue configured (set queue.repair, e.g. DERIVD_QUEUE__REPAIR=derivd-repair)");
    }
    runtime()?.block_on(async {
        let bucket = args
            .bucket
            .clone()
            .unwrap_or(cfg.storage.default_bucket.clone());
        let app = App::build(cfg, catalogue).await?;
        if app.store.head(&bucket, &args.key).await?.is_none() {
            bail!("{bucket}/{} does not exist", args.key);
        }
        app.store.delete(&bucket, &args.key).await?;
        let event = crate::repair::lost_object_event(&bucket, &args.key);
        let repair = app.repair.as_ref().expect("checked above");
        repair.send(&event).await?;
        println!(
            "deleted {bucket}/{} and queued a ReducedRedundancyLostObject event",
            args.key
        );
        Ok(0)
    })
}
