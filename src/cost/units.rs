//! Units: sizes, rates and money, parsed and shown the way S3 bills them.
//!
//! S3 bills storage per decimal gigabyte (10^9 bytes), so `KB`, `MB`, `GB`, `TB` here are
//! decimal; `KiB`..`TiB` are accepted for people who think in powers of two. Money stays an
//! exact [`Decimal`] through the whole model and is rounded half-up (away from zero) to
//! whole cents only when shown, so a column of rounded figures never drifts from the total.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// Bytes in a billed gigabyte.
pub const GB: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// A malformed size, amount or rate, with the text that was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not {expected}: {reason}")]
pub struct UnitError {
    pub input: String,
    pub expected: &'static str,
    pub reason: String,
}

fn unit_error(input: &str, expected: &'static str, reason: impl Into<String>) -> UnitError {
    UnitError {
        input: input.to_owned(),
        expected,
        reason: reason.into(),
    }
}

/// An object size in bytes. Parses `500KB`, `1.5 MB`, `128KiB`, `42B` (unit required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ByteSize(pub u64);

const SIZE: &str = "a size (a number and one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)";

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(input: &str) -> Result<Self, UnitError> {
        let text = input.trim();
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| unit_error(input, SIZE, "missing unit, e.g. 500KB or 5MB"))?;
        let (number, unit) = (text[..split].trim(), text[split..].trim());
        let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
            "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            _ => return Err(unit_error(input, SIZE, format!("unknown unit {unit:?}"))),
        };
        let value = plain_decimal(number).map_err(|reason| unit_error(input, SIZE, reason))?;
        let bytes = value
            .checked_mul(Decimal::from(multiplier))
            .filter(|b| *b <= Decimal::from(u64::MAX))
            .ok_or_else(|| unit_error(input, SIZE, "too large"))?;
        if !bytes.fract().is_zero() {
            return Err(unit_error(input, SIZE, "not a whole number of bytes"));
        }
        Ok(ByteSize(u64::try_from(bytes).expect("checked range")))
    }
}

impl ByteSize {
    /// The size in billed (decimal) gigabytes, exactly.
    pub fn gb(self) -> Decimal {
        Decimal::from(self.0) / GB
    }
}

impl fmt::Display for ByteSize {
    /// Largest decimal unit that keeps the number at least 1, two decimals at most.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [("TB", 12), ("GB", 9), ("MB", 6), ("KB", 3)];
        for (unit, exp) in units {
            let scale = Decimal::from(10u64.pow(exp));
            if Decimal::from(self.0) >= scale {
                let v = (Decimal::from(self.0) / scale).round_dp(2).normalize();
                return write!(f, "{v} {unit}");
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// A non-negative decimal written plainly (`0.085`, `12`, not `1e3`, not `-1`).
fn plain_decimal(text: &str) -> Result<Decimal, String> {
    if text.is_empty() {
        return Err("missing number".into());
    }
    if !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err("use digits and a decimal point only (no sign, no exponent)".into());
    }
    Decimal::from_str(text).map_err(|e| e.to_string())
}

/// A non-negative amount or count (`--cpu-seconds 0.5`, a price `"0.023"`).
pub fn parse_amount(input: &str) -> Result<Decimal, UnitError> {
    plain_decimal(input.trim())
        .map_err(|reason| unit_error(input, "a non-negative decimal number", reason))
}

/// A yearly loss rate between 0 and 1: a fraction (`0.0001`) or a percentage (`0.01%`).
pub fn parse_rate(input: &str) -> Result<Decimal, UnitError> {
    const RATE: &str = "a rate between 0 and 1 (e.g. 0.0001) or a percentage (e.g. 0.01%)";
    let text = input.trim();
    let (number, percent) = match text.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (text, false),
    };
    let mut rate = plain_decimal(number).map_err(|reason| unit_error(input, RATE, reason))?;
    if percent {
        rate /= Decimal::ONE_HUNDRED;
    }
    if rate > Decimal::ONE {
        return Err(unit_error(input, RATE, "more than 100 %"));
    }
    Ok(rate)
}

/// Rounds half-up (away from zero) to whole cents. Display only.
pub fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `$1,234.56`, `-$0.30`; rounded half-up to the cent.
pub fn usd(amount: Decimal) -> String {
    let rounded = cents(amount);
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}${}", grouped(rounded.abs(), 2))
}

/// Thousands-separated with exactly `dp` decimals (half-up): `grouped(4.1666, 2)` = `4.17`.
pub fn grouped(value: Decimal, dp: u32) -> String {
    let rounded = value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.*}", dp as usize, rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if rounded.is_sign_negative() && !rounded.is_zero() {
        out.insert(0, '-');
    }
    out
}

/// A yearly rate as a percentage with up to four decimals: `0.0001` → `0.01 %`.
pub fn percent(rate: Decimal) -> String {
    let p = (rate * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    format!("{p} %")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn sizes_are_decimal_and_binary_on_request() {
        assert_eq!("500KB".parse(), Ok(ByteSize(500_000)));
        assert_eq!("5 MB".parse(), Ok(ByteSize(5_000_000)));
        assert_eq!("1.5gb".parse(), Ok(ByteSize(1_500_000_000)));
        assert_eq!("2TB".parse(), Ok(ByteSize(2_000_000_000_000)));
        assert_eq!("128KiB".parse(), Ok(ByteSize(131_072)));
        assert_eq!("42B".parse(), Ok(ByteSize(42)));
        assert_eq!(ByteSize(250_000_000_000).gb(), dec("250"));
    }

    #[test]
    fn garbage_sizes_are_rejected_with_the_reason() {
        for (bad, why) in [
            ("500", "missing unit"),
            ("5XB", "unknown unit \"XB\""),
            ("-5MB", "no sign"),
            ("MB", "missing number"),
            ("0.5B", "not a whole number of bytes"),
            ("1e3KB", "unknown unit"),
            ("99999999999TB", "too large"),
        ] {
            let err = bad.parse::<ByteSize>().unwrap_err();
            assert!(err.to_string().contains(why), "{bad}: {err}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn sizes_display_in_the_largest_unit() {
        assert_eq!(ByteSize(500_000).to_string(), "500 KB");
        assert_eq!(ByteSize(69_566).to_string(), "69.57 KB");
        assert_eq!(ByteSize(999).to_string(), "999 B");
        assert_eq!(ByteSize(5_000_000).to_string(), "5 MB");
    }

    #[test]
    fn rates_take_fractions_or_percentages() {
        assert_eq!(parse_rate("0.0001"), Ok(dec("0.0001")));
        assert_eq!(parse_rate("0.01%"), Ok(dec("0.0001")));
        assert!(parse_rate("150%").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert!(parse_amount("abc")
            .unwrap_err()
            .to_string()
            .contains("\"abc\""));
    }

    #[test]
    fn money_rounds_half_up_to_cents_only_for_display() {
        assert_eq!(usd(dec("12.370255")), "$12.37");
        assert_eq!(usd(dec("0.125")), "$0.13");
        assert_eq!(usd(dec("0.124999")), "$0.12");
        assert_eq!(usd(dec("-0.125")), "-$0.13");
        assert_eq!(usd(dec("-0.004")), "$0.00");
        assert_eq!(usd(dec("1234567.891")), "$1,234,567.89");
        assert_eq!(grouped(dec("4.16666"), 2), "4.17");
        assert_eq!(grouped(dec("129600"), 0), "129,600");
        assert_eq!(percent(dec("0.0001")), "0.01 %");
    }
}
