//! What an SVG may cost, checked before usvg converts it: its size with internal entities
//! expanded (measured from the DTD, without expanding anything), its node count, its
//! element nesting (usvg recurses on it: a 100,000-deep file would overflow the stack)
//! and how many elements it stands for once every `href="#id"` reference (`<use>`,
//! patterns, gradients, filters' `feImage`) is followed — the `<use>` version of a
//! billion laughs, ten uses of ten uses of ten…, which is small on disk and on the node
//! count but enormous to draw.

use std::collections::HashMap;

use roxmltree::{Document, Node, NodeId, ParsingOptions};

use crate::engine::EngineError;

/// Most XML nodes parsed (elements, text, attributes are not nodes): real drawings have
/// tens of thousands.
pub const MAX_NODES: u32 = 1_000_000;
/// Deepest element nesting (Inkscape and Illustrator files stay under 30).
pub const MAX_DEPTH: usize = 256;
/// Most elements an SVG may stand for once its references are followed.
pub const MAX_EXPANDED: u64 = 2_000_000;
/// Most internal entities declared.
const MAX_ENTITIES: usize = 1024;
/// roxmltree's own limit on entities referring to entities.
const MAX_ENTITY_DEPTH: usize = 10;

/// Refuses text whose internal entities would expand past `max_bytes`.
pub fn check_entities(text: &str, max_bytes: u64) -> Result<(), EngineError> {
    let Some((subset, body)) = internal_subset(text) else {
        return Ok(());
    };
    let mut decls: HashMap<&str, &str> = HashMap::new();
    for decl in subset.split("<!ENTITY").skip(1) {
        let decl = decl.trim_start();
        if decl.starts_with('%') {
            return Err(refused("parameter entities are not supported"));
        }
        let name = decl.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        let rest = decl[name.len()..].trim_start();
        // A quoted value; an external (SYSTEM/PUBLIC) entity is never loaded: empty.
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => "",
        };
        decls.insert(name, value);
        if decls.len() > MAX_ENTITIES {
            return Err(refused("too many entity declarations"));
        }
    }
    let mut memo = HashMap::new();
    let mut total = body.len() as u64;
    for name in references(body) {
        if decls.contains_key(name) {
            total = total.saturating_add(expanded(name, &decls, &mut memo, 0)?);
        }
        if total > max_bytes {
            return Err(EngineError::LimitExceeded(format!(
                "SVG entities expand to over {max_bytes} bytes (limits.max_svg_bytes)"
            )));
        }
    }
    Ok(())
}

/// The DOCTYPE's internal subset and the text after it.
fn internal_subset(text: &str) -> Option<(&str, &str)> {
    let doctype = text.find("<!DOCTYPE")?;
    let open = doctype + text[doctype..].find('[')?;
    let close = open + text[open..].find("]>")?;
    Some((&text[open + 1..close], &text[close + 2..]))
}

/// Names of the `&name;` references in `s` (character references `&#…;` excluded).
fn references(s: &str) -> impl Iterator<Item = &str> {
    s.split('&').skip(1).filter_map(|r| {
        let name = &r[..r.find(';')?];
        (!name.starts_with('#') && !name.is_empty() && name.len() < 256).then_some(name)
    })
}

/// Length of entity `name` with every reference inside it expanded.
fn expanded<'a>(
    name: &'a str,
    decls: &HashMap<&'a str, &'a str>,
    memo: &mut HashMap<&'a str, u64>,
    depth: usize,
) -> Result<u64, EngineError> {
    if let Some(&len) = memo.get(name) {
        return Ok(len);
    }
    if depth > MAX_ENTITY_DEPTH {
        return Err(refused("entities nest too deeply"));
    }
    let value = decls.get(name).copied().unwrap_or("");
    let mut len = value.len() as u64;
    for inner in references(value) {
        if decls.contains_key(inner) {
            len = len.saturating_add(expanded(inner, decls, memo, depth + 1)?);
        }
    }
    memo.insert(name, len);
    Ok(len)
}

/// Parses `text` under the node cap, then checks nesting and reference expansion.
pub fn parse(text: &str) -> Result<Document<'_>, EngineError> {
    let options = ParsingOptions {
        allow_dtd: true,
        nodes_limit: MAX_NODES,
        entity_resolver: None,
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => {
            EngineError::LimitExceeded(format!("SVG has over {MAX_NODES} nodes"))
        }
        roxmltree::Error::EntityReferenceLoop(_) => refused("entity expansion is too large"),
        e => EngineError::Corrupt(format!("SVG: {e}")),
    })?;
    check_depth(&doc)?;
    check_expansion(&doc)?;
    Ok(doc)
}

fn check_depth(doc: &Document<'_>) -> Result<(), EngineError> {
    let mut stack = vec![(doc.root(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(EngineError::LimitExceeded(format!(
                "SVG elements nest over {MAX_DEPTH} deep"
            )));
        }
        stack.extend(
            node.children()
                .filter(Node::is_element)
                .map(|c| (c, depth + 1)),
        );
    }
    Ok(())
}

/// Elements counted with every `href="#id"` followed, refused over [`MAX_EXPANDED`].
fn check_expansion(doc: &Document<'_>) -> Result<(), EngineError> {
    let ids: HashMap<&str, Node<'_, '_>> = doc
        .descendants()
        .filter_map(|n| Some((n.attribute("id")?, n)))
        .collect();
    let mut walk = Expansion {
        ids,
        memo: HashMap::new(),
    };
    let n = walk.count(doc.root(), 0);
    if n > MAX_EXPANDED {
        return Err(EngineError::LimitExceeded(format!(
            "SVG references expand to over {MAX_EXPANDED} elements"
        )));
    }
    Ok(())
}

struct Expansion<'a, 'i> {
    ids: HashMap<&'a str, Node<'a, 'i>>,
    /// Finished counts; `None` while a node is being counted (a reference cycle, which
    /// usvg skips, counts nothing).
    memo: HashMap<NodeId, Option<u64>>,
}

impl<'a, 'i> Expansion<'a, 'i> {
    fn count(&mut self, node: Node<'a, 'i>, hops: usize) -> u64 {
        match self.memo.get(&node.id()) {
            Some(Some(n)) => return *n,
            Some(None) => return 0,
            None => {}
        }
        // Past this many nested references the file is hostile: count it as over.
        if hops > 4 * MAX_DEPTH {
            return MAX_EXPANDED + 1;
        }
        self.memo.insert(node.id(), None);
        let mut n: u64 = 1;
        for child in node.children().filter(Node::is_element) {
            n = n.saturating_add(self.count(child, hops + 1));
        }
        let href = node
            .attribute(("http://www.w3.org/1999/xlink", "href"))
            .or_else(|| node.attribute("href"));
        if let Some(target) = href.and_then(|h| h.strip_prefix('#')) {
            if let Some(&t) = self.ids.get(target) {
                n = n.saturating_add(self.count(t, hops + 1));
            }
        }
        let n = n.min(MAX_EXPANDED + 1);
        self.memo.insert(node.id(), Some(n));
        n
    }
}

fn refused(why: &str) -> EngineError {
    EngineError::LimitExceeded(format!("SVG refused: {why}"))
}
