//! EXIF orientation: read it (tolerating broken EXIF) and turn pixels upright.

use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer};

use super::bitmap::Bitmap;

/// Orientation tag (1..=8) from a raw EXIF block (with or without the `Exif\0\0` header).
/// A missing or corrupt block means "as stored" (1): broken EXIF must never fail a job.
pub fn from_exif(exif: &[u8]) -> u8 {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let Ok(parsed) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        return 1;
    };
    parsed
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|v| (1..=8).contains(v))
        .map_or(1, |v| v as u8)
}

/// True when the orientation swaps width and height (the 90° family).
pub fn swaps_axes(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

/// Returns the bitmap turned upright.
pub fn apply(bitmap: Bitmap, orientation: u8) -> Bitmap {
    if orientation <= 1 || orientation > 8 {
        return bitmap;
    }
    let Some(o) = Orientation::from_exif(orientation) else {
        return bitmap;
    };
    let (w, h) = (bitmap.width, bitmap.height);
    let mut img = if bitmap.channels == 4 {
        DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, bitmap.data).expect("rgba size"))
    } else {
        DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, bitmap.data).expect("rgb size"))
    };
    img.apply_orientation(o);
    let (width, height) = (img.width(), img.height());
    let (channels, data) = match img {
        DynamicImage::ImageRgba8(b) => (4, b.into_raw()),
        other => (3, other.into_rgb8().into_raw()),
    };
    Bitmap {
        width,
        height,
        channels,
        data,
    }
}
