//! Price sheets: the prices the model runs on, as data.
//!
//! Prices change (Reduced Redundancy was a third cheaper than STANDARD in 2010 and costs more
//! today), so they live in TOML files under `prices/`, one sheet per date and region, each
//! table carrying the page and date its prices were taken from. The shipped sheets are
//! compiled into the binary so `--prices 2010-us-east-1` works from any directory; a path to
//! a `.toml` file loads a user's own sheet. Loading is strict — unknown keys are rejected
//! (`deny_unknown_fields`), and every error names the file and the dotted key — because a
//! misspelt key silently falling back to a default would give a confident wrong answer.

use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

mod schema;

use super::units::ByteSize;
use super::CostError;
use crate::storage::StorageClass;
use schema::SheetFile;
pub use schema::Usd;

/// The sheets compiled into the binary: (name, TOML text).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "2010-us-east-1",
        include_str!("../../prices/2010-us-east-1.toml"),
    ),
    (
        "2026-us-east-1",
        include_str!("../../prices/2026-us-east-1.toml"),
    ),
];

/// A loaded, checked price sheet. All amounts are US dollars.
#[derive(Debug, Clone, Serialize)]
pub struct Sheet {
    pub name: String,
    pub region: String,
    pub as_of: String,
    /// Where it came from: `prices/NAME.toml (built in)` or the path given.
    pub file: String,
    pub note: Option<String>,
    /// STANDARD first, then the other classes the sheet prices, in a fixed order.
    pub classes: Vec<ClassPrices>,
    pub queue: QueuePrices,
    pub compute: ComputePrices,
    pub transfer: TransferPrices,
}

/// Prices of one storage class. Absent optional keys load as zero (no such charge).
#[derive(Debug, Clone, Serialize)]
pub struct ClassPrices {
    pub class: StorageClass,
    pub per_gb_month: Decimal,
    pub put_per_1000: Decimal,
    pub get_per_1000: Decimal,
    /// Fraction of objects lost a year; `None` only for ONEZONE_IA (a flag sets it).
    pub annual_loss_rate: Option<Decimal>,
    /// Smaller objects are billed as this size.
    pub min_object_size: ByteSize,
    /// Objects deleted sooner are billed for this many days.
    pub min_storage_days: u32,
    pub retrieval_per_gb: Decimal,
    pub monitoring_per_1000_objects: Decimal,
    /// Objects smaller than this are not monitored (and not charged for it).
    pub monitoring_min_object_size: ByteSize,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuePrices {
    pub service: String,
    pub per_million_requests: Usd,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputePrices {
    pub instance: String,
    pub per_hour: Usd,
    pub vcpus: u32,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferPrices {
    pub same_region_per_gb: Usd,
    /// Absent: the sheet does not price cross-region transfer; `--cross-region` is refused.
    pub cross_region_per_gb: Option<Usd>,
    pub source: String,
}

/// Resolves `--prices`: a shipped sheet's name, or a path to a `.toml` file.
pub fn resolve(name_or_path: &str) -> Result<Sheet, CostError> {
    if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
        return parse(text, &format!("prices/{name}.toml (built in)"));
    }
    let looks_like_path = name_or_path.ends_with(".toml") || name_or_path.contains('/');
    if !looks_like_path {
        let known = SHIPPED.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        return Err(CostError::UnknownSheet {
            name: name_or_path.to_owned(),
            known: known.join(", "),
        });
    }
    load_file(Path::new(name_or_path))
}

/// Loads and checks a sheet from a file.
pub fn load_file(path: &Path) -> Result<Sheet, CostError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CostError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Parses and checks a sheet's text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Sheet, CostError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| CostError::Toml {
        file: file.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    // Deserialising from a Value (not the text) makes toml report the dotted key path.
    let raw = SheetFile::deserialize(toml::Value::Table(table)).map_err(|e| key_error(file, &e))?;
    schema::check(raw, file)
}

/// Turns a toml error into one naming the key: `storage.STANDARD.per_gb_month`.
fn key_error(file: &str, err: &toml::de::Error) -> CostError {
    let message = err.message().to_owned();
    let display = err.to_string();
    let table = display
        .lines()
        .find_map(|l| l.strip_prefix("in `")?.strip_suffix('`'))
        .map(str::to_owned);
    // Unknown and missing fields are reported against the table that holds them.
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.split_once(p).and_then(|(_, r)| r.split_once('`')))
        .map(|(f, _)| f.to_owned());
    let key = match (table, field) {
        (Some(t), Some(f)) => format!("{t}.{f}"),
        (Some(t), None) => t,
        (None, Some(f)) => f,
        (None, None) => "(top level)".to_owned(),
    };
    CostError::Sheet {
        file: file.to_owned(),
        key,
        message,
    }
}

impl Sheet {
    /// The STANDARD prices (always present: the sheet is rejected without them).
    pub fn standard(&self) -> &ClassPrices {
        &self.classes[0]
    }
}

#[cfg(test)]
mod tests;
