//! Choosing a variant from the client's `Accept` header (RFC 9110 §12.5.1).
//!
//! Each offered format gets the q-value of the most specific range that matches its media
//! type (`image/webp` over `image/*` over `*/*`); the highest q wins. Ties go to a format
//! the client named exactly, in the transform's order of preference; a format that only a
//! wildcard admits is the client saying "anything", so among those the **last** offered
//! (the transform's fallback, the most widely readable) wins. No header, or one with no
//! media range in it, means `*/*`.
//! Nothing with q > 0: `None` (406).

use crate::media::OutputFormat;

/// One `type/subtype;q=…` of an Accept header.
struct Range<'a> {
    ty: &'a str,
    subtype: &'a str,
    q: f32,
}

fn parse(header: &str) -> Vec<Range<'_>> {
    header
        .split(',')
        .filter_map(|part| {
            let mut params = part.split(';');
            let (ty, subtype) = params.next()?.trim().split_once('/')?;
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let q = if q.is_finite() {
                q.clamp(0.0, 1.0)
            } else {
                0.0
            };
            Some(Range {
                ty: ty.trim(),
                subtype: subtype.trim(),
                q,
            })
        })
        .collect()
}

/// How specifically `r` matches `mime` (2 exact, 1 `type/*`, 0 `*/*`), if it does.
fn specificity(r: &Range<'_>, mime: &str) -> Option<u8> {
    let (ty, subtype) = mime.split_once('/')?;
    match (r.ty, r.subtype) {
        ("*", "*") => Some(0),
        (t, "*") if t.eq_ignore_ascii_case(ty) => Some(1),
        (t, s) if t.eq_ignore_ascii_case(ty) && s.eq_ignore_ascii_case(subtype) => Some(2),
        _ => None,
    }
}

/// The q-value the client gives `mime` and whether it named it exactly.
fn quality(ranges: &[Range<'_>], mime: &str) -> (f32, bool) {
    ranges
        .iter()
        .filter_map(|r| specificity(r, mime).map(|s| (s, r.q)))
        .max_by_key(|(s, _)| *s)
        .map_or((0.0, false), |(s, q)| (q, s == 2))
}

/// The best of `offered` (preferred first) for a client sending `accept`.
pub fn negotiate(accept: Option<&str>, offered: &[OutputFormat]) -> Option<OutputFormat> {
    let mut ranges = parse(accept.unwrap_or_default());
    if ranges.is_empty() {
        ranges = parse("*/*"); // absent or unparseable: the client did not say
    }
    let scored: Vec<(OutputFormat, f32, bool)> = offered
        .iter()
        .map(|f| {
            let (q, exact) = quality(&ranges, f.mime());
            (*f, q, exact)
        })
        .filter(|(_, q, _)| *q > 0.0)
        .collect();
    let best = scored.iter().map(|s| s.1).fold(0.0, f32::max);
    let mut top = scored.iter().filter(|s| s.1 == best);
    let exact = top.clone().find(|s| s.2);
    exact.or_else(|| top.next_back()).map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutputFormat::{Jpeg, Png, Webp};

    const OFFER: [OutputFormat; 3] = [Webp, Png, Jpeg];

    fn pick(accept: Option<&str>) -> Option<OutputFormat> {
        negotiate(accept, &OFFER)
    }

    #[test]
    fn browsers_get_what_they_name_first() {
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        assert_eq!(pick(Some(chrome)), Some(Webp));
        let safari = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";
        assert_eq!(pick(Some(safari)), Some(Webp));
        assert_eq!(pick(Some("image/png")), Some(Png));
    }

    #[test]
    fn wildcards_and_no_header_get_the_fallback() {
        assert_eq!(pick(None), Some(Jpeg));
        assert_eq!(pick(Some("")), Some(Jpeg));
        assert_eq!(pick(Some("garbage;;;,,")), Some(Jpeg));
        assert_eq!(pick(Some("*/*")), Some(Jpeg));
        assert_eq!(pick(Some("image/*")), Some(Jpeg));
    }

    #[test]
    fn q_values_are_honoured() {
        assert_eq!(pick(Some("image/webp;q=0.5, image/jpeg")), Some(Jpeg));
        assert_eq!(pick(Some("image/webp;q=0.9, image/png;q=0.95")), Some(Png));
        assert_eq!(pick(Some("image/webp;q=0, image/*;q=0.5")), Some(Jpeg));
        // A more specific range overrides a wildcard, in either order.
        assert_eq!(pick(Some("image/jpeg;q=0, image/*")), Some(Png));
        assert_eq!(pick(Some("IMAGE/WEBP; Q=1")), Some(Webp));
    }

    #[test]
    fn nothing_acceptable_is_none() {
        assert_eq!(pick(Some("image/gif")), None);
        assert_eq!(pick(Some("text/html, application/json")), None);
        assert_eq!(pick(Some("*/*;q=0")), None);
        assert_eq!(
            pick(Some("image/webp;q=0, image/png;q=0, image/jpeg;q=0")),
            None
        );
    }
}
