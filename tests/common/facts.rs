//! Source facts (issue 14): what a job's notice and `GET /v1/sources/{key}` say about a
//! source, checked the same way on every backend.

use serde_json::Value;

/// The path of `GET /v1/sources/{source}`, the key percent-encoded segment by segment.
pub fn sources_path(source: &str) -> String {
    let enc: Vec<String> = source
        .split('/')
        .map(|s| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        })
        .collect();
    format!("/v1/sources/{}", enc.join("/"))
}

/// Asserts `notice` (an ok notice of a job on `source`) carries the source's facts —
/// `width × height`, `media_type` and well-formed placeholders — and that
/// `GET {base}/v1/sources/{source}` serves the same facts with a key for each of
/// `transforms`. Returns the served document.
pub async fn check(
    base: &str,
    token: Option<&str>,
    source: &str,
    notice: &Value,
    (width, height, media_type): (u32, u32, &str),
    transforms: &[&str],
) -> Value {
    let facts = &notice["facts"];
    assert_eq!(facts["width"], width, "{notice}");
    assert_eq!(facts["height"], height, "{notice}");
    assert_eq!(facts["media_type"], media_type, "{notice}");
    let p = &facts["placeholders"];
    assert!(p["thumbhash"].as_str().is_some_and(|s| s.len() > 20), "{p}");
    assert!(p["blurhash"].as_str().is_some_and(|s| s.len() > 20), "{p}");
    let colour = p["dominant_color"].as_str().unwrap();
    assert!(colour.len() == 7 && colour.starts_with('#'), "{colour}");

    let c = reqwest::Client::new();
    let mut req = c.get(format!("{base}{}", sources_path(source)));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["source_key"], source);
    assert_eq!(doc["placeholders"], *p, "{doc}");
    assert_eq!(doc["width"], width);
    assert_eq!(doc["height"], height);
    assert_eq!(doc["media_type"], media_type);
    for t in transforms {
        let d = &doc["derived"][t];
        assert!(
            d["key"].as_str().is_some_and(|k| k.contains(t)),
            "{t}: {doc}"
        );
        assert_eq!(d["current_source"], true, "{t}: {doc}");
    }
    assert!(doc.get("digest").is_none() && doc["derived"][transforms[0]].get("digest").is_none());

    if let Some(t) = token {
        let anon = c.get(format!("{base}{}", sources_path(source)));
        assert_eq!(anon.send().await.unwrap().status(), 401);
        let missing = c.get(format!("{base}{}", sources_path("never/uploaded.jpg")));
        let missing = missing.bearer_auth(t).send().await.unwrap();
        assert_eq!(missing.status(), 404);
    }
    doc
}
