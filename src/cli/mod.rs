//! Command-line front end: argument parsing and the commands that do not need a server.
//! `main.rs` only calls [`run`].

mod audit_cmd;
mod catalogue_cmd;
mod provision_cmd;
mod serve_cmd;
mod sign_cmd;
mod transform_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::catalogue::Catalogue;
use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "derivd",
    version,
    about = "Makes and keeps derived objects in S3."
)]
pub struct Cli {
    /// TOML config file (see deploy/derivd.example.toml). DERIVD_* variables override it.
    #[arg(long, global = true, env = "DERIVD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run transforms on local files (no AWS, no queue) and write the outputs under --out.
    Transform(transform_cmd::TransformArgs),
    /// Print the catalogue: accepted types, transforms, derived-key templates.
    Catalogue(catalogue_cmd::CatalogueArgs),
    /// Compare storage classes for a workload: does Reduced Redundancy pay?
    Cost(crate::cost::CostArgs),
    /// Run the service: job workers, repair listener (if configured) and the HTTP API.
    Serve,
    /// Queue a job (optionally uploading the source first).
    Submit(serve_cmd::SubmitArgs),
    /// Embedded demo: delete a derived object and report it lost, as S3 would.
    Lose(serve_cmd::LoseArgs),
    /// Check every manifest's derived objects (missing, stale, orphaned); exit 0 healthy,
    /// 1 problems found, 2 errors. --repair queues their regeneration.
    Audit(audit_cmd::AuditArgs),
    /// Create, idempotently, the AWS resources the config names (queues with redrive,
    /// topics, subscription, policies, bucket notifications). Exit 0 done, 1 something failed.
    Setup(provision_cmd::SetupArgs),
    /// Verify the live AWS wiring, one line per check. Exit 0 all well, 1 something wrong,
    /// 2 something could not be verified (access denied).
    Check(provision_cmd::CheckArgs),
    /// Print a signed URL for GET /v1/derived/... (http.url_signing_key's newest key).
    SignUrl(sign_cmd::SignArgs),
}

/// Runs the parsed command; the exit code is the return value.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Cost(args) => {
            print!("{}", crate::cost::run(&args)?);
            Ok(0)
        }
        Command::Transform(args) => {
            let cfg = load_config(cli.config.as_deref())?;
            transform_cmd::run(&cfg, &load_catalogue(&cfg)?, &args)
        }
        Command::Serve => {
            let cfg = load_config(cli.config.as_deref())?;
            let cat = load_catalogue(&cfg)?;
            serve_cmd::serve_cmd(cfg, cat)
        }
        Command::Submit(args) => {
            let cfg = load_config(cli.config.as_deref())?;
            let cat = load_catalogue(&cfg)?;
            serve_cmd::submit_cmd(cfg, cat, args)
        }
        Command::Lose(args) => {
            let cfg = load_config(cli.config.as_deref())?;
            serve_cmd::lose_cmd(cfg, args)
        }
        Command::Catalogue(args) => {
            let cfg = load_config(cli.config.as_deref())?;
            catalogue_cmd::run(&cfg, &load_catalogue(&cfg)?, &args)
        }
        Command::Audit(args) => {
            let cfg = load_config(cli.config.as_deref())?;
            let cat = load_catalogue(&cfg)?;
            audit_cmd::run(cfg, cat, args)
        }
        Command::Setup(args) => provision_cmd::setup(&load_config(cli.config.as_deref())?, &args),
        Command::Check(args) => provision_cmd::check(&load_config(cli.config.as_deref())?, &args),
        Command::SignUrl(args) => sign_cmd::run(&load_config(cli.config.as_deref())?, &args),
    }
}

pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    // vars_os: a non-UTF-8 variable elsewhere in the environment must not crash derivd.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    Ok(Config::load(path, env)?)
}

/// The configured transforms folder, else `./transforms`, else the built-in set.
pub fn load_catalogue(cfg: &Config) -> anyhow::Result<Catalogue> {
    let max_side = cfg.limits.max_output_side;
    let dir = match &cfg.catalogue.dir {
        Some(d) => d.clone(),
        None if std::path::Path::new("transforms").is_dir() => PathBuf::from("transforms"),
        None => return Ok(Catalogue::built_in(max_side)?),
    };
    Ok(Catalogue::load_dirs(&[dir], max_side)?)
}
