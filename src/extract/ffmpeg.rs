//! Video frames through ffmpeg and ffprobe, run in the [`Sandbox`].
//!
//! Every run names the demuxer from the sniffed type (`-f mov` / `-f matroska`) and allows
//! only those two container formats (`-format_whitelist`), so HLS, concat and the other
//! demuxers that open further URLs can never run, and only the configured protocols
//! (`file` by default: derivd hands the tool a local copy). One thread per run: the
//! worker's own concurrency is the parallelism.
//!
//! ffmpeg turns the frame upright itself (display matrix: autorotate is on), and the
//! filter chain derivd adds makes square pixels (sample aspect ratio), shrinks to the size
//! that covers the largest output, tone-maps HDR (PQ/HLG) to SDR BT.709, and converts
//! YCbCr to full-range RGB with the matrix the stream declares (BT.709 when it declares
//! none and is HD, BT.601 below).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::sandbox::{locate, Sandbox};
use super::VideoFacts;
use super::{
    best, ffprobe, mp4, ppm, y4m, At, ExtractError, Extractor, Facts, Request, Rule, Still,
};
use crate::media::MediaType;

/// The container formats any run may open.
const FORMAT_WHITELIST: &str = "mov,matroska";

#[derive(Debug, Clone)]
pub struct Ffmpeg {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub sandbox: Sandbox,
    /// `-protocol_whitelist` (e.g. `file`, or `file,http,https,tcp,tls` for presigned URLs).
    pub protocols: String,
    pub max_seconds: f64,
    pub max_pixels: u64,
}

impl Ffmpeg {
    fn demuxer(media: MediaType) -> Result<&'static str, ExtractError> {
        match media {
            MediaType::Mp4 | MediaType::QuickTime => Ok("mov"),
            MediaType::WebM | MediaType::Matroska => Ok("matroska"),
            other => Err(ExtractError::Internal(format!(
                "ffmpeg asked for {other:?}"
            ))),
        }
    }

    /// The options that open `file` safely, for both tools.
    fn input(&self, media: MediaType) -> Result<Vec<OsString>, ExtractError> {
        let demuxer = Self::demuxer(media)?;
        Ok(os(&[
            "-f",
            demuxer,
            "-format_whitelist",
            FORMAT_WHITELIST,
            "-protocol_whitelist",
            &self.protocols,
        ]))
    }

    /// `ffmpeg` decoding from `seek` (seconds) with `vf`, writing `out` args to stdout.
    pub(super) fn run_ffmpeg(
        &self,
        file: &Path,
        media: MediaType,
        seek: Option<f64>,
        vf: &str,
        out: &[&str],
        deadline: Instant,
    ) -> Result<Vec<u8>, ExtractError> {
        let mut args = os(&["-nostdin", "-hide_banner", "-loglevel", "error"]);
        args.extend(os(&["-threads", "1", "-filter_threads", "1"]));
        args.extend(self.input(media)?);
        if let Some(t) = seek {
            args.extend(os(&["-ss", &format!("{t:.3}")]));
        }
        args.extend([OsString::from("-i"), file.as_os_str().to_owned()]);
        args.extend(os(&["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", vf]));
        args.extend(os(out));
        args.extend(os(&["-threads", "1", "pipe:1"]));
        let out = self.sandbox.run(&self.ffmpeg, &args, deadline);
        out.map(|o| o.stdout).map_err(|f| f.into_error("ffmpeg"))
    }

    /// The facts as ffprobe reads them (what the box reader is held to in tests).
    pub fn ffprobe(
        &self,
        file: &Path,
        media: MediaType,
        deadline: Instant,
    ) -> Result<VideoFacts, ExtractError> {
        let mut args = os(&["-v", "error", "-hide_banner"]);
        args.extend(self.input(media)?);
        args.extend(os(&[
            "-show_streams",
            "-show_format",
            "-print_format",
            "json",
        ]));
        args.push(file.as_os_str().to_owned());
        let out = self
            .sandbox
            .run(&self.ffprobe, &args, deadline)
            .map_err(|f| match f.into_error("ffprobe") {
                // libavutil refuses frame sizes past ~16k² outright: a header claiming one.
                ExtractError::Corrupt(m) if m.contains("Picture size") => {
                    ExtractError::LimitExceeded(format!("frame size: {m}"))
                }
                e => e,
            })?;
        ffprobe::parse(&out.stdout)
    }

    /// One frame at `t` seconds as RGB; empty when no frame decodes from there. An 8-bit
    /// 4:2:0 SDR stream leaves ffmpeg as YCbCr and is converted here ([`y4m`]); anything
    /// else goes through ffmpeg's own conversion ([`filter_chain`]).
    fn frame_at(
        &self,
        file: &Path,
        req: &Request<'_>,
        v: &VideoFacts,
        t: f64,
    ) -> Result<Option<(u32, u32, Vec<u8>)>, ExtractError> {
        if let Some(vf) = yuv_chain(v, req.scale) {
            let out = ["-frames:v", "1", "-f", "yuv4mpegpipe"];
            let bytes = self.run_ffmpeg(file, req.media, Some(t), &vf, &out, req.deadline)?;
            match y4m::to_rgb(&bytes, y4m_matrix(v))? {
                y4m::Output::Rgb(w, h, rgb) => return Ok(Some((w, h, rgb))),
                y4m::Output::NoFrame => return Ok(None),
                y4m::Output::OtherLayout => {}
            }
        }
        let vf = filter_chain(v, req.scale);
        let out = ["-frames:v", "1", "-c:v", "ppm", "-f", "image2pipe"];
        let bytes = self.run_ffmpeg(file, req.media, Some(t), &vf, &out, req.deadline)?;
        if bytes.is_empty() {
            return Ok(None);
        }
        ppm::parse(bytes).map(Some)
    }
}

/// The matrix ffmpeg converts with: what the stream declares, else BT.709 for HD and
/// BT.601 below (what players assume); BT.709 after tone mapping.
fn matrix(v: &VideoFacts) -> &'static str {
    if v.is_hdr() {
        return "bt709";
    }
    match v.color_space.as_str() {
        "bt709" => "bt709",
        "bt470bg" | "smpte170m" | "bt601" => "bt601",
        "bt2020nc" | "bt2020c" => "bt2020",
        _ if v.height >= 720 => "bt709",
        _ => "bt601",
    }
}

fn y4m_matrix(v: &VideoFacts) -> y4m::Matrix {
    match matrix(v) {
        "bt601" => y4m::Matrix::Bt601,
        "bt2020" => y4m::Matrix::Bt2020,
        _ => y4m::Matrix::Bt709,
    }
}

/// The filters for the YCbCr route, `None` when the stream needs ffmpeg's conversion
/// (HDR tone mapping, more than 8 bits, other chroma layouts). Scaling, when the
/// largest output is smaller or the pixels are not square, stays in ffmpeg.
fn yuv_chain(v: &VideoFacts, scale: f64) -> Option<String> {
    if v.is_hdr() || !matches!(v.pixel_format.as_str(), "yuv420p" | "yuvj420p") {
        return None;
    }
    let s = scale.min(1.0);
    if s >= 1.0 && (v.sample_aspect - 1.0).abs() < 1e-6 {
        return Some("null".into());
    }
    Some(format!(
        "scale=w='max(1,round(iw*sar*{s}))':h='max(1,round(ih*{s}))':flags=bicubic,setsar=1"
    ))
}

/// The timestamp a fixed position means for this clip: a clip shorter than the position
/// gives its last frames (two frame durations before the end, to land on a decodable one).
pub fn position(at: At, v: &VideoFacts) -> f64 {
    let d = v.duration_seconds;
    let t = match at {
        At::Seconds(s) => s,
        At::Percent(p) => d * p / 100.0,
        At::Best => 0.0,
    };
    let frame = if v.frames_per_second > 0.0 {
        1.0 / v.frames_per_second
    } else {
        0.04
    };
    if d > 0.0 && t > d - frame {
        (d - 2.0 * frame).max(0.0)
    } else {
        t
    }
}

/// Square pixels, the covering size, SDR, full-range RGB.
fn filter_chain(v: &VideoFacts, scale: f64) -> String {
    let s = scale.min(1.0);
    let mut chain = Vec::new();
    if v.is_hdr() {
        // Linear light, BT.709 primaries, Hable curve, back to BT.709 video: the chain
        // ffmpeg's documentation gives for HDR → SDR.
        chain.push(
            "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
             tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
                .to_string(),
        );
    }
    let matrix = matrix(v);
    let range = if v.color_range == "pc" && !v.is_hdr() {
        "pc"
    } else {
        "tv"
    };
    chain.push(format!(
        "scale=w='max(1,round(iw*sar*{s}))':h='max(1,round(ih*{s}))':\
         in_color_matrix={matrix}:in_range={range}:out_range=pc:\
         flags=bicubic+accurate_rnd+full_chroma_int"
    ));
    chain.push("setsar=1,format=rgb24".into());
    chain.join(",")
}

impl Extractor for Ffmpeg {
    fn name(&self) -> &'static str {
        "ffmpeg"
    }

    fn handles(&self, media: MediaType) -> bool {
        Self::demuxer(media).is_ok()
    }

    fn check(&self) -> Result<(), ExtractError> {
        for tool in [&self.ffmpeg, &self.ffprobe] {
            if locate(tool).is_none() {
                return Err(ExtractError::ToolMissing {
                    tool: tool.display().to_string(),
                    message: "not found: install Debian's `ffmpeg` package \
                              (scripts/setup-system.sh runtime) or set media.video = false"
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// Facts from the MP4 / QuickTime boxes when they state them all, else from ffprobe.
    fn probe(
        &self,
        file: &Path,
        media: MediaType,
        deadline: Instant,
    ) -> Result<Facts, ExtractError> {
        let boxed = matches!(media, MediaType::Mp4 | MediaType::QuickTime);
        let facts = match boxed.then(|| mp4::probe(file)).flatten() {
            Some(facts) => facts,
            None => self.ffprobe(file, media, deadline)?,
        };
        ffprobe::check(&facts, self.max_seconds, self.max_pixels)?;
        Ok(Facts::Video(facts))
    }

    fn extract(&self, file: &Path, req: &Request<'_>) -> Result<Still, ExtractError> {
        let (Facts::Video(v), Rule::Video(at)) = (req.facts, req.rule) else {
            return Err(ExtractError::Internal(
                "ffmpeg given a non-video rule".into(),
            ));
        };
        let t = match at {
            At::Best => best::pick(self, file, req.media, v, req.deadline)?,
            fixed => position(fixed, v),
        };
        // A truncated clip may have no frame at `t`: its first decodable one then serves.
        let (t, frame) = match self.frame_at(file, req, v, t)? {
            Some(f) => (t, f),
            None => match self.frame_at(file, req, v, 0.0)? {
                Some(f) => (0.0, f),
                None => return Err(ExtractError::Corrupt("no video frame decodes".into())),
            },
        };
        let (width, height, rgb) = frame;
        Ok(Still {
            width,
            height,
            rgb,
            at_seconds: Some((t * 1000.0).round() / 1000.0),
            page: None,
        })
    }
}

pub(super) fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(height: u32, space: &str, transfer: &str, duration: f64) -> VideoFacts {
        VideoFacts {
            duration_seconds: duration,
            width: height * 16 / 9,
            height,
            display_width: height * 16 / 9,
            display_height: height,
            codec: "h264".into(),
            frames_per_second: 25.0,
            rotation: 0,
            pixel_format: "yuv420p".into(),
            transfer: transfer.into(),
            color_space: space.into(),
            color_range: "tv".into(),
            sample_aspect: 1.0,
        }
    }

    #[test]
    fn the_filter_chain_follows_the_stream_colour() {
        let hd = filter_chain(&facts(1080, "", "", 5.0), 0.5);
        assert!(
            hd.contains("in_color_matrix=bt709") && hd.contains("*0.5"),
            "{hd}"
        );
        let sd = filter_chain(&facts(480, "", "", 5.0), 1.0);
        assert!(sd.contains("in_color_matrix=bt601"), "{sd}");
        let hlg = filter_chain(&facts(720, "bt2020nc", "arib-std-b67", 5.0), 1.0);
        assert!(
            hlg.starts_with("zscale=t=linear") && hlg.contains("tonemap"),
            "{hlg}"
        );
        assert!(filter_chain(&facts(720, "bt709", "bt709", 5.0), 1.0).ends_with("rgb24"));
    }

    #[test]
    fn a_position_past_the_end_takes_the_last_frames() {
        let v = facts(720, "", "", 0.5);
        assert_eq!(position(At::Seconds(0.2), &v), 0.2);
        assert!((position(At::Seconds(1.0), &v) - 0.42).abs() < 1e-9);
        assert_eq!(position(At::Percent(50.0), &v), 0.25);
        assert_eq!(position(At::Seconds(3.0), &facts(720, "", "", 0.0)), 3.0);
    }
}
