//! `derivd setup` and `derivd check`: arguments and printing around [`crate::provision`],
//! which does the work and returns a typed report.
//!
//! On the embedded backend there is nothing to create on AWS: `setup` says so and exits 0
//! (derivd makes its data dir and queues itself on start); `check` checks that the data dir
//! is a writable directory (or can be created) and exits 0 or 1.

use crate::config::{Backend, Config};
use crate::provision::{self, Clients, Report, SetupOptions, Status};

#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// Also send s3:ObjectCreated:* and s3:ObjectRemoved:* under provision.upload_prefix of
    /// every source bucket to the job queue (uploads then start jobs by themselves).
    #[arg(long)]
    pub job_events: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

async fn clients(cfg: &Config) -> Clients {
    Clients::new(&crate::backends::sdk_config_for(&cfg.aws).await)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn setup(cfg: &Config, args: &SetupArgs) -> anyhow::Result<i32> {
    if cfg.backend == Backend::Embedded {
        println!(
            "– backend embedded: nothing to set up (derivd creates {} and its queues on start)",
            cfg.storage.data_dir.display()
        );
        return Ok(0);
    }
    let opts = SetupOptions {
        job_events: args.job_events,
    };
    let report = runtime()?.block_on(async {
        let c = clients(cfg).await;
        provision::setup(cfg, &c, &opts).await
    });
    print!("{}", report.to_text());
    Ok(if report.count(Status::Failed) > 0 {
        1
    } else {
        0
    })
}

pub fn check(cfg: &Config, args: &CheckArgs) -> anyhow::Result<i32> {
    let report = match cfg.backend {
        Backend::Embedded => check_data_dir(cfg),
        Backend::Aws => runtime()?.block_on(async {
            let c = clients(cfg).await;
            provision::check(cfg, &c).await
        }),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.exit_code())
}

/// The embedded backend's one requirement: a data dir derivd can write.
fn check_data_dir(cfg: &Config) -> Report {
    let dir = &cfg.storage.data_dir;
    let subject = format!("data dir {}", dir.display());
    let mut r = Report::default();
    if !dir.exists() {
        r.push(
            Status::Ok,
            subject,
            "does not exist yet (derivd serve creates it)",
        );
        return r;
    }
    let probe = dir.join(format!(".derivd-check-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            r.push(
                Status::Ok,
                subject,
                "writable (backend embedded: nothing on AWS to check)",
            );
        }
        Err(e) => r.push_fix(
            Status::Failed,
            subject,
            format!("not writable: {e}"),
            "set storage.data_dir to a directory derivd may write",
        ),
    }
    r
}
