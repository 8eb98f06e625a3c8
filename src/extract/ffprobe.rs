//! Reading `ffprobe -print_format json` into [`VideoFacts`], and the limits checked on them.

use serde::Deserialize;

use super::{ExtractError, VideoFacts};

#[derive(Debug, Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    format: Option<Format>,
}

#[derive(Debug, Deserialize)]
struct Format {
    duration: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Stream {
    codec_type: String,
    codec_name: String,
    width: u32,
    height: u32,
    pix_fmt: String,
    sample_aspect_ratio: Option<String>,
    avg_frame_rate: String,
    r_frame_rate: String,
    duration: Option<String>,
    color_transfer: String,
    color_space: String,
    color_range: String,
    disposition: Disposition,
    side_data_list: Vec<SideData>,
    tags: Tags,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Disposition {
    attached_pic: u8,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SideData {
    rotation: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Tags {
    rotate: Option<String>,
}

/// The facts of the first real video stream (cover art does not count).
pub fn parse(json: &[u8]) -> Result<VideoFacts, ExtractError> {
    let probe: Probe = serde_json::from_slice(json)
        .map_err(|e| ExtractError::Internal(format!("ffprobe output: {e}")))?;
    let s = probe
        .streams
        .into_iter()
        .find(|s| s.codec_type == "video" && s.disposition.attached_pic == 0)
        .ok_or_else(|| ExtractError::NoVideo("the file has no video stream".into()))?;
    if s.width == 0 || s.height == 0 {
        return Err(ExtractError::Corrupt(
            "video stream without a frame size".into(),
        ));
    }
    let duration = s
        .duration
        .as_deref()
        .or(probe.format.as_ref().and_then(|f| f.duration.as_deref()))
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d >= 0.0)
        .unwrap_or(0.0);
    let rotation = rotation(&s);
    let sar = s
        .sample_aspect_ratio
        .as_deref()
        .and_then(ratio)
        .filter(|r| *r > 0.0 && (0.1..=10.0).contains(r))
        .unwrap_or(1.0);
    let shown_w = ((s.width as f64 * sar).round() as u32).max(1);
    let (display_width, display_height) = if rotation % 180 == 90 {
        (s.height, shown_w)
    } else {
        (shown_w, s.height)
    };
    let fps = ratio(&s.avg_frame_rate)
        .or_else(|| ratio(&s.r_frame_rate))
        .unwrap_or(0.0);
    Ok(VideoFacts {
        duration_seconds: duration,
        width: s.width,
        height: s.height,
        display_width,
        display_height,
        codec: s.codec_name,
        frames_per_second: (fps * 1000.0).round() / 1000.0,
        rotation,
        pixel_format: s.pix_fmt,
        transfer: s.color_transfer,
        color_space: s.color_space,
        color_range: s.color_range,
        sample_aspect: sar,
    })
}

/// Clockwise display rotation: ffprobe's display-matrix `rotation` is counter-clockwise.
fn rotation(s: &Stream) -> u32 {
    let ccw = s
        .side_data_list
        .iter()
        .find_map(|d| d.rotation)
        .map(|r| -r)
        .or_else(|| s.tags.rotate.as_deref().and_then(|r| r.parse().ok()))
        .unwrap_or(0.0);
    let quarter = (ccw / 90.0).round() as i64;
    (quarter.rem_euclid(4) * 90) as u32
}

/// `"30000/1001"` → 29.97; `"0/0"` → None.
fn ratio(s: &str) -> Option<f64> {
    let (n, d) = s.split_once([':', '/'])?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (d != 0.0 && n > 0.0).then_some(n / d)
}

/// The limits a video is held to before any frame is decoded.
pub fn check(f: &VideoFacts, max_seconds: f64, max_pixels: u64) -> Result<(), ExtractError> {
    let pixels = f.width as u64 * f.height as u64;
    if pixels > max_pixels {
        return Err(ExtractError::LimitExceeded(format!(
            "frame {}×{} is over the {max_pixels} pixel limit",
            f.width, f.height
        )));
    }
    if f.duration_seconds > max_seconds {
        return Err(ExtractError::LimitExceeded(format!(
            "video is {:.1} s long, over limits.max_video_seconds = {max_seconds}",
            f.duration_seconds
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_sar_and_cover_art_are_read() {
        let json = br#"{"streams": [
            {"codec_type": "video", "codec_name": "mjpeg", "width": 10, "height": 10,
             "disposition": {"attached_pic": 1}},
            {"codec_type": "video", "codec_name": "h264", "width": 720, "height": 576,
             "sample_aspect_ratio": "16:15", "avg_frame_rate": "25/1", "pix_fmt": "yuv420p",
             "side_data_list": [{"rotation": -90}]}],
            "format": {"duration": "2.5"}}"#;
        let f = parse(json).unwrap();
        assert_eq!((f.codec.as_str(), f.rotation), ("h264", 90));
        assert_eq!((f.display_width, f.display_height), (576, 768));
        assert_eq!((f.duration_seconds, f.frames_per_second), (2.5, 25.0));
        let audio = br#"{"streams": [{"codec_type": "audio"}]}"#;
        assert!(matches!(parse(audio), Err(ExtractError::NoVideo(_))));
        assert!(check(&f, 1.0, 1 << 30).is_err());
        assert!(check(&f, 10.0, 1000).is_err());
        assert!(check(&f, 10.0, 1 << 30).is_ok());
    }
}
