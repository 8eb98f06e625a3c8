//! The whole answer for one price sheet and workload: every class's month from the model
//! (`model.rs`), its savings against STANDARD and its break-even points (`breakeven.rs`),
//! and the recommendation.

use rust_decimal::Decimal;
use serde::Serialize;

use super::breakeven::break_evens;
use super::model::{class_cost, listener_requests, ClassEstimate, Workload};
use super::sheet::Sheet;
use super::CostError;
use crate::storage::StorageClass;

/// The whole answer for one sheet and workload.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub sheet: SheetInfo,
    pub workload: Workload,
    pub derived_objects: Decimal,
    pub derived_gb: Decimal,
    pub source_gb: Decimal,
    /// Sources in STANDARD: the same in every scenario, shown for context.
    pub source_storage: Decimal,
    pub listener_requests_per_month: Decimal,
    pub classes: Vec<ClassEstimate>,
    pub recommendation: StorageClass,
}

#[derive(Debug, Clone, Serialize)]
pub struct SheetInfo {
    pub name: String,
    pub region: String,
    pub as_of: String,
    pub file: String,
    pub note: Option<String>,
}

/// Runs the model for every class the sheet prices.
pub fn estimate(sheet: &Sheet, w: &Workload) -> Result<Estimate, CostError> {
    if w.cross_region && sheet.transfer.cross_region_per_gb.is_none() {
        return Err(CostError::InvalidArgument {
            flag: "--cross-region",
            message: format!(
                "price sheet {} has no `transfer.cross_region_per_gb`",
                sheet.file
            ),
        });
    }
    let std = sheet.standard();
    let base = class_cost(sheet, std, w);
    let classes: Vec<ClassEstimate> = sheet
        .classes
        .iter()
        .map(|c| {
            let mut e = class_cost(sheet, c, w);
            e.gross_savings = base.storage - e.storage;
            e.net_savings = base.total - e.total;
            e.break_even = break_evens(sheet, c, w, &e);
            e
        })
        .collect();
    let recommendation = recommend(&classes);
    Ok(Estimate {
        sheet: SheetInfo {
            name: sheet.name.clone(),
            region: sheet.region.clone(),
            as_of: sheet.as_of.clone(),
            file: sheet.file.clone(),
            note: sheet.note.clone(),
        },
        workload: w.clone(),
        derived_objects: w.derived_objects(),
        derived_gb: w.derived_objects() * w.derived_size.gb(),
        source_gb: Decimal::from(w.sources) * w.source_size.gb(),
        source_storage: Decimal::from(w.sources) * w.source_size.gb() * std.per_gb_month,
        listener_requests_per_month: listener_requests(w),
        classes,
        recommendation,
    })
}

/// Cheapest total; STANDARD unless another class saves at least a cent a month.
fn recommend(classes: &[ClassEstimate]) -> StorageClass {
    let cheapest = classes
        .iter()
        .min_by(|a, b| a.total.cmp(&b.total)) // first of equals: STANDARD comes first
        .expect("STANDARD is always priced");
    if cheapest.net_savings >= Decimal::new(1, 2) {
        cheapest.class
    } else {
        StorageClass::Standard
    }
}
