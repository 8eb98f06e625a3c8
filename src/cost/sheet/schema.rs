//! The sheet's TOML schema: the raw, strictly-checked form a file deserialises into, and
//! the checks that turn it into a [`Sheet`]. Kept apart from the public types so the file
//! format can grow (or keep old spellings) without touching the model.

use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::{ClassPrices, ComputePrices, QueuePrices, Sheet, TransferPrices};
use crate::cost::units::{parse_amount, parse_rate, ByteSize, UnitError};
use crate::cost::CostError;
use crate::storage::StorageClass;

/// A non-negative dollar amount: `"0.023"` (exact) or a TOML number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Usd(pub Decimal);

#[derive(Debug, Clone, Copy)]
struct Rate(Decimal);

#[derive(Debug, Clone, Copy)]
struct Size(ByteSize);

/// Reads a string or a TOML number and hands its text to `parse`; integers get `int_suffix`.
fn via_text<'de, D, T>(
    d: D,
    int_suffix: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Text(&'static str);
    impl de::Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(format!("{v}{}", self.0))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(format!("{v}{}", self.0))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string()) // shortest round-trip text: 0.085 stays "0.085"
        }
    }
    let text = d.deserialize_any(Text(int_suffix))?;
    parse(&text).map_err(de::Error::custom)
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        via_text(d, "", |t| {
            parse_amount(t).map(Usd).map_err(|e| e.to_string())
        })
    }
}
impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        via_text(d, "", |t| {
            parse_rate(t).map(Rate).map_err(|e| e.to_string())
        })
    }
}
impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        via_text(d, "B", |t| {
            t.parse().map(Size).map_err(|e: UnitError| e.to_string())
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SheetFile {
    name: String,
    region: String,
    as_of: String,
    currency: String,
    note: Option<String>,
    storage: StorageFile,
    queue: QueuePrices,
    compute: ComputePrices,
    transfer: TransferPrices,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageFile {
    #[serde(rename = "STANDARD")]
    standard: ClassFile,
    #[serde(rename = "REDUCED_REDUNDANCY")]
    reduced_redundancy: Option<ClassFile>,
    #[serde(rename = "STANDARD_IA")]
    standard_ia: Option<ClassFile>,
    #[serde(rename = "ONEZONE_IA")]
    onezone_ia: Option<ClassFile>,
    #[serde(rename = "INTELLIGENT_TIERING")]
    intelligent_tiering: Option<ClassFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    per_gb_month: Usd,
    put_per_1000: Usd,
    get_per_1000: Usd,
    annual_loss_rate: Option<Rate>,
    min_object_size: Option<Size>,
    min_storage_days: Option<u32>,
    retrieval_per_gb: Option<Usd>,
    monitoring_per_1000_objects: Option<Usd>,
    monitoring_min_object_size: Option<Size>,
    source: String,
}

pub(super) fn check(raw: SheetFile, file: &str) -> Result<Sheet, CostError> {
    let bad = |key: &str, message: &str| CostError::Sheet {
        file: file.to_owned(),
        key: key.to_owned(),
        message: message.to_owned(),
    };
    if raw.currency != "USD" {
        return Err(bad("currency", "only \"USD\" is supported"));
    }
    if raw.compute.vcpus == 0 {
        return Err(bad("compute.vcpus", "must be at least 1"));
    }
    for (key, source) in [
        ("queue.source", &raw.queue.source),
        ("compute.source", &raw.compute.source),
        ("transfer.source", &raw.transfer.source),
    ] {
        if source.trim().is_empty() {
            return Err(bad(key, "say where these prices come from (page and date)"));
        }
    }
    let s = raw.storage;
    let listed = [
        (StorageClass::Standard, Some(s.standard)),
        (StorageClass::ReducedRedundancy, s.reduced_redundancy),
        (StorageClass::StandardIa, s.standard_ia),
        (StorageClass::OnezoneIa, s.onezone_ia),
        (StorageClass::IntelligentTiering, s.intelligent_tiering),
    ];
    let mut classes = Vec::new();
    for (class, prices) in listed {
        let Some(p) = prices else { continue };
        let key = |k: &str| format!("storage.{}.{k}", class.as_str());
        let onezone = class == StorageClass::OnezoneIa;
        match (p.annual_loss_rate, onezone) {
            (None, false) => {
                return Err(bad(
                    &key("annual_loss_rate"),
                    "missing: the fraction of objects lost a year (0 for 11-nines classes)",
                ))
            }
            (Some(_), true) => {
                return Err(bad(
                    &key("annual_loss_rate"),
                    "not allowed: ONEZONE_IA loses objects when an availability zone is lost, \
                     which AWS does not publish; set it with --onezone-loss-rate",
                ))
            }
            _ => {}
        }
        if p.source.trim().is_empty() {
            return Err(bad(
                &key("source"),
                "say where these prices come from (page and date)",
            ));
        }
        let zero = Usd(Decimal::ZERO);
        classes.push(ClassPrices {
            class,
            per_gb_month: p.per_gb_month.0,
            put_per_1000: p.put_per_1000.0,
            get_per_1000: p.get_per_1000.0,
            annual_loss_rate: p.annual_loss_rate.map(|r| r.0),
            min_object_size: p.min_object_size.map_or(ByteSize(0), |s| s.0),
            min_storage_days: p.min_storage_days.unwrap_or(0),
            retrieval_per_gb: p.retrieval_per_gb.unwrap_or(zero).0,
            monitoring_per_1000_objects: p.monitoring_per_1000_objects.unwrap_or(zero).0,
            monitoring_min_object_size: p.monitoring_min_object_size.map_or(ByteSize(0), |s| s.0),
            source: p.source,
        });
    }
    Ok(Sheet {
        name: raw.name,
        region: raw.region,
        as_of: raw.as_of,
        file: file.to_owned(),
        note: raw.note,
        classes,
        queue: raw.queue,
        compute: raw.compute,
        transfer: raw.transfer,
    })
}
