//! Correct pictures from videos and PDFs: sample aspect ratio, BT.709 and limited range to
//! sRGB, HLG HDR tone-mapped to SDR (compared with ffmpeg's own tone mapping), PDF
//! CropBox, and pages painted on white.
//! Run: `cargo test --test media_correctness` (needs ffmpeg and poppler-utils).

mod common;

use common::clips::{self, fixture, read_fixture};
use common::stills::{decode, mean_luma, poster};
use derivd::extract::Facts;

#[tokio::test]
async fn anamorphic_pixels_come_out_square() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sar.mp4");
    clips::ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=360x240:d=1:r=25",
            "-vf",
            "setsar=2/1,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
        &out,
    );
    let (facts, r, _) = poster(std::fs::read(&out).unwrap(), "poster-640").await;
    let Facts::Video(v) = facts else { panic!() };
    assert_eq!((v.width, v.height, v.sample_aspect), (360, 240, 2.0));
    assert_eq!((v.display_width, v.display_height), (720, 240));
    assert_eq!((r.width, r.height), (640, 213));
    assert_eq!(decode(&r).dimensions(), (640, 213));
}

#[tokio::test]
async fn bt709_limited_range_red_and_black_are_srgb_red_and_black() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("red709.mp4");
    clips::ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=320x240:d=1:r=25",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=320x240:d=1:r=25",
            "-filter_complex",
            "[0][1]hstack,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-color_range",
            "tv",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
        ],
        &out,
    );
    let (_, r, _) = poster(std::fs::read(&out).unwrap(), "poster-640").await;
    let img = decode(&r);
    assert_eq!(img.dimensions(), (640, 240));
    let red = img.get_pixel(100, 120);
    let black = img.get_pixel(540, 120);
    // Read with BT.601 the red would come out about (255, 0, 21) → green/blue tints;
    // read as full range, black would be 16.
    assert!(red[0] >= 245 && red[1] <= 10 && red[2] <= 10, "red {red:?}");
    assert!(black.0.iter().all(|c| *c <= 6), "black {black:?}");
}

#[tokio::test]
async fn hlg_hdr_is_tone_mapped_like_ffmpegs_own_filters() {
    let (facts, r, used) = poster(
        read_fixture("ax_iphone14pro_hevc_hlg_0.1s.mov"),
        "poster-640",
    )
    .await;
    let Facts::Video(v) = facts else { panic!() };
    assert!(v.is_hdr() && v.pixel_format.contains("10"), "{v:?}");
    let ours = mean_luma(&decode(&r));
    // ffmpeg's documented HDR → SDR chain, on the same frame, straight to grey.
    let vf = "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
              tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=pc,format=gray";
    let reference = clips::ffmpeg_mean_grey(
        &fixture("ax_iphone14pro_hevc_hlg_0.1s.mov"),
        used.at_seconds.unwrap(),
        vf,
    );
    assert!(
        (ours - reference).abs() <= 10.0,
        "poster mean luma {ours:.1}, ffmpeg's tone-mapped {reference:.1}"
    );
}

#[tokio::test]
async fn pq_hdr_is_tone_mapped_like_ffmpegs_own_filters() {
    // An HDR10 clip: colour bars turned into 10-bit BT.2020 PQ (SMPTE 2084), tagged so.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq.mp4");
    let to_pq = "zscale=tin=bt709:min=bt709:pin=bt709:rin=pc:t=smpte2084:m=bt2020nc:\
                 p=bt2020:r=tv:npl=100,format=yuv420p10le";
    let x265 = "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc";
    let tags = ["-color_primaries", "bt2020", "-color_trc", "smpte2084"];
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:d=1:r=25",
        "-vf",
        to_pq,
    ];
    args.extend([
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        x265,
    ]);
    args.extend(tags);
    args.extend(["-colorspace", "bt2020nc", "-tag:v", "hvc1"]);
    clips::ffmpeg(&args, &out);
    let (facts, r, used) = poster(std::fs::read(&out).unwrap(), "poster-640").await;
    let Facts::Video(v) = facts else { panic!() };
    assert!(v.is_hdr() && v.transfer == "smpte2084", "{v:?}");
    let ours = mean_luma(&decode(&r));
    let vf = "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
              tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=pc,format=gray";
    let reference = clips::ffmpeg_mean_grey(&out, used.at_seconds.unwrap(), vf);
    assert!(
        (ours - reference).abs() <= 10.0,
        "poster mean luma {ours:.1}, ffmpeg's tone-mapped {reference:.1}"
    );
    // PQ code values shown as if they were SDR: what an untone-mapped poster would be.
    let untouched = "scale=out_range=pc,format=gray";
    let naive = clips::ffmpeg_mean_grey(&out, used.at_seconds.unwrap(), untouched);
    assert!(
        (ours - reference).abs() < (ours - naive).abs(),
        "ours {ours:.1}: nearer {naive:.1} (read as SDR) than {reference:.1} (tone-mapped)"
    );
}

#[tokio::test]
async fn pdf_cropbox_and_white_paper() {
    // MediaBox 600×600, CropBox the left half: a 1:2 page; the blue square at (10, 10)
    // is at the bottom left, everything else is paper.
    let pdf = clips::pdf_with(1, 600.0, 600.0, "/CropBox [0 0 300 600]");
    let (facts, r, used) = poster(pdf, "page-thumb-256").await;
    let Facts::Pdf(p) = facts else { panic!() };
    assert_eq!((p.page_width_pt, p.page_height_pt), (300.0, 600.0));
    assert_eq!(used.page, Some(1));
    let img = decode(&r);
    assert_eq!(img.dimensions(), (128, 256));
    let paper = img.get_pixel(100, 20);
    assert!(paper.0.iter().all(|c| *c >= 250), "paper {paper:?}");
    let square = img.get_pixel(12, 256 - 12);
    assert!(square[2] > 200 && square[0] < 60, "square {square:?}");
}
