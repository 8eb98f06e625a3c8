//! `[media]`: which non-image source types are enabled and how their tools run.

use std::path::PathBuf;

use serde::Deserialize;

use super::{invalid, ConfigError};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Video sources (MP4, MOV, WebM, Matroska) through ffmpeg/ffprobe. `serve` refuses to
    /// start when this is on and the tools are missing.
    pub video: bool,
    /// PDF sources through poppler's pdfinfo/pdftoppm; same start-up check.
    pub pdf: bool,
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub pdfinfo: PathBuf,
    pub pdftoppm: PathBuf,
    /// ffmpeg's `-protocol_whitelist`. derivd hands the tools a local copy, so `file`;
    /// a deployment that hands ffmpeg presigned URLs adds the store's scheme
    /// (`file,http,https,tcp,tls`).
    pub protocols: String,
    /// Address space (RLIMIT_AS) of one tool run, bytes; also reserved from the worker's
    /// memory budget while it runs.
    pub tool_memory_bytes: u64,
    /// CPU seconds (RLIMIT_CPU) of one tool run.
    pub tool_cpu_secs: u64,
    /// Where the local copy of a video or PDF source is written; unset: the system's
    /// temporary folder.
    pub temp_dir: Option<PathBuf>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            video: true,
            pdf: true,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            pdfinfo: "pdfinfo".into(),
            pdftoppm: "pdftoppm".into(),
            protocols: "file".into(),
            tool_memory_bytes: 1 << 30,
            tool_cpu_secs: 60,
            temp_dir: None,
        }
    }
}

impl MediaConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.tool_memory_bytes < (64 << 20) {
            return Err(invalid(
                "media.tool_memory_bytes",
                "must be at least 64 MiB (67108864): ffmpeg alone maps more",
            ));
        }
        if self.tool_cpu_secs == 0 {
            return Err(invalid("media.tool_cpu_secs", "must be at least 1"));
        }
        let allowed = ["file", "pipe", "http", "https", "tcp", "tls", "crypto"];
        if let Some(p) = self
            .protocols
            .split(',')
            .find(|p| !allowed.contains(&p.trim()))
        {
            return Err(invalid(
                "media.protocols",
                format!("{p:?} is not one of {}", allowed.join(", ")),
            ));
        }
        Ok(())
    }
}
