//! `schema/openapi.yaml` describes every route the router serves, and nothing else: the
//! (method, path) pairs of the `.route(...)` calls in `src/http/mod.rs` and
//! `src/sns/mod.rs` equal the description's.

use std::collections::BTreeSet;
use std::path::Path;

type Routes = BTreeSet<(String, String)>;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// `.route("PATH", METHOD(...))`, or `.route("PATH", name)` with `let name = METHOD(...)`.
fn router_routes(src: &str) -> Routes {
    let mut out = Routes::new();
    for call in src.split(".route(").skip(1) {
        let call = call.trim_start();
        let Some(rest) = call.strip_prefix('"') else {
            continue;
        };
        let (path, rest) = rest.split_once('"').unwrap();
        let handler = rest.trim_start().trim_start_matches(',').trim_start();
        let name: String = handler
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let method = match handler[name.len()..].starts_with('(') {
            true => name,
            false => {
                let def = format!("let {name} = ");
                let at = src.find(&def).expect("the handler's definition") + def.len();
                src[at..]
                    .chars()
                    .take_while(|c| c.is_alphabetic())
                    .collect()
            }
        };
        // axum's `{*rest}` wildcard is OpenAPI's `{rest}`.
        out.insert((method, path.replace("{*", "{")));
    }
    out
}

/// Paths at two spaces, methods at four, under `paths:`.
fn described_routes(yaml: &str) -> Routes {
    let mut out = Routes::new();
    let paths = yaml.split_once("\npaths:\n").expect("a paths section").1;
    let mut path = None;
    for line in paths.lines() {
        if let Some(p) = line.strip_prefix("  /") {
            path = Some(format!("/{}", p.trim_end().trim_end_matches(':')));
        } else if let Some(m) = line.strip_prefix("    ") {
            let m = m.trim_end().trim_end_matches(':');
            if ["get", "post", "put", "delete", "patch", "head"].contains(&m) {
                out.insert((m.to_string(), path.clone().expect("a path first")));
            }
        } else if !line.starts_with(' ') && !line.is_empty() {
            break;
        }
    }
    out
}

#[test]
fn the_openapi_description_lists_exactly_the_routes_served() {
    let mut served = router_routes(&read("src/http/mod.rs"));
    served.extend(router_routes(&read("src/sns/mod.rs")));
    assert!(served.len() >= 8, "{served:?}");
    let described = described_routes(&read("schema/openapi.yaml"));
    assert_eq!(served, described);
}

#[test]
fn the_description_is_openapi_3_1_and_every_operation_has_responses() {
    let yaml = read("schema/openapi.yaml");
    assert!(yaml.starts_with("openapi: 3.1."));
    let operations = described_routes(&yaml).len();
    let responses = yaml.matches("\n      responses:\n").count();
    assert_eq!(operations, responses);
}
