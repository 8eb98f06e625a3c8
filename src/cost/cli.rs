//! `derivd cost` flags and entry point.
//!
//! The defaults are the 2010 design's worked example (100,000 sources of 5 MB, five 500 KB
//! derived objects each, one CPU-second to recreate one) priced with today's sheet, so a bare
//! `derivd cost` answers "does the paper's argument still hold?". Values are parsed by clap
//! (a bad size or rate names its flag there); limits that keep the arithmetic exact and
//! flags that do not go together are checked here and reported as [`CostError`].

use rust_decimal::Decimal;

use super::estimate::{estimate, Estimate};
use super::model::Workload;
use super::units::{parse_amount, parse_rate, ByteSize, UnitError};
use super::{report, sheet, CostError};

/// Flags of `derivd cost`.
#[derive(Debug, Clone, clap::Args)]
pub struct CostArgs {
    /// Number of source objects (always kept in STANDARD).
    #[arg(long, default_value_t = 100_000)]
    pub sources: u64,
    /// Size of one source object: a number and B, KB, MB, GB or TB (decimal), or KiB..TiB.
    #[arg(long, default_value = "5MB", value_parser = parse_size)]
    pub source_size: ByteSize,
    /// Derived objects made from each source.
    #[arg(long, default_value_t = 5)]
    pub derived_per_source: u64,
    /// Size of one derived object (same units as --source-size).
    #[arg(long, default_value = "500KB", value_parser = parse_size)]
    pub derived_size: ByteSize,
    /// CPU-seconds (one vCPU) to recreate one derived object.
    #[arg(long, default_value = "1", value_parser = parse_amount)]
    pub cpu_seconds: Decimal,
    /// Price sheet: a built-in name (2010-us-east-1, 2026-us-east-1) or a path to a .toml file.
    #[arg(long, default_value = "2026-us-east-1", value_name = "NAME|FILE.toml")]
    pub prices: String,
    /// Repair listeners polling the loss-notification queue.
    #[arg(long, default_value_t = 1)]
    pub listeners: u64,
    /// Seconds between a listener's queue receives (20 = SQS's longest long poll).
    #[arg(long, default_value = "20", value_parser = parse_amount)]
    pub poll_seconds: Decimal,
    /// GETs of derived objects a month, all objects together (IA classes charge retrieval).
    #[arg(long, default_value_t = 0)]
    pub reads_per_month: u64,
    /// Sources are in another region than the workers that regenerate.
    #[arg(long)]
    pub cross_region: bool,
    /// Yearly fraction of ONEZONE_IA objects lost with their availability zone: 0.001 or 0.1%.
    #[arg(long, default_value = "0.1%", value_parser = parse_rate)]
    pub onezone_loss_rate: Decimal,
    /// Derived objects are deleted and rewritten every this many days (default: kept).
    #[arg(long, value_name = "DAYS")]
    pub lifetime_days: Option<u32>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn parse_size(text: &str) -> Result<ByteSize, UnitError> {
    text.parse()
}

/// The most derived objects accepted (10^15): keeps every product inside `Decimal`'s range.
const MAX_OBJECTS: u64 = 1_000_000_000_000_000;
/// S3's largest object.
const MAX_OBJECT_SIZE: u64 = 5_000_000_000_000;

fn invalid(flag: &'static str, message: impl Into<String>) -> CostError {
    CostError::InvalidArgument {
        flag,
        message: message.into(),
    }
}

/// Checks the flags' ranges and builds the model's workload.
pub fn workload(a: &CostArgs) -> Result<Workload, CostError> {
    let objects = a.sources.checked_mul(a.derived_per_source);
    if objects.is_none_or(|n| n > MAX_OBJECTS) {
        return Err(invalid(
            "--derived-per-source",
            format!(
                "{} sources x {} derived each is more than 10^15 derived objects",
                a.sources, a.derived_per_source
            ),
        ));
    }
    for (flag, size) in [
        ("--source-size", a.source_size),
        ("--derived-size", a.derived_size),
    ] {
        if size.0 > MAX_OBJECT_SIZE {
            return Err(invalid(
                flag,
                format!("{size} is larger than S3's 5 TB object limit"),
            ));
        }
    }
    let limits = [
        (
            "--cpu-seconds",
            a.cpu_seconds,
            Decimal::from(1_000_000_000u64),
        ),
        (
            "--listeners",
            a.listeners.into(),
            Decimal::from(1_000_000u64),
        ),
        (
            "--reads-per-month",
            a.reads_per_month.into(),
            Decimal::from(MAX_OBJECTS),
        ),
    ];
    for (flag, value, max) in limits {
        if value > max {
            return Err(invalid(
                flag,
                format!("{value} is more than the limit {max}"),
            ));
        }
    }
    if a.poll_seconds < Decimal::new(1, 3) {
        return Err(invalid("--poll-seconds", "must be at least 0.001"));
    }
    if a.lifetime_days == Some(0) {
        return Err(invalid("--lifetime-days", "must be at least 1"));
    }
    Ok(Workload {
        sources: a.sources,
        source_size: a.source_size,
        derived_per_source: a.derived_per_source,
        derived_size: a.derived_size,
        cpu_seconds: a.cpu_seconds,
        listeners: a.listeners,
        poll_seconds: a.poll_seconds,
        reads_per_month: a.reads_per_month,
        cross_region: a.cross_region,
        onezone_loss_rate: a.onezone_loss_rate,
        lifetime_days: a.lifetime_days,
    })
}

/// Loads the sheet and runs the model, without formatting.
pub fn compute(args: &CostArgs) -> Result<Estimate, CostError> {
    let workload = workload(args)?;
    let sheet = sheet::resolve(&args.prices)?;
    estimate(&sheet, &workload)
}

/// Runs `derivd cost`: returns the table (or JSON with `--json`) to print.
pub fn run(args: &CostArgs) -> Result<String, CostError> {
    let estimate = compute(args)?;
    if args.json {
        report::json(&estimate)
    } else {
        Ok(report::table(&estimate))
    }
}

impl Default for CostArgs {
    /// The flags' defaults, exactly as `derivd cost` with no flags.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: CostArgs,
        }
        <Wrapper as clap::Parser>::parse_from(["derivd-cost"]).args
    }
}
