//! The one table of ISO base media file format (`ftyp`) brands derivd knows.
//!
//! MP4, QuickTime, HEIF/HEIC, AVIF, audio-only M4A and Canon CR3 all share the ISO BMFF box
//! structure and differ only in their brands, so a single table tells them apart (and the
//! image formats issue extends this same table rather than sniffing `ftyp` again). The major
//! brand decides first; when it is generic (`isom`, `mp41`, …) the compatible brands may
//! name something more specific (an AVIF with major brand `mif1` lists `avif`).

/// What a brand says the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// MP4 video (may still turn out to hold no video stream: the probe checks).
    Mp4,
    /// Apple QuickTime movie.
    QuickTime,
    /// HEIF whose brands say HEVC (`heic`, `heix`, `hevc`…).
    Heic,
    /// HEIF with structural brands only (`mif1`, `msf1`): the codec is unnamed.
    Heif,
    Avif,
    /// Audio-only MPEG-4 (M4A / M4B / M4P): never has a picture.
    Audio,
    /// Canon CR3 camera raw.
    CameraRaw,
    /// A generic ISO brand: the compatible brands decide; on its own, plain MP4.
    Generic,
}

/// Brand → family. Brands are the four ASCII bytes of the box, spaces included.
pub const BRANDS: &[(&[u8; 4], Family)] = &[
    (b"isom", Family::Generic),
    (b"iso2", Family::Generic),
    (b"iso4", Family::Generic),
    (b"iso5", Family::Generic),
    (b"iso6", Family::Generic),
    (b"mp41", Family::Generic),
    (b"mp42", Family::Generic),
    (b"avc1", Family::Mp4),
    (b"dash", Family::Mp4),
    (b"mp71", Family::Mp4),
    (b"M4V ", Family::Mp4),
    (b"M4VH", Family::Mp4),
    (b"M4VP", Family::Mp4),
    (b"3gp4", Family::Mp4),
    (b"3gp5", Family::Mp4),
    (b"3gp6", Family::Mp4),
    (b"3g2a", Family::Mp4),
    (b"f4v ", Family::Mp4),
    (b"XAVC", Family::Mp4),
    (b"MSNV", Family::Mp4),
    (b"qt  ", Family::QuickTime),
    (b"M4A ", Family::Audio),
    (b"M4B ", Family::Audio),
    (b"M4P ", Family::Audio),
    (b"F4A ", Family::Audio),
    (b"avif", Family::Avif),
    (b"avis", Family::Avif),
    (b"heic", Family::Heic),
    (b"heix", Family::Heic),
    (b"hevc", Family::Heic),
    (b"hevx", Family::Heic),
    (b"heim", Family::Heic),
    (b"heis", Family::Heic),
    (b"mif1", Family::Heif),
    (b"msf1", Family::Heif),
    (b"crx ", Family::CameraRaw),
];

fn family(brand: &[u8]) -> Option<Family> {
    BRANDS
        .iter()
        .find(|(b, _)| b[..] == *brand)
        .map(|(_, f)| *f)
}

/// The family of an `ftyp` box's payload (`major`, minor version, compatible brands…);
/// `None` when the major brand is unknown and no compatible brand is known either.
pub fn classify(ftyp_payload: &[u8]) -> Option<Family> {
    let major = ftyp_payload.get(0..4)?;
    // Compatible brands follow the 4-byte minor version.
    let compatible: Vec<Family> = ftyp_payload
        .get(8..)
        .unwrap_or_default()
        .chunks_exact(4)
        .filter_map(family)
        .collect();
    let specific = |wanted: &[Family]| compatible.iter().copied().find(|f| wanted.contains(f));
    match family(major) {
        // A HEIF structure brand (`mif1`) whose compatible brands say AVIF is AVIF (or
        // HEVC: HEIC).
        Some(Family::Heif) => Some(specific(&[Family::Avif, Family::Heic]).unwrap_or(Family::Heif)),
        Some(Family::Generic) | None => {
            let picked = specific(&[
                Family::Avif,
                Family::Heic,
                Family::Heif,
                Family::CameraRaw,
                Family::QuickTime,
                Family::Audio,
                Family::Mp4,
            ]);
            match (family(major), picked) {
                (_, Some(f)) => Some(f),
                (Some(Family::Generic), None) => Some(Family::Mp4),
                (_, None) => None,
            }
        }
        known => known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut p = major.to_vec();
        p.extend_from_slice(&[0, 0, 2, 0]);
        compatible.iter().for_each(|c| p.extend_from_slice(&c[..]));
        p
    }

    #[test]
    fn one_table_tells_the_iso_families_apart() {
        type Case<'a> = (&'a [u8; 4], &'a [&'a [u8; 4]], Family);
        let cases: &[Case] = &[
            (b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"], Family::Mp4),
            (b"mp42", &[b"mp42", b"isom"], Family::Mp4),
            (b"qt  ", &[b"qt  "], Family::QuickTime),
            (b"M4A ", &[b"M4A ", b"mp42", b"isom"], Family::Audio),
            (b"heic", &[b"mif1", b"heic"], Family::Heic),
            (b"mif1", &[b"mif1", b"heic"], Family::Heic),
            (b"mif1", &[b"mif1", b"miaf"], Family::Heif),
            (b"avis", &[b"avis", b"msf1", b"miaf"], Family::Avif),
            (b"mif1", &[b"mif1", b"avif", b"miaf"], Family::Avif),
            (b"avif", &[b"mif1"], Family::Avif),
            (b"crx ", &[b"crx ", b"isom"], Family::CameraRaw),
            (b"isom", &[b"M4A "], Family::Audio),
        ];
        for (major, compatible, want) in cases {
            assert_eq!(
                classify(&payload(major, compatible)),
                Some(*want),
                "{major:?}"
            );
        }
        assert_eq!(classify(&payload(b"zzzz", &[b"yyyy"])), None);
        assert_eq!(classify(b"is"), None);
    }
}
