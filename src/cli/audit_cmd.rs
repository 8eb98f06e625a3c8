//! `derivd audit`: arguments, the progress bar and printing around [`crate::audit::audit`],
//! which does all the work (so tests call the library and the CLI stays thin).
//!
//! The progress bar goes to stderr and only when stderr is a terminal, so piped or `--json`
//! output on stdout stays clean and CI logs are not filled with redraws. Exit codes are the
//! report's: 0 healthy, 1 problems found, 2 errors (anything that could not be checked or
//! queued, or the audit could not start).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::audit::{audit, AuditOptions, AuditProgress, DEFAULT_CONCURRENCY};
use crate::backends::Backends;
use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::derive::BucketMap;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Queue forced regeneration of missing and stale objects (one job per source).
    /// Orphaned and retired objects are reported, never repaired.
    #[arg(long)]
    pub repair: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Audit only these source buckets (repeat or comma-separate); default: every
    /// configured one.
    #[arg(long = "bucket", value_delimiter = ',')]
    pub buckets: Vec<String>,
    /// Storage requests in flight at once.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub concurrency: usize,
}

/// A bar over manifests; its length grows as the listing finds more.
struct Bar {
    bar: ProgressBar,
    problems: AtomicU64,
}

impl AuditProgress for Bar {
    fn found(&self, n: u64) {
        self.bar.inc_length(n);
    }

    fn checked(&self, _objects: u64, problems: u64) {
        self.bar.inc(1);
        if problems > 0 {
            let total = self.problems.fetch_add(problems, Ordering::Relaxed) + problems;
            self.bar.set_message(format!("{total} problems"));
        }
    }
}

fn progress_bar() -> Option<Arc<Bar>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} manifests {msg}",
    )
    .expect("valid template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(Arc::new(Bar {
        bar,
        problems: AtomicU64::new(0),
    }))
}

pub fn run(cfg: Config, catalogue: Catalogue, args: AuditArgs) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let backends = Backends::new(&cfg).await?;
        let app = crate::audit::Auditor {
            store: backends.store()?,
            buckets: BucketMap::from_config(&cfg),
            catalogue: Arc::new(catalogue),
            jobs: match args.repair {
                true => Some(backends.job_queue().await?),
                false => None,
            },
        };
        let bar = progress_bar();
        let opts = AuditOptions {
            repair: args.repair,
            concurrency: args.concurrency,
            buckets: args.buckets.clone(),
            progress: bar.clone().map(|b| b as Arc<dyn AuditProgress>),
        };
        let report = audit(&app, &opts).await;
        if let Some(b) = bar {
            b.bar.finish_and_clear();
        }
        anyhow::Ok(report?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.exit_code())
}
