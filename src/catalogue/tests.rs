use std::path::PathBuf;

use super::*;

const OK: &str = r#"
description = "x"
accepts = ["image/*"]
[output]
format = "jpeg"
quality = 80
[resize]
mode = "fit"
width = 256
height = 256
"#;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

fn load(files: &[(&str, &str)]) -> Result<Catalogue, CatalogueError> {
    let d = dir_with(files);
    Catalogue::load_dirs(&[d.path().to_path_buf()], 8192)
}

#[test]
fn shipped_catalogue_loads_and_matches_built_in() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("transforms");
    let from_disk = Catalogue::load_dirs(&[dir], 8192).unwrap();
    let built_in = Catalogue::built_in(8192).unwrap();
    let names: Vec<_> = from_disk.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "icon-64-png",
            "page-preview-1024",
            "page-thumb-256",
            "poster-640",
            "poster-best-320",
            "preview-512",
            "preview-512-avif",
            "thumb-128",
            "thumb-256",
            "web-1024",
            "web-2048"
        ]
    );
    for t in from_disk.iter() {
        assert_eq!(built_in.get(&t.name).unwrap().digest, t.digest);
    }
    let t128 = from_disk.get("thumb-128").unwrap();
    assert_eq!(t128.resize.mode, ResizeMode::Fill);
    assert_eq!(t128.output.quality, Some(80));
}

#[test]
fn unknown_key_names_file_and_key() {
    let bad = OK.replace("quality = 80", "qualty = 80");
    let err = load(&[("thumb.toml", &bad)]).unwrap_err().to_string();
    assert!(err.contains("thumb.toml"), "{err}");
    assert!(err.contains("output.qualty"), "{err}");
}

#[test]
fn bad_values_are_named() {
    for (from, to, key) in [
        ("quality = 80", "quality = 0", "output.quality"),
        ("width = 256", "width = 0", "resize.width"),
        ("width = 256", "width = 100000", "resize.width"),
        ("\"image/*\"", "\"image/bmp\"", "accepts"),
        ("mode = \"fit\"", "mode = \"stretch\"", "resize"),
        ("format = \"jpeg\"", "format = \"bmp\"", "output"),
    ] {
        let bad = OK.replace(from, to);
        let err = load(&[("t.toml", &bad)]).unwrap_err().to_string();
        assert!(err.contains(key), "{to}: {err}");
    }
    let png_with_quality = OK.replace("\"jpeg\"", "\"png\"");
    let err = load(&[("t.toml", &png_with_quality)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("output.quality"), "{err}");
    let fill_without_height = OK
        .replace("\"fit\"", "\"fill\"")
        .replace("height = 256", "");
    let err = load(&[("t.toml", &fill_without_height)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("resize.height"), "{err}");
}

#[test]
fn bad_names_and_duplicates_are_errors() {
    let err = load(&[("Thumb.toml", OK)]).unwrap_err().to_string();
    assert!(err.contains("Thumb.toml") && err.contains("name"), "{err}");
    let err = load(&[("a.b.toml", OK)]).unwrap_err().to_string();
    assert!(err.contains("a.b.toml"), "{err}");
    let a = dir_with(&[("same.toml", OK)]);
    let b = dir_with(&[("same.toml", OK)]);
    let err = Catalogue::load_dirs(&[a.path().into(), b.path().into()], 8192).unwrap_err();
    assert!(matches!(err, CatalogueError::Duplicate { .. }), "{err}");
}

#[test]
fn unreadable_file_is_an_error() {
    let d = dir_with(&[("ok.toml", OK)]);
    std::fs::write(d.path().join("bin.toml"), [0xff, 0xfe, 0x00]).unwrap();
    let err = Catalogue::load_dirs(&[d.path().into()], 8192)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bin.toml"), "{err}");
}

#[test]
fn digest_is_stable_and_tracks_output_shaping_fields_only() {
    let a = Transform::parse("t", OK, 8192).unwrap();
    let b = Transform::parse(
        "t",
        &OK.replace("description = \"x\"", "description = \"y\""),
        8192,
    )
    .unwrap();
    let c = Transform::parse("t", &OK.replace("quality = 80", "quality = 81"), 8192).unwrap();
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, c.digest);
    assert_eq!(a.digest.len(), 16);
}

#[test]
fn view_lists_types_and_templates() {
    let cat = Catalogue::built_in(8192).unwrap();
    let view = view::CatalogueView::new(&cat, &crate::keys::KeyLayout::default());
    let jpeg = &view.media_types["image/jpeg"];
    assert_eq!(jpeg.transforms.len(), 7);
    assert!(view.media_types["image/gif"].animation.is_some());
    // HEIC/HEIF and AVIF sources (engine/heif): listed; an animated AVIF gives frame 1.
    assert_eq!(view.media_types["image/heic"].transforms.len(), 7);
    assert_eq!(view.media_types["image/heif"].transforms.len(), 7);
    assert!(view.media_types["image/avif"].animation.is_some());
    assert!(view.media_types["image/heic"].animation.is_none());
    let t = &view.transforms["preview-512"];
    assert_eq!(t.output_media_type, "image/webp");
    assert_eq!(t.key_template, "derived/{source_key}/preview-512.webp");
    let avif = &view.transforms["preview-512-avif"];
    assert_eq!(avif.output_media_type, "image/avif");
    assert_eq!(
        avif.key_template,
        "derived/{source_key}/preview-512-avif.avif"
    );
    assert!(jpeg.transforms.iter().any(|t| t == "preview-512-avif"));
    assert!(view.for_media_type("image/bmp").is_none());
    assert!(view.to_text().contains("thumb-256"));
}

#[test]
fn frame_and_page_rules_are_validated_and_digested_only_when_set() {
    let head = "description = \"d\"\n[output]\nformat = \"jpeg\"\n\
                [resize]\nmode = \"fit\"\nwidth = 64\n";
    let parse = |accepts: &str, extra: &str| {
        let text = format!("accepts = [{accepts}]\n{head}{extra}");
        Transform::parse("t", &text, 8192)
    };
    let err = |accepts: &str, extra: &str| parse(accepts, extra).unwrap_err().key;
    assert_eq!(
        err("\"video/*\"", "[source.video]\nat = \"soon\"\n"),
        "source.video.at"
    );
    assert_eq!(
        err("\"image/*\"", "[source.video]\nat = \"1s\"\n"),
        "source.video"
    );
    assert_eq!(
        err("\"application/pdf\"", "[source.pdf]\npage = 0\n"),
        "source.pdf.page"
    );
    assert_eq!(err("\"video/*\"", "[source.pdf]\npage = 1\n"), "source.pdf");
    assert_eq!(
        err("\"video/*\"", "[source.video]\nframe = 1\n"),
        "source.video.frame"
    );
    let best = parse("\"video/*\"", "[source.video]\nat = \"best\"\n").unwrap();
    let plain = parse("\"video/*\"", "").unwrap();
    let image = parse("\"image/*\"", "").unwrap();
    assert_ne!(best.digest, plain.digest);
    assert_eq!(
        plain.digest, image.digest,
        "no rule set: the digest an image transform has"
    );
    let m = crate::media::MediaType::Mp4;
    assert_eq!(best.rule(m).map(|r| r.key()), Some("at=best".to_string()));
    assert_eq!(plain.rule(m).map(|r| r.key()), Some("at=1s".to_string()));
    assert_eq!(image.rule(crate::media::MediaType::Jpeg), None);
}

#[test]
fn avif_quality_and_speed_are_validated_naming_the_key() {
    use crate::media::OutputFormat;
    let avif = OK.replace("\"jpeg\"", "\"avif\"");
    let t = Transform::parse("t", &avif, 8192).unwrap();
    assert_eq!(t.output.format, OutputFormat::Avif);
    assert_eq!((t.output.quality, t.output.speed), (Some(80), Some(5)));
    let no_quality = avif.replace("quality = 80", "");
    let t = Transform::parse("t", &no_quality, 8192).unwrap();
    assert_eq!(t.output.quality, Some(50), "sharp's default AVIF quality");
    let fast = avif.replace("quality = 80", "quality = 80\nspeed = 9");
    let t9 = Transform::parse("t", &fast, 8192).unwrap();
    assert_eq!(t9.output.speed, Some(9));
    assert_ne!(t9.digest, t.digest, "speed is part of the digest");
    for (text, key) in [
        (
            avif.replace("quality = 80", "quality = 101"),
            "output.quality",
        ),
        (
            avif.replace("quality = 80", "quality = 0"),
            "output.quality",
        ),
        (avif.replace("quality = 80", "speed = 10"), "output.speed"),
        (avif.replace("quality = 80", "speed = -1"), "output.speed"),
        (
            avif.replace("quality = 80", "speed = \"fast\""),
            "output.speed",
        ),
        (OK.replace("quality = 80", "speed = 5"), "output.speed"),
    ] {
        let err = Transform::parse("t", &text, 8192).unwrap_err();
        assert_eq!(err.key, key, "{text}: {err}");
    }
    // A JPEG transform's digest does not change because `speed` exists.
    let jpeg = Transform::parse("t", OK, 8192).unwrap();
    assert!(!serde_json::to_string(&jpeg.output)
        .unwrap()
        .contains("speed"));
}
