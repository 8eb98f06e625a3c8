//! The metadata policies through the real encoders, every output read back by exiftool (an
//! independent parser): `metadata = "strip" | "copyright" | "keep"`, `keep_gps`, and
//! `icc = "convert" | "keep"`.
//!
//! Fixtures (`tests/fixtures/metadata/README.md`): `camera.jpg` has EXIF (Orientation 6,
//! GPS, a thumbnail), XMP (rights, credit, city, GPS, tiff:Orientation 6), IPTC and an
//! sRGB profile; `display_p3.{png,webp,tiff}` carry EXIF, XMP, GPS and a Display P3
//! profile in each container's own way; `adobergb.jpg` an Adobe RGB profile;
//! `grey_icc.jpg` a grey profile.

mod common;

use std::sync::Arc;

use common::exiftool::{keys_where, tags, text};
use common::images::{decode, mean_abs_diff};
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError, Rendition};
use serde_json::{Map, Value};

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/metadata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn transform(name: &str, format: &str, size: u32, keys: &str) -> Arc<Transform> {
    let toml = format!(
        "description = \"t\"\naccepts = [\"image/*\"]\n{keys}\n[output]\nformat = \"{format}\"\n\
         [resize]\nmode = \"fit\"\nwidth = {size}\nheight = {size}\n"
    );
    Arc::new(Transform::parse(name, &toml, 8192).unwrap())
}

fn render(src: &[u8], job: &[Arc<Transform>]) -> Vec<Rendition> {
    Engine::default()
        .render(src, job, Deadline::none())
        .unwrap()
}

/// One transform per output format with the same keys.
fn every_format(keys: &str) -> Vec<Arc<Transform>> {
    ["jpeg", "webp", "png", "avif"]
        .iter()
        .map(|f| transform(f, f, 256, keys))
        .collect()
}

fn gps_keys(t: &Map<String, Value>) -> Vec<String> {
    keys_where(t, |k| k.contains("GPS"))
}

const COPYRIGHT: &str = "Myleen Hollero / Wikimedia Foundation / Cc-by-sa-3.0";
const ARTIST: &str = "MYLEEN HOLLERO";

#[test]
fn copyright_keeps_the_rights_and_nothing_else() {
    let src = fixture("camera.jpg");
    for r in render(&src, &every_format("metadata = \"copyright\"")) {
        let (f, t) = (&r.transform.name, tags(&r.bytes));
        assert!(r.width < r.height, "{f}: upright (orientation 6 applied)");
        assert_eq!(
            text(&t, "IFD0:Orientation").as_deref(),
            Some("1"),
            "{f}: {t:?}"
        );
        assert_eq!(
            text(&t, "IFD0:Copyright").as_deref(),
            Some(COPYRIGHT),
            "{f}"
        );
        assert_eq!(text(&t, "IFD0:Artist").as_deref(), Some(ARTIST), "{f}");
        assert_eq!(text(&t, "XMP-dc:Rights").as_deref(), Some(COPYRIGHT), "{f}");
        assert_eq!(text(&t, "XMP-dc:Creator").as_deref(), Some(ARTIST), "{f}");
        let credit = text(&t, "XMP-photoshop:Credit");
        assert_eq!(credit.as_deref(), Some("Wikimedia Foundation"), "{f}");
        assert!(t.contains_key("XMP-xmpRights:WebStatement"), "{f}");
        if f == "jpeg" {
            assert_eq!(text(&t, "IPTC:CopyrightNotice").as_deref(), Some(COPYRIGHT));
            assert_eq!(text(&t, "IPTC:By-line").as_deref(), Some(ARTIST));
            assert_eq!(
                text(&t, "IPTC:Credit").as_deref(),
                Some("Wikimedia Foundation")
            );
            assert!(!t.contains_key("IPTC:City"));
        }
        assert_eq!(gps_keys(&t), Vec::<String>::new(), "{f}");
        let rest = keys_where(&t, |k| {
            k.starts_with("IFD1:")
                || k.starts_with("ExifIFD:")
                || k.starts_with("ICC")
                || k == "IFD0:Make"
                || k.contains("City")
                || k == "XMP-xmp:CreatorTool"
        });
        assert_eq!(rest, Vec::<String>::new(), "{f}");
    }
}

#[test]
fn keep_keeps_all_but_gps_thumbnail_and_orientation() {
    let src = fixture("camera.jpg");
    for r in render(&src, &every_format("metadata = \"keep\"")) {
        let (f, t) = (&r.transform.name, tags(&r.bytes));
        assert_eq!(text(&t, "IFD0:Orientation").as_deref(), Some("1"), "{f}");
        assert_eq!(
            text(&t, "XMP-tiff:Orientation").as_deref(),
            Some("1"),
            "{f}"
        );
        assert_eq!(text(&t, "IFD0:Make").as_deref(), Some("Canon"), "{f}");
        assert_eq!(
            text(&t, "XMP-photoshop:City").as_deref(),
            Some("Rome"),
            "{f}"
        );
        assert!(t.contains_key("XMP-xmp:CreatorTool"), "{f}");
        assert!(t.contains_key("ExifIFD:DateTimeOriginal"), "{f}: {t:?}");
        if f == "jpeg" {
            assert_eq!(text(&t, "IPTC:City").as_deref(), Some("Rome"));
        }
        assert_eq!(gps_keys(&t), Vec::<String>::new(), "{f}");
        assert_eq!(
            keys_where(&t, |k| k.starts_with("IFD1:")),
            Vec::<String>::new()
        );
        assert!(!t.contains_key("ExifIFD:ExifImageWidth"), "{f}: stale size");
        assert!(
            !t.contains_key("ICC_Profile:ProfileDescription"),
            "{f}: icc = convert"
        );
    }
    for r in render(&src, &every_format("metadata = \"keep\"\nkeep_gps = true")) {
        let (f, t) = (&r.transform.name, tags(&r.bytes));
        assert_eq!(text(&t, "GPS:GPSLatitudeRef").as_deref(), Some("N"), "{f}");
        assert!(t.contains_key("GPS:GPSLatitude"), "{f}");
        assert!(t.contains_key("XMP-exif:GPSLatitude"), "{f}");
        assert_eq!(text(&t, "IFD0:Orientation").as_deref(), Some("1"), "{f}");
    }
}

#[test]
fn strip_is_the_default_and_writes_nothing() {
    let src = fixture("camera.jpg");
    for keys in ["", "metadata = \"strip\"\nicc = \"convert\""] {
        for r in render(&src, &every_format(keys)) {
            let t = tags(&r.bytes);
            let meta = keys_where(&t, |k| {
                ["IFD", "ExifIFD", "GPS", "XMP", "IPTC", "ICC", "Photoshop"]
                    .iter()
                    .any(|g| k.starts_with(g))
            });
            assert_eq!(meta, Vec::<String>::new(), "{}", r.transform.name);
        }
    }
}

#[test]
fn png_webp_and_tiff_sources_give_their_metadata() {
    for name in ["display_p3.png", "display_p3.webp", "display_p3.tiff"] {
        let src = fixture(name);
        let job = [transform("j", "jpeg", 64, "metadata = \"keep\"")];
        let t = tags(&render(&src, &job)[0].bytes);
        assert_eq!(
            text(&t, "IFD0:Copyright").as_deref(),
            Some("(c) P3 Owner"),
            "{name}"
        );
        assert_eq!(text(&t, "IFD0:Make").as_deref(), Some("TestCam"), "{name}");
        assert_eq!(
            text(&t, "XMP-dc:Rights").as_deref(),
            Some("(c) P3 Owner"),
            "{name}"
        );
        assert_eq!(
            text(&t, "XMP-photoshop:City").as_deref(),
            Some("Paris"),
            "{name}"
        );
        assert_eq!(gps_keys(&t), Vec::<String>::new(), "{name}");
        if name.ends_with("tiff") {
            let notice = text(&t, "IPTC:CopyrightNotice");
            assert_eq!(notice.as_deref(), Some("(c) P3 Owner"));
        }
    }
}

fn profile(r: &Rendition) -> Option<String> {
    text(&tags(&r.bytes), "ICC_Profile:ProfileDescription")
}

#[test]
fn icc_keep_embeds_rgb_profiles_and_leaves_the_pixels_in_them() {
    let cases = [
        ("adobergb.jpg", Some("Adobe RGB (1998)")),
        ("display_p3.png", Some("Display P3")),
        ("display_p3.webp", Some("Display P3")),
        ("camera.jpg", Some("sRGB IEC61966-2.1")),
        ("grey_icc.jpg", None),
    ];
    for (name, want) in cases {
        let src = fixture(name);
        for r in render(&src, &every_format("icc = \"keep\"")) {
            assert_eq!(
                profile(&r).as_deref(),
                want,
                "{name} → {}",
                r.transform.name
            );
        }
    }
    // In one job: a converted output first, then a smaller kept one, which must not be
    // resized from the converted pixels.
    let src = fixture("adobergb.jpg");
    let job = [
        transform("big", "png", 300, ""),
        transform("small", "png", 150, "icc = \"keep\""),
    ];
    let mixed = render(&src, &job);
    let alone = render(&src, &job[1..]);
    let converted = render(&src, &[transform("c", "png", 150, "")]);
    let [m, a, c] = [&mixed[1], &alone[0], &converted[0]].map(|r| decode(&r.bytes).to_rgb8());
    let (kept, conv) = (mean_abs_diff(&m, &a), mean_abs_diff(&m, &c));
    assert!(conv > 1.0, "keep left the pixels in Adobe RGB: {conv}");
    assert!(
        kept < conv / 3.0,
        "kept output cascaded from a converted one: {kept} vs {conv}"
    );
    assert_eq!(profile(&mixed[0]), None);
}

#[test]
fn damaged_sources_still_render_under_keep() {
    let job = [transform(
        "j",
        "jpeg",
        64,
        "metadata = \"keep\"\nicc = \"keep\"",
    )];
    let engine = Engine::default();
    for name in [
        "camera.jpg",
        "display_p3.png",
        "display_p3.webp",
        "display_p3.tiff",
    ] {
        let src = fixture(name);
        // Corrupt the metadata region byte by byte: the job may fail as corrupt input,
        // never panic, and a rendition that comes back carries readable metadata.
        for at in (12..src.len().min(3000)).step_by(97) {
            let mut b = src.clone();
            b[at] ^= 0x5A;
            match engine.render(&b, &job, Deadline::none()) {
                Ok(r) => drop(tags(&r[0].bytes)),
                Err(e) => assert!(!matches!(e, EngineError::Internal(_)), "{name}@{at}: {e}"),
            }
        }
    }
}

/// The real-world files of the shared corpus (camera EXIF with maker notes, GPS and
/// thumbnails, Photoshop IPTC, Adobe XMP, wide-gamut, grey and CMYK profiles): what
/// exiftool finds in each source is what each policy's output has.
#[test]
fn corpus_sources_keep_what_the_policy_says() {
    let job = [
        transform("copy", "jpeg", 128, "metadata = \"copyright\""),
        transform("keep", "jpeg", 128, "metadata = \"keep\""),
        transform("icc", "webp", 128, "icc = \"keep\""),
    ];
    let files = ["color", "orientation", "photos"].map(common::images::corpus_dir);
    for (name, src) in files.into_iter().flatten() {
        let s = tags(&src);
        let out = render(&src, &job);
        let [c, k, i] = [0, 1, 2].map(|n| tags(&out[n].bytes));
        for (policy, t) in [("copyright", &c), ("keep", &k)] {
            assert_eq!(gps_keys(t), Vec::<String>::new(), "{name} {policy}");
            assert_eq!(
                keys_where(t, |k| k.starts_with("IFD1:")),
                Vec::<String>::new()
            );
            if let Some(o) = text(t, "IFD0:Orientation") {
                assert_eq!(o, "1", "{name} {policy}");
            }
            for key in [
                "IFD0:Copyright",
                "IFD0:Artist",
                "XMP-dc:Rights",
                "IPTC:CopyrightNotice",
            ] {
                assert_eq!(text(t, key), text(&s, key), "{name} {policy} {key}");
            }
        }
        assert_eq!(text(&k, "IFD0:Make"), text(&s, "IFD0:Make"), "{name}");
        assert_eq!(text(&c, "IFD0:Make"), None, "{name}");
        let rgb = text(&s, "ICC-header:ColorSpaceData").is_some_and(|c| c.trim() == "RGB");
        let want = text(&s, "ICC_Profile:ProfileDescription").filter(|_| rgb);
        assert_eq!(text(&i, "ICC_Profile:ProfileDescription"), want, "{name}");
    }
}
