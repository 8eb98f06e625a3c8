//! Break-even points: how far the workload can move before a class stops paying.
//!
//! A single "saves $x" hides how fragile the answer is. Each threshold here is the value of
//! one input at which the class's net savings against STANDARD reach zero, all else equal:
//! * `max_annual_loss_rate` — losing objects faster than this, regeneration eats the savings
//!   (classes that lose objects);
//! * `max_cpu_seconds` — regenerations dearer than this many CPU-seconds each make the class
//!   cost more (classes that lose objects);
//! * `min_derived_size` — derived objects smaller than this cost more than in STANDARD
//!   (classes with a minimum billable size: small thumbnails in the IA classes);
//! * `max_reads_per_month` — more reads than this and request/retrieval fees eat the
//!   savings (classes whose reads cost more than STANDARD's).
//!
//! Net savings are affine in each input (piecewise, for size), so each is solved exactly.

use rust_decimal::Decimal;

use super::model::{class_cost, loss_rate, ClassEstimate, Workload};
pub use super::model::{BreakEvens, Threshold};
use super::sheet::{ClassPrices, Sheet};
use super::units::ByteSize;
use crate::storage::StorageClass;

/// The input value where savings `pays_at_zero - input x cost_per_unit` reach zero.
fn upper_bound(pays_at_zero: Decimal, cost_per_unit: Decimal) -> Threshold {
    if pays_at_zero <= Decimal::ZERO {
        Threshold::Never
    } else if cost_per_unit <= Decimal::ZERO {
        Threshold::Always
    } else {
        Threshold::At(pays_at_zero / cost_per_unit)
    }
}

pub fn break_evens(sheet: &Sheet, c: &ClassPrices, w: &Workload, e: &ClassEstimate) -> BreakEvens {
    let mut out = BreakEvens::default();
    if c.class == StorageClass::Standard {
        return out;
    }
    let std = sheet.standard();
    let objects = w.derived_objects();
    if loss_rate(c, w) > Decimal::ZERO {
        // Net savings = (net without regeneration) - rate x objects / 12 x cost of one.
        let per_unit_rate = objects / Decimal::from(12) * e.regeneration_each.total;
        out.max_annual_loss_rate = Some(
            match upper_bound(e.net_savings + e.regeneration, per_unit_rate) {
                Threshold::At(r) if r > Decimal::ONE => Threshold::Always, // > 100 %/yr
                t => t,
            },
        );
        let cpu_per_second =
            sheet.compute.per_hour.0 / Decimal::from(sheet.compute.vcpus) / Decimal::from(3600);
        let free_cpu = e.net_savings + e.losses_per_month * e.regeneration_each.cpu;
        out.max_cpu_seconds = Some(upper_bound(free_cpu, e.losses_per_month * cpu_per_second));
    }
    let size_gb = w.derived_size.gb();
    let extra_per_read = (c.get_per_1000 - std.get_per_1000) / Decimal::from(1000)
        + size_gb * (c.retrieval_per_gb - std.retrieval_per_gb);
    if extra_per_read > Decimal::ZERO {
        let without_reads = e.net_savings + Decimal::from(w.reads_per_month) * extra_per_read;
        out.max_reads_per_month = Some(match upper_bound(without_reads, extra_per_read) {
            Threshold::At(r) => Threshold::At(r.floor()),
            t => t,
        });
    }
    if c.min_object_size.0 > 0 {
        out.min_derived_size = min_size(sheet, c, w);
    }
    out
}

/// Net savings of `c` against STANDARD with the derived size set to `bytes`.
fn net_at(sheet: &Sheet, c: &ClassPrices, w: &Workload, bytes: u64) -> Decimal {
    let w = Workload {
        derived_size: ByteSize(bytes),
        ..w.clone()
    };
    class_cost(sheet, sheet.standard(), &w).total - class_cost(sheet, c, &w).total
}

/// Smallest derived size from which the class pays at every larger size.
///
/// Net savings are affine in size between the classes' size thresholds (minimum billable
/// size, monitoring minimum), so each segment is solved from two points, last one first.
fn min_size(sheet: &Sheet, c: &ClassPrices, w: &Workload) -> Option<Threshold> {
    let std = sheet.standard();
    let mut cuts: Vec<u64> = [
        c.min_object_size,
        c.monitoring_min_object_size,
        std.min_object_size,
        std.monitoring_min_object_size,
    ]
    .iter()
    .map(|s| s.0)
    .filter(|b| *b > 0)
    .collect();
    cuts.insert(0, 0);
    cuts.sort_unstable();
    cuts.dedup();
    // (start, end, savings at start, slope) for each segment; the last is open-ended.
    let segments: Vec<(u64, Option<u64>, Decimal, Decimal)> = cuts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = cuts.get(i + 1).copied();
            let probe = end.map_or(start + 1_000_000_000, |e| start + (e - start) / 2);
            let at_start = net_at(sheet, c, w, start);
            let slope = if probe > start {
                (net_at(sheet, c, w, probe) - at_start) / Decimal::from(probe - start)
            } else {
                Decimal::ZERO
            };
            (start, end, at_start, slope)
        })
        .collect();
    let end_value = |&(start, end, at, slope): &(u64, Option<u64>, Decimal, Decimal)| {
        end.map_or(at, |e| at + slope * Decimal::from(e - start))
    };
    let (_, _, last_at, last_slope) = *segments.last().expect("at least one segment");
    if last_slope < Decimal::ZERO || (last_slope.is_zero() && last_at < Decimal::ZERO) {
        // Savings do not grow with size (retrieval-heavy): no minimum size to give.
        let pays = segments
            .iter()
            .any(|s| s.2 >= Decimal::ZERO || end_value(s) >= Decimal::ZERO);
        return if pays { None } else { Some(Threshold::Never) };
    }
    for seg in segments.iter().rev() {
        let (start, end, at_start, slope) = *seg;
        if let (Some(e), true) = (end, end_value(seg) < Decimal::ZERO) {
            return Some(Threshold::At(Decimal::from(e))); // costs more just below `e`
        }
        if at_start < Decimal::ZERO {
            let root = Decimal::from(start) + (-at_start) / slope;
            return Some(Threshold::At(root.ceil()));
        }
    }
    Some(Threshold::Always)
}
