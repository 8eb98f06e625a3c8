//! The two places derivd does itself what ffmpeg's tools would do, each held to the tool:
//!
//! - the MP4 / QuickTime box reader (`extract::mp4`) against ffprobe: on every clip it
//!   answers for, its facts must be ffprobe's; and it must answer for the clips it is there
//!   for (H.264 and HEVC of every chroma format, range and colour; AV1 with an `nclx` box),
//!   or the poster job quietly pays for an ffprobe run again;
//! - the YCbCr → RGB conversion of 8-bit 4:2:0 frames (`extract::y4m`) against ffmpeg's own
//!   accurate conversion with the same matrix and range.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::clips::{ffmpeg, fixture};
use derivd::config::Config;
use derivd::extract::ffmpeg::Ffmpeg;
use derivd::extract::sandbox::Sandbox;
use derivd::extract::{mp4, At, Facts, Request, Rule, VideoFacts};
use derivd::media::MediaType;

fn tools() -> Ffmpeg {
    Ffmpeg {
        ffmpeg: "ffmpeg".into(),
        ffprobe: "ffprobe".into(),
        sandbox: Sandbox {
            memory_bytes: 1 << 30,
            cpu_seconds: 30,
            max_output_bytes: 1 << 28,
        },
        protocols: "file".into(),
        max_seconds: 3600.0,
        max_pixels: 1 << 28,
    }
}

/// A clip from lavfi's test source with `args` as encoder options, `frames` frames at 25 fps.
fn clip(dir: &Path, name: &str, size: &str, vf: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let source = format!("testsrc2=s={size}:d=0.4:r=25");
    let mut all = vec!["-f", "lavfi", "-i", &source, "-vf", vf];
    all.extend_from_slice(args);
    ffmpeg(&all, &out);
    out
}

fn generated(dir: &Path) -> Vec<PathBuf> {
    let x264 = ["-c:v", "libx264", "-preset", "ultrafast"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        x264.iter().chain(extra).copied().collect()
    };
    let hlg: &[&str] = &[
        "-pix_fmt",
        "yuv420p10le",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        "arib-std-b67",
        "-colorspace",
        "bt2020nc",
    ];
    vec![
        clip(
            dir,
            "plain.mp4",
            "640x360",
            "null",
            &with(&["-pix_fmt", "yuv420p"]),
        ),
        clip(
            dir,
            "full.mp4",
            "320x240",
            "null",
            &with(&["-pix_fmt", "yuvj420p"]),
        ),
        clip(
            dir,
            "sar.mov",
            "720x576",
            "setsar=16/15",
            &with(&["-pix_fmt", "yuv420p"]),
        ),
        clip(
            dir,
            "bt601.mp4",
            "320x240",
            "null",
            &with(&["-colorspace", "smpte170m", "-color_trc", "smpte170m"]),
        ),
        clip(dir, "hlg10.mp4", "320x240", "null", &with(hlg)),
        clip(
            dir,
            "yuv444.mp4",
            "320x240",
            "format=yuv444p",
            &with(&["-x264-params", "cqm=jvt"]),
        ),
        clip(dir, "yuv422.mov", "320x240", "format=yuv422p", &with(&[])),
        clip(dir, "gray.mp4", "160x120", "format=gray", &with(&[])),
        clip(
            dir,
            "rot90.mp4",
            "320x180",
            "null",
            &with(&["-metadata:s:v:0", "rotate=90"]),
        ),
        clip(
            dir,
            "faststart_rot270.mov",
            "320x180",
            "null",
            &with(&["-metadata:s:v:0", "rotate=270", "-movflags", "+faststart"]),
        ),
        clip(
            dir,
            "hevc_tagged.mp4",
            "320x240",
            "null",
            &[
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error",
                "-color_primaries",
                "bt709",
                "-color_trc",
                "bt709",
                "-colorspace",
                "bt709",
                "-color_range",
                "tv",
            ],
        ),
        clip(
            dir,
            "hevc_full_sar.mov",
            "320x240",
            "setsar=4/3",
            &[
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error",
                "-pix_fmt",
                "yuvj420p",
            ],
        ),
        clip(
            dir,
            "hevc10_scaling.mp4",
            "320x240",
            "null",
            &[
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error:scaling-list=default:bframes=3",
                "-pix_fmt",
                "yuv420p10le",
            ],
        ),
    ]
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn same(file: &Path, boxed: &VideoFacts, probed: &VideoFacts) {
    let name = file.display();
    let exact = |b: &VideoFacts| {
        (
            b.width,
            b.height,
            b.display_width,
            b.display_height,
            b.rotation,
            b.codec.clone(),
            b.pixel_format.clone(),
            b.transfer.clone(),
            b.color_space.clone(),
            b.color_range.clone(),
        )
    };
    assert_eq!(exact(boxed), exact(probed), "{name}");
    assert!(
        (boxed.sample_aspect - probed.sample_aspect).abs() < 0.01,
        "{name}: {boxed:?} vs {probed:?}"
    );
    let frame = 2.0 / probed.frames_per_second.max(1.0);
    assert!(
        (boxed.duration_seconds - probed.duration_seconds).abs() <= frame.max(0.1),
        "{name}: duration {boxed:?} vs {probed:?}"
    );
    let fps = (boxed.frames_per_second - probed.frames_per_second).abs();
    assert!(
        fps <= probed.frames_per_second * 0.05,
        "{name}: {boxed:?} vs {probed:?}"
    );
}

fn media_of(file: &Path) -> MediaType {
    match file.extension().and_then(|e| e.to_str()) {
        Some("mov") => MediaType::QuickTime,
        _ => MediaType::Mp4,
    }
}

#[test]
fn the_box_reader_agrees_with_ffprobe_and_answers_for_the_common_clips() {
    let dir = tempfile::tempdir().unwrap();
    let tools = tools();
    let mut must_answer = generated(dir.path());
    must_answer.push(fixture("ax_h264_faststart_1080x720.mp4"));
    must_answer.push(fixture("jz_iphone4s_portrait_rot90.mov"));
    must_answer.push(fixture("mp_phone_rot180_truncated.mp4"));
    must_answer.push(fixture("ax_iphone14pro_hevc_hlg_0.1s.mov"));
    for file in &must_answer {
        let boxed = mp4::probe(file).unwrap_or_else(|| panic!("{}: no answer", file.display()));
        let probed = tools.ffprobe(file, media_of(file), soon()).unwrap();
        same(file, &boxed, &probed);
    }
    // AV1 without `nclx` states its range only in the sequence header: ffprobe decides.
    let av1 = dir.path().join("av1.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x64:d=0.1",
            "-c:v",
            "libaom-av1",
            "-cpu-used",
            "8",
        ],
        &av1,
    );
    assert_eq!(mp4::probe(&av1), None);
}

#[test]
fn files_the_reader_cannot_vouch_for_are_left_to_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let audio = fixture("ax_audio_only_aac.m4a");
    let moov_missing = write(
        "m.mp4",
        b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1\0\0\0\x08free",
    );
    let oversized = write(
        "o.mp4",
        b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1\xff\xff\xff\xffmoov",
    );
    let empty = write("e.mp4", b"");
    for file in [audio, moov_missing, oversized, empty] {
        assert_eq!(mp4::probe(&file), None, "{}", file.display());
    }
    // Every prefix of a real clip: an answer or none, never a panic.
    let real = std::fs::read(fixture("jz_iphone4s_portrait_rot90.mov")).unwrap();
    for cut in (0..real.len()).step_by(real.len() / 97 + 1) {
        let _ = mp4::probe(&write("cut.mov", &real[..cut]));
    }
}

/// ffmpeg's own accurate RGB of the frame at `t`, as the test asks for it.
fn ffmpeg_rgb(file: &Path, t: f64, matrix: &str, range: &str) -> Vec<u8> {
    let vf = format!(
        "scale=in_color_matrix={matrix}:in_range={range}:out_range=pc:\
         flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24"
    );
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", &t.to_string(), "-i"])
        .arg(file)
        .args(["-frames:v", "1", "-vf", &vf, "-f", "rawvideo", "pipe:1"])
        .output()
        .expect("ffmpeg must be installed");
    assert!(out.status.success());
    out.stdout
}

#[test]
fn yuv_frames_are_converted_as_ffmpeg_converts_them() {
    let dir = tempfile::tempdir().unwrap();
    let x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt"];
    let with = |fmt: &'static str, extra: &[&'static str]| -> Vec<&'static str> {
        x264.iter()
            .copied()
            .chain([fmt])
            .chain(extra.iter().copied())
            .collect()
    };
    let cases = [
        (
            clip(
                dir.path(),
                "hd.mp4",
                "1280x720",
                "null",
                &with("yuv420p", &[]),
            ),
            "bt709",
            "tv",
        ),
        (
            clip(
                dir.path(),
                "sd.mp4",
                "640x480",
                "null",
                &with("yuv420p", &[]),
            ),
            "bt601",
            "tv",
        ),
        (
            clip(
                dir.path(),
                "full.mp4",
                "320x240",
                "null",
                &with("yuvj420p", &[]),
            ),
            "bt601",
            "pc",
        ),
        (
            clip(
                dir.path(),
                "tagged.mov",
                "320x240",
                "null",
                &with("yuv420p", &["-colorspace", "bt709"]),
            ),
            "bt709",
            "tv",
        ),
    ];
    let video = derivd::backends::extractors(&Config::default())
        .video
        .unwrap();
    for (file, matrix, range) in &cases {
        let media = media_of(file);
        let facts = video.probe(file, media, soon()).unwrap();
        let Facts::Video(v) = &facts else { panic!() };
        assert!(v.pixel_format.ends_with("420p"), "{v:?}");
        let req = Request {
            media,
            facts: &facts,
            rule: Rule::Video(At::Seconds(0.2)),
            scale: 1.0,
            deadline: soon(),
        };
        let still = video.extract(file, &req).unwrap();
        let reference = ffmpeg_rgb(file, 0.2, matrix, range);
        assert_eq!(still.rgb.len(), reference.len(), "{}", file.display());
        let mut diffs: Vec<u8> = still
            .rgb
            .iter()
            .zip(&reference)
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let mean = diffs.iter().map(|d| *d as f64).sum::<f64>() / diffs.len() as f64;
        diffs.sort_unstable();
        let p99 = diffs[diffs.len() * 99 / 100];
        assert!(
            mean < 1.0 && p99 <= 16,
            "{}: mean {mean:.2}, p99 {p99}",
            file.display()
        );
    }
}
