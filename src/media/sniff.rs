//! Detection that needs more than a magic number: SVG (text, so a bounded look at its
//! start) and the camera RAW formats that are TIFF files underneath.

use super::ifd::Tiff;
use super::MediaType;

/// How far into a file the SVG sniff looks for the `<svg` element: past an XML
/// declaration, comments and a DOCTYPE with an internal subset (Illustrator writes ~600
/// bytes of those), not further.
const SVG_WINDOW: usize = 8 << 10;

/// True for text that starts like an SVG document: `<svg` first, or after an XML
/// declaration, comments or a DOCTYPE within the first [`SVG_WINDOW`] bytes.
pub fn is_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(SVG_WINDOW)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(head) = start.map(|s| &head[s..]) else {
        return false;
    };
    if is_svg_tag(head) {
        return true;
    }
    let prolog = [&b"<?xml"[..], b"<!--", b"<!DOCTYPE"];
    if !prolog.iter().any(|p| head.starts_with(p)) {
        return false;
    }
    memchr::memmem::find_iter(head, b"<svg").any(|at| is_svg_tag(&head[at..]))
}

/// `<svg` followed by the end of the name (whitespace, `>` or `/`).
fn is_svg_tag(s: &[u8]) -> bool {
    s.starts_with(b"<svg")
        && s.get(4)
            .is_some_and(|&c| c.is_ascii_whitespace() || c == b'>' || c == b'/')
}

/// The camera RAW format of a TIFF file, from its header and IFD0 (`None`: a plain TIFF).
///
/// CR2 marks itself (`CR` and version 2 after the header); DNG carries a `DNGVersion`
/// tag. NEF, ARW and KDC are told by the camera maker in `Make`, and only when IFD0 has
/// `SubIFDs` (where those formats keep the raw image): a TIFF a scanner or editor wrote
/// with a Nikon or Kodak `Make` has none and stays a TIFF.
pub fn camera_raw(bytes: &[u8]) -> Option<MediaType> {
    let tiff = Tiff::new(bytes)?;
    if bytes.get(8..11) == Some(b"CR\x02") {
        return Some(MediaType::Cr2);
    }
    let ifd0 = tiff.ifd(tiff.first_ifd()?)?;
    if ifd0.get(0xC612).is_some() {
        return Some(MediaType::Dng);
    }
    ifd0.get(0x014A)?;
    let make = tiff.ascii(ifd0.get(0x010F)?)?.to_ascii_lowercase();
    if make.starts_with(b"nikon") {
        Some(MediaType::Nef)
    } else if make.starts_with(b"sony") {
        Some(MediaType::Arw)
    } else if memchr::memmem::find(&make, b"kodak").is_some() {
        Some(MediaType::Kdc)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_is_sniffed_from_its_start_only() {
        assert!(is_svg(b"<svg width='1'/>"));
        assert!(is_svg(
            b"\xEF\xBB\xBF\n <?xml version='1.0'?>\n<!-- x -->\n<svg>"
        ));
        assert!(is_svg(b"<!DOCTYPE svg [<!ENTITY a 'b'>]><svg\n>"));
        assert!(!is_svg(b"<svgfoo>"));
        assert!(!is_svg(b"<?xml version='1.0'?><lolz>&lol9;</lolz>"));
        assert!(!is_svg(b"hello <svg>"));
        let mut far = b"<?xml version='1.0'?><!--".to_vec();
        far.extend(std::iter::repeat_n(b' ', SVG_WINDOW));
        far.extend_from_slice(b"--><svg>");
        assert!(!is_svg(&far));
    }

    #[test]
    fn raw_needs_a_marker_not_just_tiff_magic() {
        assert_eq!(camera_raw(b"II*\0\x10\0\0\0CR\x02\0"), Some(MediaType::Cr2));
        // IFD0 with only Make = "NIKON CORPORATION" (no SubIFDs): a plain TIFF.
        let mut t = b"MM\0*\0\0\0\x08\0\x01\x01\x0f\0\x02\0\0\0\x12\0\0\0\x1a\0\0\0\0".to_vec();
        t.extend_from_slice(b"NIKON CORPORATION\0");
        assert_eq!(camera_raw(&t), None);
        assert_eq!(camera_raw(b"II*\0\xff\xff\0\0"), None);
    }
}
