//! Colour management: every output is sRGB.
//!
//! We use Little CMS 2 (the `lcms2` crate, which builds the vendored C library): it is the
//! colour engine behind libvips, Pillow's ImageCms, GIMP and most print workflows, handles
//! every profile class we meet in uploads (matrix/TRC RGB such as Adobe RGB and Display P3,
//! grey TRC, LUT-based CMYK such as SWOP), and is decades-hardened against malformed
//! profiles. Pure-Rust alternatives (qcms, moxcms) were younger or lacked CMYK LUT support.
//!
//! RGB(A) → sRGB is *deferred*: the decoder hands back the pixels in their own space plus a
//! [`ColorFix`], and the pipeline applies it to each resized image instead of to the full
//! decode (what libvips' thumbnail does too): a 12 MP Display P3 photo costs a 3 MP
//! conversion, not 12. Grey and CMYK change channel count, so they convert at decode.

use lcms2::{ColorSpaceSignature, Flags, InfoType, Intent, Locale, PixelFormat, Profile};

use super::bitmap::Bitmap;

/// Decoded pixels as the decoder produced them, before conversion to sRGB.
pub enum Pixels {
    Gray(Vec<u8>),
    Rgb(Vec<u8>),
    Rgba(Vec<u8>),
    /// Plain CMYK (0 = no ink); Adobe's inverted storage already undone by the decoder.
    Cmyk(Vec<u8>),
}

/// A decoded image and the colour conversion it still needs, if any.
pub struct Srgb {
    pub bitmap: Bitmap,
    pub fix: Option<ColorFix>,
}

/// A pending RGB(A) → sRGB conversion (the source's ICC profile is not sRGB).
pub struct ColorFix {
    profile: Profile,
    rgb: Option<lcms2::Transform<u8, u8>>,
    rgba: Option<lcms2::Transform<u8, u8>>,
}

impl ColorFix {
    /// Converts `bitmap` (3 or 4 channels) to sRGB in place.
    pub fn apply(&mut self, bitmap: &mut Bitmap) {
        let (slot, format) = if bitmap.channels == 4 {
            (&mut self.rgba, PixelFormat::RGBA_8)
        } else {
            (&mut self.rgb, PixelFormat::RGB_8)
        };
        if slot.is_none() {
            *slot = transform(&self.profile, format);
        }
        if let Some(t) = slot {
            t.transform_in_place(&mut bitmap.data);
        }
    }
}

/// Converts to 8-bit sRGB using the embedded ICC profile when there is a usable one; an
/// RGB(A) conversion is returned for the caller to apply later. An unreadable profile, or
/// one that does not fit the pixels, is ignored (treated as sRGB) rather than failing the
/// job: the pixels are still fine.
pub fn to_srgb_deferred(pixels: Pixels, width: u32, height: u32, icc: Option<&[u8]>) -> Srgb {
    let profile = icc.and_then(|b| Profile::new_icc(b).ok());
    let (channels, data, rgb_profile) = match pixels {
        Pixels::Gray(g) => (3, gray_to_rgb(&g, profile.as_ref()), None),
        Pixels::Rgb(d) => (3, d, profile),
        Pixels::Rgba(d) => (4, d, profile),
        Pixels::Cmyk(c) => (3, cmyk_to_rgb(&c, profile.as_ref()), None),
    };
    let fix = rgb_profile.and_then(fix_for);
    Srgb {
        bitmap: Bitmap {
            width,
            height,
            channels,
            data,
        },
        fix,
    }
}

/// True when pixels tagged with `icc` need converting to be sRGB (an RGB profile that is
/// not sRGB); false for an unreadable profile, which is ignored everywhere.
pub fn icc_needs_conversion(icc: &[u8]) -> bool {
    Profile::new_icc(icc).is_ok_and(|p| needs_rgb_conversion(&p))
}

/// True for a readable RGB profile: the only kind an RGB output can carry (`icc = "keep"`).
pub fn is_rgb_profile(icc: &[u8]) -> bool {
    Profile::new_icc(icc).is_ok_and(|p| p.color_space() == ColorSpaceSignature::RgbData)
}

/// The pending conversion pixels tagged with `icc` need, if any (what
/// [`to_srgb_deferred`] returns for RGB(A)); for the frames of an animation, which share
/// their source's profile.
pub fn fix_for_icc(icc: Option<&[u8]>) -> Option<ColorFix> {
    icc.and_then(|b| Profile::new_icc(b).ok()).and_then(fix_for)
}

fn fix_for(profile: Profile) -> Option<ColorFix> {
    needs_rgb_conversion(&profile).then_some(ColorFix {
        profile,
        rgb: None,
        rgba: None,
    })
}

/// An RGB profile that is not sRGB already (sRGB → sRGB is skipped: it is the common case
/// for camera photos and a no-op worth not paying for).
fn needs_rgb_conversion(p: &Profile) -> bool {
    if p.color_space() != ColorSpaceSignature::RgbData {
        return false;
    }
    let desc = p
        .info(InfoType::Description, Locale::none())
        .unwrap_or_default();
    !desc.contains("sRGB")
}

fn transform(src: &Profile, format: PixelFormat) -> Option<lcms2::Transform<u8, u8>> {
    let flags = if format == PixelFormat::RGBA_8 {
        Flags::COPY_ALPHA
    } else {
        Flags::default()
    };
    let srgb = Profile::new_srgb();
    lcms2::Transform::new_flags(src, format, &srgb, format, Intent::Perceptual, flags).ok()
}

fn gray_to_rgb(gray: &[u8], profile: Option<&Profile>) -> Vec<u8> {
    let mut out = vec![0u8; gray.len() * 3];
    if let Some(p) = profile.filter(|p| p.color_space() == ColorSpaceSignature::GrayData) {
        let srgb = Profile::new_srgb();
        if let Ok(t) = lcms2::Transform::<u8, u8>::new(
            p,
            PixelFormat::GRAY_8,
            &srgb,
            PixelFormat::RGB_8,
            Intent::Perceptual,
        ) {
            t.transform_pixels(gray, &mut out);
            return out;
        }
    }
    for (o, g) in out.chunks_exact_mut(3).zip(gray) {
        o.fill(*g);
    }
    out
}

fn cmyk_to_rgb(cmyk: &[u8], profile: Option<&Profile>) -> Vec<u8> {
    let mut out = vec![0u8; cmyk.len() / 4 * 3];
    if let Some(p) = profile.filter(|p| p.color_space() == ColorSpaceSignature::CmykData) {
        let srgb = Profile::new_srgb();
        if let Ok(t) = lcms2::Transform::<u8, u8>::new(
            p,
            PixelFormat::CMYK_8,
            &srgb,
            PixelFormat::RGB_8,
            Intent::Perceptual,
        ) {
            t.transform_pixels(cmyk, &mut out);
            return out;
        }
    }
    // No profile: the textbook conversion, as browsers and most viewers do.
    for (o, p) in out.chunks_exact_mut(3).zip(cmyk.chunks_exact(4)) {
        let k = 255 - p[3] as u32;
        for c in 0..3 {
            o[c] = ((255 - p[c] as u32) * k / 255) as u8;
        }
    }
    out
}
