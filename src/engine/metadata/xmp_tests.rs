//! The XMP filters against real-shaped packets (attribute and element properties, odd
//! prefixes) and broken ones.

use super::*;

const PACKET: &str = r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:d="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    photoshop:Credit="Agency &amp; Co"
    photoshop:City="Rome"
    xmpRights:Marked="True"
    exif:GPSLatitude="41,53.9N"
    tiff:Orientation="6">
   <d:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) Ann</rdf:li></rdf:Alt></d:rights>
   <d:creator><rdf:Seq><rdf:li>Ann</rdf:li></rdf:Seq></d:creator>
   <d:title><rdf:Alt><rdf:li xml:lang="x-default">Secret title</rdf:li></rdf:Alt></d:title>
   <exif:GPSLongitude>12,29.5E</exif:GPSLongitude>
   <xmp:Thumbnails><rdf:Alt><rdf:li>base64</rdf:li></rdf:Alt></xmp:Thumbnails>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#;

fn doc(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn rights_packet_has_the_rights_and_nothing_else() {
    let out = doc(&rights_packet(PACKET.as_bytes()).unwrap());
    let parsed = Document::parse(&out).unwrap();
    let has = |ns: &str, name: &str| {
        parsed
            .descendants()
            .any(|n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name)
    };
    assert!(has(DC, "rights") && has(DC, "creator"), "{out}");
    assert!(
        has(PHOTOSHOP, "Credit") && has(XMP_RIGHTS, "Marked"),
        "{out}"
    );
    assert!(
        out.contains("Agency &amp; Co") && out.contains("(c) Ann"),
        "{out}"
    );
    assert!(out.contains(r#"xml:lang="x-default""#), "{out}");
    for gone in ["Secret", "Rome", "GPS", "Orientation", "Thumbnails"] {
        assert!(!out.contains(gone), "{gone} in {out}");
    }
}

#[test]
fn keep_cuts_gps_and_thumbnails_and_sets_orientation_1() {
    let out = doc(&keep_filtered(PACKET.as_bytes(), false).unwrap());
    Document::parse(&out).unwrap();
    assert!(out.contains(r#"tiff:Orientation="1""#), "{out}");
    for gone in ["GPS", "Thumbnails", "base64"] {
        assert!(!out.contains(gone), "{gone} in {out}");
    }
    for kept in ["Secret title", "Rome", "(c) Ann"] {
        assert!(out.contains(kept), "{kept} missing from {out}");
    }
    let with_gps = doc(&keep_filtered(PACKET.as_bytes(), true).unwrap());
    assert!(with_gps.contains("GPSLatitude") && with_gps.contains("GPSLongitude"));
}

#[test]
fn element_orientation_is_rewritten_too() {
    let p = PACKET.replace(
        r#"tiff:Orientation="6">"#,
        ">\n<tiff:Orientation>8</tiff:Orientation>",
    );
    let out = doc(&keep_filtered(p.as_bytes(), false).unwrap());
    assert!(
        out.contains("<tiff:Orientation>1</tiff:Orientation>"),
        "{out}"
    );
}

#[test]
fn broken_or_empty_packets_give_nothing() {
    for bad in [&b"<x:xmpmeta"[..], b"\xff\xfe<", b"", b"<a><b></a>"] {
        assert_eq!(rights_packet(bad), None);
        assert_eq!(keep_filtered(bad, false), None);
    }
    let dtd = br#"<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
    assert_eq!(keep_filtered(dtd, false), None);
    let no_rights = PACKET
        .replace("photoshop:Credit", "photoshop:Source")
        .replace("xmpRights:Marked", "photoshop:State")
        .replace("d:rights", "d:subject")
        .replace("d:creator", "d:publisher");
    assert_eq!(rights_packet(no_rights.as_bytes()), None);
}
