//! The cost model: what one month of keeping the derived objects costs in each storage
//! class, against keeping them in STANDARD.
//!
//! The 2010 argument was: store derived objects in a cheaper, less durable class and pay to
//! regenerate the few that get lost. So each class is charged for
//! * storage (billed size: small objects are billed at the class's minimum; objects kept
//!   fewer days than the class's minimum are billed for the minimum),
//! * requests and retrieval for the reads it serves, plus rewrites if objects are replaced,
//! * Intelligent-Tiering's monitoring fee,
//! * expected regenerations (objects × annual loss rate / 12), each costing CPU time, a GET
//!   of the source, a PUT of the derived object, the queue delete that acknowledges the
//!   loss notification, and the source's transfer if it lives in another region,
//! * the repair listener's polling, for classes that lose objects (no losses, no listener).
//!
//! The break-even thresholds are solved in `breakeven.rs` (on this model) and the whole answer
//! assembled in `estimate.rs`; the types of both live here, so nothing imports upwards.
//!
//! Sources are always STANDARD and cost the same in every scenario, so they are shown for
//! context and left out of the savings. Everything is exact [`Decimal`] dollars.

use rust_decimal::Decimal;
use serde::Serialize;

use super::sheet::{ClassPrices, Sheet};
use super::units::{ByteSize, GB};
use crate::storage::StorageClass;

/// Seconds in the 30-day month the listener's polling is counted over.
pub const SECONDS_PER_MONTH: u32 = 30 * 24 * 3600;
/// Days in that month (for object lifetimes).
const DAYS_PER_MONTH: u32 = 30;

/// The workload, already range-checked by the CLI (see `cli::workload`).
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub sources: u64,
    pub source_size: ByteSize,
    pub derived_per_source: u64,
    pub derived_size: ByteSize,
    /// CPU-seconds (one vCPU) to recreate one derived object.
    pub cpu_seconds: Decimal,
    pub listeners: u64,
    /// One queue receive per listener every this many seconds.
    pub poll_seconds: Decimal,
    /// GETs of derived objects a month, all objects together.
    pub reads_per_month: u64,
    /// The source bucket is in another region than the regenerating workers.
    pub cross_region: bool,
    pub onezone_loss_rate: Decimal,
    /// Derived objects are replaced every this many days; `None`: kept indefinitely.
    pub lifetime_days: Option<u32>,
}

impl Workload {
    pub fn derived_objects(&self) -> Decimal {
        Decimal::from(self.sources) * Decimal::from(self.derived_per_source)
    }
}

/// What one regeneration costs.
#[derive(Debug, Clone, Serialize)]
pub struct Regeneration {
    pub cpu: Decimal,
    pub source_get: Decimal,
    pub derived_put: Decimal,
    pub queue_delete: Decimal,
    pub transfer: Decimal,
    pub total: Decimal,
}

/// One class's month. Savings are STANDARD's total minus this class's.
#[derive(Debug, Clone, Serialize)]
pub struct ClassEstimate {
    pub class: StorageClass,
    pub storage: Decimal,
    pub requests: Decimal,
    pub retrieval: Decimal,
    pub monitoring: Decimal,
    pub annual_loss_rate: Decimal,
    pub losses_per_month: Decimal,
    pub regeneration_each: Regeneration,
    pub regeneration: Decimal,
    pub listener: Decimal,
    pub total: Decimal,
    /// STANDARD's storage minus this class's storage (the 2010 paper's "saves").
    pub gross_savings: Decimal,
    /// STANDARD's total minus this class's total.
    pub net_savings: Decimal,
    pub break_even: BreakEvens,
}

/// Where one threshold lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Threshold {
    /// Net savings are zero at this value.
    At(Decimal),
    /// The class pays over the whole meaningful range of the input.
    Always,
    /// The class costs more than STANDARD whatever this input is.
    Never,
}

/// The thresholds that mean something for a class; `None` where one does not apply.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BreakEvens {
    pub max_annual_loss_rate: Option<Threshold>,
    pub max_cpu_seconds: Option<Threshold>,
    pub min_derived_size: Option<Threshold>,
    pub max_reads_per_month: Option<Threshold>,
}

/// Queue receives a month, all listeners together.
pub fn listener_requests(w: &Workload) -> Decimal {
    Decimal::from(w.listeners) * Decimal::from(SECONDS_PER_MONTH) / w.poll_seconds
}

/// The loss rate the model uses for `c`: the sheet's, or the flag's for ONEZONE_IA.
pub fn loss_rate(c: &ClassPrices, w: &Workload) -> Decimal {
    c.annual_loss_rate.unwrap_or(w.onezone_loss_rate)
}

/// One regeneration of a derived object stored in class `c`.
pub fn regeneration(sheet: &Sheet, c: &ClassPrices, w: &Workload) -> Regeneration {
    let thousand = Decimal::from(1000);
    let cpu_per_second =
        sheet.compute.per_hour.0 / Decimal::from(sheet.compute.vcpus) / Decimal::from(3600);
    let transfer_per_gb = match (w.cross_region, sheet.transfer.cross_region_per_gb) {
        (true, Some(p)) => p.0,
        _ => sheet.transfer.same_region_per_gb.0,
    };
    let cpu = w.cpu_seconds * cpu_per_second;
    let source_get = sheet.standard().get_per_1000 / thousand;
    let derived_put = c.put_per_1000 / thousand;
    let queue_delete = sheet.queue.per_million_requests.0 / Decimal::from(1_000_000);
    let transfer = w.source_size.gb() * transfer_per_gb;
    Regeneration {
        cpu,
        source_get,
        derived_put,
        queue_delete,
        transfer,
        total: cpu + source_get + derived_put + queue_delete + transfer,
    }
}

/// One class's monthly costs (savings and break-evens are filled in by `estimate.rs`).
pub fn class_cost(sheet: &Sheet, c: &ClassPrices, w: &Workload) -> ClassEstimate {
    let thousand = Decimal::from(1000);
    let objects = w.derived_objects();
    let size = Decimal::from(w.derived_size.0);
    let billed_size = size.max(Decimal::from(c.min_object_size.0));
    // Kept L days but billed max(L, minimum) days: the bill scales by max(L, min) / L.
    let (duration_factor, rewrites) = match w.lifetime_days {
        Some(days) => (
            Decimal::from(days.max(c.min_storage_days)) / Decimal::from(days),
            objects * Decimal::from(DAYS_PER_MONTH) / Decimal::from(days),
        ),
        None => (Decimal::ONE, Decimal::ZERO),
    };
    let storage = objects * (billed_size / GB) * c.per_gb_month * duration_factor;
    let reads = Decimal::from(w.reads_per_month);
    let requests = reads * c.get_per_1000 / thousand + rewrites * c.put_per_1000 / thousand;
    let retrieval = reads * (size / GB) * c.retrieval_per_gb;
    let monitored = c.monitoring_per_1000_objects > Decimal::ZERO
        && w.derived_size >= c.monitoring_min_object_size;
    let monitoring = if monitored {
        objects * c.monitoring_per_1000_objects / thousand
    } else {
        Decimal::ZERO
    };
    let rate = loss_rate(c, w);
    let losses = objects * rate / Decimal::from(12);
    let each = regeneration(sheet, c, w);
    let regeneration = losses * each.total;
    let listener = if rate > Decimal::ZERO {
        listener_requests(w) * sheet.queue.per_million_requests.0 / Decimal::from(1_000_000)
    } else {
        Decimal::ZERO
    };
    ClassEstimate {
        class: c.class,
        storage,
        requests,
        retrieval,
        monitoring,
        annual_loss_rate: rate,
        losses_per_month: losses,
        regeneration_each: each,
        regeneration,
        listener,
        total: storage + requests + retrieval + monitoring + regeneration + listener,
        gross_savings: Decimal::ZERO,
        net_savings: Decimal::ZERO,
        break_even: BreakEvens::default(),
    }
}

#[cfg(test)]
mod tests;
