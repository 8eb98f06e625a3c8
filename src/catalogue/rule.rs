//! Which frame or page of a video or PDF source a transform uses: `[source.video] at = "1s" | "10%" | "best"` and
//! `[source.pdf] page = 1` in its file, parsed once at load (parse, don't validate).

use serde::Serialize;

/// Where in a video the frame is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    /// Seconds from the start (`"1s"`, `"1.5s"`, `"250ms"`).
    Seconds(f64),
    /// Percent of the duration (`"10%"`).
    Percent(f64),
    /// A representative frame from the first seconds: not black, not near-uniform, not a
    /// fade (`ffmpeg.rs`); the timestamp chosen is recorded in the manifest.
    Best,
}

impl Default for At {
    fn default() -> Self {
        At::Seconds(1.0)
    }
}

impl At {
    pub fn parse(s: &str) -> Result<At, String> {
        let s = s.trim();
        let number = |n: &str, unit: &str| {
            n.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{s:?}: {unit} must be a number ≥ 0"))
        };
        if s == "best" {
            Ok(At::Best)
        } else if let Some(p) = s.strip_suffix('%') {
            let v = number(p, "percent")?;
            if v > 100.0 {
                return Err(format!("{s:?}: percent must be 0..=100"));
            }
            Ok(At::Percent(v))
        } else if let Some(ms) = s.strip_suffix("ms") {
            Ok(At::Seconds(number(ms, "milliseconds")? / 1000.0))
        } else if let Some(sec) = s.strip_suffix('s') {
            Ok(At::Seconds(number(sec, "seconds")?))
        } else {
            Err(format!(
                "{s:?} is not a frame position (\"1s\", \"250ms\", \"10%\" or \"best\")"
            ))
        }
    }

    /// The canonical text (`"1s"`, `"10%"`, `"best"`), the form shown and digested.
    pub fn text(&self) -> String {
        match self {
            At::Seconds(s) => format!("{s}s"),
            At::Percent(p) => format!("{p}%"),
            At::Best => "best".into(),
        }
    }
}

impl Serialize for At {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// One extraction: all outputs with an equal rule share one frame or page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    Video(At),
    /// 1-based page number.
    Page(u32),
}

impl Rule {
    /// Text that is equal exactly for equal rules (grouping, manifest).
    pub fn key(&self) -> String {
        match self {
            Rule::Video(at) => format!("at={}", at.text()),
            Rule::Page(p) => format!("page={p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_or_say_what_is_wrong() {
        assert_eq!(At::parse("1s"), Ok(At::Seconds(1.0)));
        assert_eq!(At::parse("250ms"), Ok(At::Seconds(0.25)));
        assert_eq!(At::parse("10%"), Ok(At::Percent(10.0)));
        assert_eq!(At::parse("best"), Ok(At::Best));
        for bad in ["1", "-1s", "110%", "soon", "NaNs", ""] {
            assert!(At::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Rule::Video(At::parse("1.5s").unwrap()).key(), "at=1.5s");
    }
}
