//! XMP: a new minimal packet with only the rights (`metadata = "copyright"`), or the
//! source's packet with what would contradict the output cut out (`metadata = "keep"`).
//!
//! The packet is parsed with roxmltree (namespaces resolved, so `dc:` spelled `ns1:` is
//! still Dublin Core). `keep` edits the original text by byte range, so everything not
//! touched stays byte-identical; the edited packet must parse again or it is dropped. A
//! packet that does not parse is dropped too: never a failed job.

use std::fmt::Write as _;
use std::ops::Range;

use roxmltree::{Document, Node, NodeType, ParsingOptions};

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
const XMP_RIGHTS: &str = "http://ns.adobe.com/xap/1.0/rights/";
const XMP: &str = "http://ns.adobe.com/xap/1.0/";
const XMP_NOTE: &str = "http://ns.adobe.com/xmp/note/";
const EXIF: &str = "http://ns.adobe.com/exif/1.0/";
const TIFF: &str = "http://ns.adobe.com/tiff/1.0/";
const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Prefixes the new packet declares, by namespace.
const PREFIXES: &[(&str, &str)] = &[
    (RDF, "rdf"),
    (DC, "dc"),
    (PHOTOSHOP, "photoshop"),
    (XMP_RIGHTS, "xmpRights"),
    (XML, "xml"),
];

fn parse(xmp: &[u8]) -> Option<(&str, Document<'_>)> {
    let text = std::str::from_utf8(xmp).ok()?;
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 100_000,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts).ok()?;
    Some((text, doc))
}

fn is_rights(ns: Option<&str>, name: &str) -> bool {
    match ns {
        Some(DC) => name == "rights" || name == "creator",
        Some(PHOTOSHOP) => name == "Credit",
        Some(XMP_RIGHTS) => true,
        _ => false,
    }
}

/// Properties of every `rdf:Description`: (namespace, local name, attribute value or
/// element node).
enum Prop<'a, 'i> {
    Attr(&'static str, &'a str, &'a str),
    Elem(Node<'a, 'i>),
}

fn known(ns: &str) -> Option<&'static str> {
    PREFIXES.iter().find(|(u, _)| *u == ns).map(|(u, _)| *u)
}

/// A packet with only the rights properties of `xmp`; `None` when it has none (or does
/// not parse).
pub fn rights_packet(xmp: &[u8]) -> Option<Vec<u8>> {
    let (_, doc) = parse(xmp)?;
    let mut props: Vec<Prop> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut once = |ns: &str, name: &str| {
        let k = (ns.to_string(), name.to_string());
        let new = !seen.contains(&k);
        seen.push(k);
        new
    };
    let descriptions = doc
        .descendants()
        .filter(|n| n.tag_name().namespace() == Some(RDF) && n.tag_name().name() == "Description");
    for d in descriptions {
        for a in d
            .attributes()
            .filter(|a| is_rights(a.namespace(), a.name()))
        {
            let Some(ns) = known(a.namespace().unwrap_or_default()) else {
                continue;
            };
            if once(ns, a.name()) {
                props.push(Prop::Attr(ns, a.name(), a.value()));
            }
        }
        for c in d
            .children()
            .filter(|c| is_rights(c.tag_name().namespace(), c.tag_name().name()))
        {
            if once(
                c.tag_name().namespace().unwrap_or_default(),
                c.tag_name().name(),
            ) {
                props.push(Prop::Elem(c));
            }
        }
    }
    if props.is_empty() {
        return None;
    }
    let mut out = String::from("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n");
    out.push_str("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF");
    for (uri, prefix) in PREFIXES.iter().filter(|(_, p)| *p != "xml") {
        let _ = write!(out, " xmlns:{prefix}=\"{uri}\"");
    }
    out.push_str("><rdf:Description rdf:about=\"\">");
    for p in props {
        match p {
            Prop::Attr(ns, name, value) => {
                let q = format!("{}:{name}", prefix(ns).unwrap_or("x"));
                let _ = write!(out, "<{q}>{}</{q}>", escape(value));
            }
            Prop::Elem(n) => emit(n, &mut out, &mut 0),
        }
    }
    out.push_str("</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>");
    Some(out.into_bytes())
}

fn prefix(ns: &str) -> Option<&'static str> {
    PREFIXES.iter().find(|(u, _)| *u == ns).map(|(_, p)| *p)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes element `n` and its subtree with the packet's prefixes; a namespace the packet
/// does not declare is declared where it is used (`nsN`).
fn emit(n: Node, out: &mut String, fresh: &mut usize) {
    let mut decls = String::new();
    let mut qname = |ns: Option<&str>, name: &str, decls: &mut String| match ns {
        None => name.to_string(),
        Some(u) => match prefix(u) {
            Some(p) => format!("{p}:{name}"),
            None => {
                *fresh += 1;
                let _ = write!(decls, " xmlns:ns{fresh}=\"{}\"", escape(u));
                format!("ns{fresh}:{name}")
            }
        },
    };
    let tag = qname(n.tag_name().namespace(), n.tag_name().name(), &mut decls);
    let mut attrs = String::new();
    for a in n.attributes() {
        let q = qname(a.namespace(), a.name(), &mut decls);
        let _ = write!(attrs, " {q}=\"{}\"", escape(a.value()));
    }
    let _ = write!(out, "<{tag}{decls}{attrs}>");
    for c in n.children() {
        match c.node_type() {
            NodeType::Element => emit(c, out, fresh),
            NodeType::Text => out.push_str(&escape(c.text().unwrap_or_default())),
            _ => {}
        }
    }
    let _ = write!(out, "</{tag}>");
}

/// What `keep` cuts from a property: GPS (unless `keep_gps`), XMP thumbnails and the
/// pointer to extended XMP (which is not carried along).
fn cut(ns: Option<&str>, name: &str, keep_gps: bool) -> bool {
    match ns {
        Some(EXIF) => !keep_gps && name.starts_with("GPS"),
        Some(XMP) => name == "Thumbnails",
        Some(XMP_NOTE) => name == "HasExtendedXMP",
        _ => false,
    }
}

fn is_orientation(ns: Option<&str>, name: &str) -> bool {
    ns == Some(TIFF) && name == "Orientation"
}

/// `xmp` with GPS (unless `keep_gps`) and thumbnails cut and `tiff:Orientation` set to 1;
/// `None` when it does not parse, before or after.
pub fn keep_filtered(xmp: &[u8], keep_gps: bool) -> Option<Vec<u8>> {
    let (text, doc) = parse(xmp)?;
    let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            if cut(a.namespace(), a.name(), keep_gps) {
                edits.push((a.range(), ""));
            } else if is_orientation(a.namespace(), a.name()) {
                edits.push((a.range_value(), "1"));
            }
        }
        let (ns, name) = (n.tag_name().namespace(), n.tag_name().name());
        if cut(ns, name, keep_gps) {
            edits.push((n.range(), ""));
        } else if is_orientation(ns, name) {
            if let Some(t) = n.first_child().filter(|c| c.is_text()) {
                edits.push((t.range(), "1"));
            }
        }
    }
    edits.sort_by_key(|e| e.0.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, with) in edits {
        if r.start < at {
            continue; // inside something already cut
        }
        out.push_str(&text[at..r.start]);
        out.push_str(with);
        at = r.end;
    }
    out.push_str(&text[at..]);
    parse(out.as_bytes())?;
    Some(out.into_bytes())
}

#[cfg(test)]
#[path = "xmp_tests.rs"]
mod tests;
