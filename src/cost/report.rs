//! Presenting an [`Estimate`]: an aligned table for people, JSON for machines.
//!
//! The table rounds every amount half-up to the cent (the model itself never rounds), shows
//! one column per class the sheet prices, hides cost rows that are zero for every class,
//! and ends with the recommendation in the form derivd's config takes it. JSON carries the
//! unrounded decimals as strings so nothing is lost to floating point.

use std::fmt::Write;

use rust_decimal::Decimal;

use super::breakeven::Threshold;
use super::estimate::Estimate;
use super::model::ClassEstimate;
use super::units::{grouped, percent, usd, ByteSize};
use super::CostError;
use crate::storage::StorageClass;

/// The report as pretty JSON: unrounded decimals as strings, trailing zeros dropped.
pub fn json(e: &Estimate) -> Result<String, CostError> {
    let mut e = e.clone();
    for d in [
        &mut e.derived_objects,
        &mut e.derived_gb,
        &mut e.source_gb,
        &mut e.source_storage,
    ] {
        *d = d.normalize();
    }
    for c in &mut e.classes {
        let r = &mut c.regeneration_each;
        for d in [
            &mut c.storage,
            &mut c.requests,
            &mut c.retrieval,
            &mut c.monitoring,
            &mut c.annual_loss_rate,
            &mut c.losses_per_month,
            &mut c.regeneration,
            &mut c.listener,
            &mut c.total,
            &mut c.gross_savings,
            &mut c.net_savings,
            &mut r.cpu,
            &mut r.source_get,
            &mut r.derived_put,
            &mut r.queue_delete,
            &mut r.transfer,
            &mut r.total,
        ] {
            *d = d.normalize();
        }
    }
    Ok(serde_json::to_string_pretty(&e)? + "\n")
}

type Cell = fn(&ClassEstimate) -> String;

fn threshold(t: Option<Threshold>, show: impl Fn(Decimal) -> String) -> String {
    match t {
        None => "—".into(),
        Some(Threshold::At(v)) => show(v),
        Some(Threshold::Always) => "any".into(),
        Some(Threshold::Never) => "never".into(),
    }
}

fn standard_dash(c: &ClassEstimate, v: Decimal) -> String {
    if c.class == StorageClass::Standard {
        "—".into()
    } else {
        usd(v)
    }
}

const ROWS: &[(&str, Cell, bool)] = &[
    // (label, cell, hide when zero everywhere)
    ("storage", |c| usd(c.storage), false),
    ("requests (reads, rewrites)", |c| usd(c.requests), true),
    ("retrieval", |c| usd(c.retrieval), true),
    ("monitoring", |c| usd(c.monitoring), true),
    ("annual loss rate", |c| percent(c.annual_loss_rate), false),
    (
        "expected losses a month",
        |c| grouped(c.losses_per_month, 2),
        false,
    ),
    (
        "cost of one regeneration",
        |c| {
            if c.annual_loss_rate.is_zero() {
                "—".into()
            } else {
                format!("${}", grouped(c.regeneration_each.total, 6))
            }
        },
        false,
    ),
    ("regeneration", |c| usd(c.regeneration), false),
    ("repair listener", |c| usd(c.listener), false),
    ("total a month", |c| usd(c.total), false),
    (
        "gross savings (storage)",
        |c| standard_dash(c, c.gross_savings),
        false,
    ),
    ("net savings", |c| standard_dash(c, c.net_savings), false),
    (
        "pays while loss rate/yr <",
        |c| threshold(c.break_even.max_annual_loss_rate, percent),
        false,
    ),
    (
        "pays while CPU-s/regen <",
        |c| {
            threshold(c.break_even.max_cpu_seconds, |v| {
                format!("{} s", grouped(v.floor(), 0))
            })
        },
        false,
    ),
    (
        "pays while derived size >=",
        |c| {
            threshold(c.break_even.min_derived_size, |v| {
                ByteSize(v.try_into().unwrap_or(u64::MAX)).to_string()
            })
        },
        false,
    ),
    (
        "pays while reads a month <",
        |c| threshold(c.break_even.max_reads_per_month, |v| grouped(v, 0)),
        false,
    ),
];

/// The report as a table with a header, the recommendation and notes.
pub fn table(e: &Estimate) -> String {
    let w = &e.workload;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "derivd cost: prices {} ({}, as of {}; {})",
        e.sheet.name, e.sheet.region, e.sheet.as_of, e.sheet.file
    );
    let _ = writeln!(
        out,
        "Workload: {} sources x {} in STANDARD, {}; {} derived each x {} = {} derived objects ({} GB), {}",
        grouped(w.sources.into(), 0),
        w.source_size,
        if w.cross_region { "in another region" } else { "in the same region" },
        grouped(w.derived_per_source.into(), 0),
        w.derived_size,
        grouped(e.derived_objects, 0),
        grouped(e.derived_gb, 2),
        match w.lifetime_days {
            Some(d) => format!("replaced every {d} days"),
            None => "kept indefinitely".into(),
        }
    );
    let _ = writeln!(
        out,
        "          {} CPU-s per regeneration; {} listener(s) receiving every {} s ({} receives a month); \
         {} reads a month",
        w.cpu_seconds.normalize(),
        w.listeners,
        w.poll_seconds.normalize(),
        grouped(e.listener_requests_per_month, 0),
        grouped(w.reads_per_month.into(), 0),
    );
    let _ = writeln!(
        out,
        "Sources in STANDARD (the same in every scenario): {} GB, {} a month\n",
        grouped(e.source_gb, 2),
        usd(e.source_storage)
    );
    let label_width = ROWS.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let widths: Vec<usize> = e
        .classes
        .iter()
        .map(|c| {
            ROWS.iter()
                .map(|r| (r.1)(c).chars().count())
                .chain([c.class.as_str().len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let _ = write!(out, "{:<label_width$}", "Monthly, USD");
    for (c, width) in e.classes.iter().zip(&widths) {
        let _ = write!(out, "  {:>width$}", c.class.as_str());
    }
    out.push('\n');
    for (label, cell, hide_zero) in ROWS {
        if *hide_zero && e.classes.iter().all(|c| cell(c) == "$0.00") {
            continue;
        }
        let _ = write!(out, "{label:<label_width$}");
        for (c, width) in e.classes.iter().zip(&widths) {
            let _ = write!(out, "  {:>width$}", cell(c));
        }
        out.push('\n');
    }
    out.push('\n');
    recommendation(&mut out, e);
    notes(&mut out, e);
    out
}

fn recommendation(out: &mut String, e: &Estimate) {
    let best = e
        .classes
        .iter()
        .find(|c| c.class == e.recommendation)
        .expect("recommended class is priced");
    let name = best.class.as_str();
    if best.class == StorageClass::Standard {
        let _ = writeln!(
            out,
            "Recommendation: STANDARD ({} a month); no other class saves a cent.",
            usd(best.total)
        );
    } else {
        let _ = writeln!(
            out,
            "Recommendation: {name}, {} a month, {} less than STANDARD.",
            usd(best.total),
            usd(best.net_savings)
        );
    }
    let _ = writeln!(
        out,
        "  In derivd's config:  [storage]  storage_class = \"{name}\""
    );
}

fn notes(out: &mut String, e: &Estimate) {
    let std_storage = e.classes[0].storage;
    let mut notes: Vec<String> =
        vec!["Amounts are rounded half-up to the cent; --json has them unrounded.".into()];
    for c in &e.classes {
        match c.class {
            StorageClass::ReducedRedundancy if c.storage > std_storage => notes.push(
                "REDUCED_REDUNDANCY costs more per GB than STANDARD on this sheet: it cannot pay.".into(),
            ),
            StorageClass::IntelligentTiering => notes.push(
                "INTELLIGENT_TIERING is priced at its Frequent Access tier; objects unread for 30+ days \
                 move to cheaper tiers, which this model does not predict."
                    .into(),
            ),
            StorageClass::OnezoneIa => notes.push(format!(
                "ONEZONE_IA's loss rate ({}/yr) is an assumption (--onezone-loss-rate); losing the zone \
                 loses every object at once: {} regenerations, {} CPU-hours.",
                percent(c.annual_loss_rate),
                grouped(e.derived_objects, 0),
                grouped(e.derived_objects * e.workload.cpu_seconds / Decimal::from(3600), 1)
            )),
            _ => {}
        }
    }
    notes.push("Every queue request is charged: free tiers are not modelled.".into());
    if let Some(n) = &e.sheet.note {
        notes.push(format!("Sheet: {n}"));
    }
    out.push_str("\nNotes:\n");
    for n in notes {
        let _ = writeln!(out, "- {n}");
    }
}
